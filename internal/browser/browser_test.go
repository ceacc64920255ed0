package browser

import (
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
)

// csp is the dashboard's policy (notes/dashboard-contract.md): the
// fixtures must work under it, or the detectors prove nothing about it.
const csp = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// serve serves testdata/ with the dashboard's security headers.
func serve(t *testing.T) *httptest.Server {
	t.Helper()
	files := http.FileServer(http.Dir("testdata"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// visibleRows is the data-id of each customer row not hidden.
func visibleRows(t *testing.T, b *Browser) []string {
	t.Helper()
	return Eval[[]string](t, b, `[...document.querySelectorAll("#customers tr.customer")].filter(r => !r.hidden).map(r => r.dataset.id)`)
}

// A keyboard-only user filters the table with a script served under the
// dashboard's CSP; the page has no console error and no serious
// accessibility violation, and its screenshot is a PNG.
func TestFilterByKeyboard(t *testing.T) {
	srv := serve(t)
	start := time.Now()
	b := Start(t)
	t.Logf("Chromium started in %s", time.Since(start).Round(time.Millisecond))

	step := time.Now()
	if status := b.Navigate(t, srv.URL+"/filter.html"); status != http.StatusOK {
		t.Fatalf("filter.html: HTTP status %d", status)
	}
	if got, want := visibleRows(t, b), []string{"contoso", "litware", "adatum", "tailspin"}; !slices.Equal(got, want) {
		t.Fatalf("rows before filtering: got %q, want %q", got, want)
	}
	// From the page's start: the nav link first, then the select.
	b.TabTo(t, "#f-state", 3)
	b.Press(t, kb.ArrowDown+kb.ArrowDown) // any → ok → slipped
	if got := Eval[string](t, b, `document.getElementById("f-state").value`); got != "slipped" {
		t.Fatalf("state after two ArrowDown: got %q, want slipped", got)
	}
	if got, want := visibleRows(t, b), []string{"litware", "tailspin"}; !slices.Equal(got, want) {
		t.Errorf("rows with state=slipped: got %q, want %q", got, want)
	}
	b.Type(t, "o") // type-ahead selects "ok"
	if got, want := visibleRows(t, b), []string{"contoso", "adatum"}; !slices.Equal(got, want) {
		t.Errorf("rows after typing o: got %q, want %q", got, want)
	}
	if got := b.Active(t); got != "select#f-state" {
		t.Errorf("focus after filtering: got %s, want select#f-state", got)
	}
	t.Logf("keyboard filtering in %s", time.Since(step).Round(time.Millisecond))

	step = time.Now()
	path := b.Screenshot(t, "filter")
	checkPNG(t, path)
	t.Logf("screenshot in %s", time.Since(step).Round(time.Millisecond))

	step = time.Now()
	b.CheckAxe(t, "filter.html")
	t.Logf("axe in %s", time.Since(step).Round(time.Millisecond))
	b.CheckConsole(t, "filter.html")
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if cfg.Width < 100 || cfg.Height < 100 {
		t.Errorf("screenshot %s: %dx%d, want a whole page", path, cfg.Width, cfg.Height)
	}
}

// The detectors report what they exist for: a page with a console error,
// an uncaught exception, an inline script blocked by the CSP, an
// unlabelled input and an image without alt must produce each finding.
// Without this test, a detector that reports nothing would pass every
// other test.
func TestDetectorsReport(t *testing.T) {
	srv := serve(t)
	b := Start(t)
	if status := b.Navigate(t, srv.URL+"/broken.html"); status != http.StatusOK {
		t.Fatalf("broken.html: HTTP status %d", status)
	}

	errs := strings.Join(b.Errors(t), "\n")
	for _, want := range []string{
		"console.error: deliberate console error 42",
		"exception: Uncaught Error: deliberate uncaught exception",
		"Content Security Policy",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("console errors lack %q; got:\n%s", want, errs)
		}
	}
	if title := Eval[string](t, b, "document.title"); title != "Broken fixture" {
		t.Errorf("title %q: the inline script ran despite the CSP", title)
	}
	if again := b.Errors(t); len(again) != 0 {
		t.Errorf("errors reported twice: %q", again)
	}

	got := map[string]Violation{}
	for _, v := range b.Axe(t) {
		got[v.ID] = v
	}
	for _, id := range []string{"label", "image-alt"} {
		v, ok := got[id]
		switch {
		case !ok:
			t.Errorf("axe did not report %s; got %v", id, got)
		case !v.Blocking():
			t.Errorf("axe reported %s with impact %q; CheckAxe would not fail on it", id, v.Impact)
		case len(v.Nodes) == 0:
			t.Errorf("axe reported %s without the failing element", id)
		}
	}
	if v := got["label"]; len(v.Nodes) > 0 && v.Nodes[0] != "#unlabelled" {
		t.Errorf("label violation on %q, want #unlabelled", v.Nodes)
	}
}
