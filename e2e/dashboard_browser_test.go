package e2e

import (
	"bufio"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/internal/browser"
)

// The demo's six customers (demo.Scenario).
var demoCustomers = []string{"adatum", "contoso", "fabrikam", "litware", "tailspin", "wingtip"}

// The dashboard of a running demo, in a real browser, against the DOM
// contract in notes/dashboard-contract.md: every row agrees with
// `touchbase customers --json` of the same demo, filtering by keyboard
// leaves the CLI's slipped set, Tailspin's page names the unanswered mail,
// and no page has a console error or a serious accessibility violation.
//
// It assumes `touchbase demo --keep` prints, before its closing "The demo
// keeps running" line, a line containing "dashboard" with the URL to open,
// http://127.0.0.1:PORT/dashboard/ (with ?token=... when the demo sets a
// token), and that the other pages are the contract's paths on the same
// origin. Without such a line the dashboard is taken as not built yet:
// the test skips, and fails under CI=true.
func TestDashboardInBrowser(t *testing.T) {
	b := browser.Start(t) // first: skips at once without Chromium
	bin := binary(t)
	dir := filepath.Join(t.TempDir(), "demo")
	d := startDemo(t, bin, dir)
	d.waitKeeping(t, 3*time.Minute)
	dash := d.dashboardURL()
	if dash == "" {
		why := "the dashboard is not built: `touchbase demo --keep` printed no http://127.0.0.1:PORT/dashboard/ URL"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s\ndemo output:\n%s", why, d.output())
		}
		t.Skipf("\n*** SKIPPING DASHBOARD BROWSER TEST: %s ***\n", why)
	}
	u, err := url.Parse(dash)
	if err != nil {
		t.Fatalf("dashboard URL %q: %v", dash, err)
	}
	origin := u.Scheme + "://" + u.Host
	cfg := filepath.Join(dir, "touchbase.yaml")

	// The CLI of the same running demo is the expectation: the story has
	// ended (Litware recovered), and the browser must show what it shows.
	var cli []evaluate.CustomerView
	cliJSON(t, bin, &cli, "customers", "--json", "--config", cfg)
	wantState := map[string]string{}
	var wantSlipped []string
	for _, c := range cli {
		wantState[c.ID] = string(c.State)
		if c.State == "slipped" {
			wantSlipped = append(wantSlipped, c.ID)
		}
	}
	if ids := slices.Sorted(maps.Keys(wantState)); !slices.Equal(ids, demoCustomers) {
		t.Fatalf("touchbase customers lists %q, want the demo's %q", ids, demoCustomers)
	}
	if len(wantSlipped) == 0 {
		t.Fatal("touchbase customers shows no slipped customer: the filter check below would prove nothing")
	}

	t.Run("overview", func(t *testing.T) {
		open(t, b, dash, "overview")
		got := rowStates(t, b)
		for _, id := range demoCustomers {
			if got[id] != wantState[id] {
				t.Errorf("row %s: data-state %q, CLI says %q", id, got[id], wantState[id])
			}
		}
		if len(got) != len(demoCustomers) {
			t.Errorf("overview rows %v, want exactly the six demo customers", got)
		}
		n := browser.Eval[int](t, b, `document.querySelectorAll('#customers tr.customer[data-id="litware"] ol.strip li.wk.mark-slipped').length`)
		if n < 1 {
			t.Errorf("Litware's cadence strip has no .wk.mark-slipped week; its report slipped during the demo's history")
		}
		if weeks := browser.Eval[int](t, b, `document.querySelectorAll('#customers tr.customer[data-id="litware"] ol.strip li.wk').length`); weeks != 26 {
			t.Errorf("Litware's cadence strip has %d weeks, want 26", weeks)
		}
		b.Screenshot(t, "overview")
		b.CheckAxe(t, "overview")
		b.CheckConsole(t, "overview")
	})

	t.Run("filter by keyboard", func(t *testing.T) {
		open(t, b, dash, "overview")
		b.TabTo(t, "#f-state", 25)
		// Arrow keys walk the options whatever their labels; each step
		// fires change, so the rows follow at once.
		options := browser.Eval[int](t, b, `document.getElementById("f-state").options.length`)
		for range options {
			if browser.Eval[string](t, b, `document.getElementById("f-state").value`) == "slipped" {
				break
			}
			b.Press(t, kb.ArrowDown)
		}
		if v := browser.Eval[string](t, b, `document.getElementById("f-state").value`); v != "slipped" {
			t.Fatalf("#f-state reached %q by the arrow keys, never slipped", v)
		}
		// The script filters on change; a little patience for one that
		// debounces.
		var visible []string
		deadline := time.Now().Add(5 * time.Second)
		for {
			visible = browser.Eval[[]string](t, b, `[...document.querySelectorAll("#customers tr.customer")].filter(r => !r.hidden).map(r => r.dataset.id)`)
			slices.Sort(visible)
			if slices.Equal(visible, wantSlipped) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !slices.Equal(visible, wantSlipped) {
			t.Errorf("rows visible after filtering by slipped: %q, want the CLI's slipped set %q", visible, wantSlipped)
		}
		states := browser.Eval[[]string](t, b, `[...document.querySelectorAll("#customers tr.customer")].filter(r => !r.hidden).map(r => r.dataset.state)`)
		for _, s := range states {
			if s != "slipped" {
				t.Errorf("a visible row has data-state %q after filtering by slipped", s)
			}
		}
		b.Screenshot(t, "overview-slipped")
		b.CheckConsole(t, "overview filtered")
	})

	t.Run("customer tailspin", func(t *testing.T) {
		var detail evaluate.CustomerDetail
		cliJSON(t, bin, &detail, "customer", "tailspin", "--why", "--json", "--config", cfg)
		var reply *evaluate.CommitmentView
		for i := range detail.Commitments {
			if detail.Commitments[i].Name == "reply" {
				reply = &detail.Commitments[i]
			}
		}
		if reply == nil || reply.State != "slipped" || reply.About == nil || reply.About.Subject == "" {
			t.Fatalf("touchbase customer tailspin --why: want a slipped reply commitment about a mail, got %+v", reply)
		}
		open(t, b, origin+"/dashboard/customers/tailspin", "customer tailspin")
		row := `document.querySelector('#commitments [data-commitment="reply"]')`
		if !browser.Eval[bool](t, b, row+` !== null`) {
			t.Fatal(`no #commitments [data-commitment="reply"] on Tailspin's page`)
		}
		if s := browser.Eval[string](t, b, row+`.dataset.state`); s != "slipped" {
			t.Errorf("Tailspin's reply commitment: data-state %q, want slipped", s)
		}
		// innerText, not textContent: it is the text as rendered, with
		// cells apart.
		text := strings.Join(strings.Fields(browser.Eval[string](t, b, row+`.innerText`)), " ")
		if subject := strings.Join(strings.Fields(reply.About.Subject), " "); !strings.Contains(text, subject) {
			t.Errorf("Tailspin's reply commitment does not name the waiting mail %q; it reads %q", subject, text)
		}
		b.Screenshot(t, "customer-tailspin")
		b.CheckAxe(t, "customer tailspin")
		b.CheckConsole(t, "customer tailspin")
	})

	for _, p := range []struct{ name, path string }{{"alerts", "/dashboard/alerts"}, {"sources", "/dashboard/sources"}} {
		t.Run(p.name, func(t *testing.T) {
			open(t, b, origin+p.path, p.name)
			b.Screenshot(t, p.name)
			b.CheckAxe(t, p.name)
			b.CheckConsole(t, p.name)
		})
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", d.output())
	}
}

// open navigates to a dashboard page and requires it to be one: HTTP 200
// and the contract's single h1.
func open(t *testing.T, b *browser.Browser, u, page string) {
	t.Helper()
	// Errors still recorded belong to a page whose subtest stopped before
	// its console check: report them, but not as this page's.
	if errs := b.Errors(t); len(errs) > 0 {
		t.Errorf("before %s, console errors of an earlier page not yet reported:\n  %s", page, strings.Join(errs, "\n  "))
	}
	if status := b.Navigate(t, u); status != http.StatusOK {
		t.Fatalf("%s (%s): HTTP status %d", page, u, status)
	}
	if n := browser.Eval[int](t, b, `document.querySelectorAll("h1").length`); n != 1 {
		t.Errorf("%s: %d h1 elements, want 1", page, n)
	}
}

// rowStates is each overview row's data-id → data-state.
func rowStates(t *testing.T, b *browser.Browser) map[string]string {
	t.Helper()
	return browser.Eval[map[string]string](t, b,
		`Object.fromEntries([...document.querySelectorAll("#customers tr.customer")].map(r => [r.dataset.id, r.dataset.state]))`)
}

// cliJSON runs the touchbase CLI and decodes its JSON output into v.
func cliJSON(t *testing.T, bin string, v any, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("touchbase %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("touchbase %s: decode: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// demoProc is a running `touchbase demo --keep`, its output collected
// line by line.
type demoProc struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the output ends (the process exited)
	mu      sync.Mutex
	lines   []string
	keeping chan struct{} // closed at the "keeps running" line
}

// keepingLine starts the line `touchbase demo --keep` prints once the
// story is told and the demo stays up (demo/story.go, keep).
const keepingLine = "The demo keeps running"

// startDemo runs `touchbase demo --keep --dir dir`; it is interrupted
// (then killed) at the end of the test.
func startDemo(t *testing.T, bin, dir string) *demoProc {
	t.Helper()
	d := &demoProc{cmd: exec.Command(bin, "demo", "--keep", "--dir", dir), done: make(chan struct{}), keeping: make(chan struct{})}
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = d.cmd.Stdout // one stream, in order
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start touchbase demo: %v", err)
	}
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(out)
		kept := false
		for sc.Scan() {
			d.mu.Lock()
			d.lines = append(d.lines, sc.Text())
			d.mu.Unlock()
			if !kept && strings.HasPrefix(sc.Text(), keepingLine) {
				kept = true
				close(d.keeping)
			}
		}
	}()
	t.Cleanup(func() {
		// Ctrl-C, as a user stops it; the demo stops everything it started.
		d.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-d.done:
		case <-time.After(15 * time.Second):
			t.Errorf("touchbase demo still running 15 s after SIGINT; killing it")
			d.cmd.Process.Kill()
			<-d.done
		}
		d.cmd.Wait()
	})
	return d
}

// waitKeeping waits until the demo has told its story and stays up.
func (d *demoProc) waitKeeping(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-d.keeping:
	case <-d.done:
		t.Fatalf("touchbase demo ended before keeping running:\n%s", d.output())
	case <-time.After(timeout):
		t.Fatalf("touchbase demo not keeping running within %s:\n%s", timeout, d.output())
	}
}

// dashboardURL is the first http://127.0.0.1:PORT/dashboard/ URL on a
// line that mentions the dashboard, or "" when the demo printed none.
func (d *demoProc) dashboardURL() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, line := range d.lines {
		if !strings.Contains(strings.ToLower(line), "dashboard") {
			continue
		}
		if m := dashboardURLRE.FindString(line); m != "" {
			return strings.TrimRight(m, ".,;:") // the end of a sentence
		}
	}
	return ""
}

var dashboardURLRE = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/dashboard/[^\s"'<>)]*`)

func (d *demoProc) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}
