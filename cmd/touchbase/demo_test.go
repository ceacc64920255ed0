package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/demo"
)

// lockedBuffer is an io.Writer safe for the demo's concurrent narration.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The demo, in-process with the real plan, tells the whole story: exactly
// the scenario's expected alerts, then the recovery, each verified.
func TestDemoTellsTheScenario(t *testing.T) {
	now := time.Now()
	h := demo.Scenario(now)
	var out lockedBuffer
	err := demo.Run(t.Context(), demo.RunOptions{Dir: t.TempDir(), Out: &out, Build: planBuilder(nil),
		Recover: true, Now: now, Wait: 45 * time.Second})
	text := out.String()
	if err != nil {
		t.Fatalf("demo: %v\noutput:\n%s", err, text)
	}
	_, recovered := h.RecoveryMail(now)
	var want []string
	for _, e := range append(slices.Clone(h.Expected), recovered) {
		want = append(want, e.Type+" "+e.Customer+"/"+e.Commitment)
	}
	var got []string
	ids := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		w, ok := demo.ParseWebhookLine(line)
		if !ok {
			continue
		}
		if !w.Verified || ids[w.ID] {
			t.Errorf("webhook line %q: not verified, or its id printed twice", line)
		}
		ids[w.ID] = true
		got = append(got, w.Type+" "+w.Customer+"/"+w.Commitment)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("webhooks:\n  got  %q\n  want %q\noutput:\n%s", got, want, text)
	}
	for _, s := range []string{"synced imap:anna", "synced caldav:ben", "observed cadence", "Wingtip Partners",
		"What you just saw", "touchbase customers --config", "/dashboard/ in a browser"} {
		if !strings.Contains(text, s) {
			t.Errorf("output lacks %q:\n%s", s, text)
		}
	}
}

func TestDemoDirMustBeEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "demo", "--dir", dir)
	if code != exitUsage || !strings.Contains(stderr, "is not empty") {
		t.Errorf("demo --dir non-empty: exit %d, stderr %q; want exit 2 naming the problem", code, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("the folder's file was touched: %q, %v", b, err)
	}
}

// The real binary: `touchbase demo --keep` prints a verified webhook,
// answers the CLI on its socket, and on SIGINT stops everything and exits
// 0, leaving no files behind.
func TestDemoBinaryKeepAndSIGINT(t *testing.T) {
	bin := binary(t)
	tmp := t.TempDir()
	cmd := exec.Command(bin, "demo", "--keep")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var text strings.Builder
	next := func(what string, match func(string) bool) string {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("demo exited before %s; output:\n%s\nstderr:\n%s", what, text.String(), stderr.String())
				}
				text.WriteString(line + "\n")
				if match(line) {
					return line
				}
			case <-deadline:
				t.Fatalf("no %s within 60 s; output:\n%s", what, text.String())
			}
		}
	}
	cfgLine := next("config path", func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "config ") })
	cfg := strings.Fields(cfgLine)[1]
	next("verified webhook", func(l string) bool { w, ok := demo.ParseWebhookLine(l); return ok && w.Verified })
	t.Logf("first verified webhook printed %.2fs after start", time.Since(start).Seconds())
	dashLine := next("dashboard URL", func(l string) bool { return strings.Contains(l, "/dashboard/ in a browser") })
	next("keep notice", func(l string) bool { return strings.Contains(l, "Press Ctrl-C") })

	checkCLIOnDemo(t, bin, cfg)
	checkDashboardOnDemo(t, strings.Fields(dashLine)[1])

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for range lines { // drain until stdout closes
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo after SIGINT: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo still running 15 s after SIGINT")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("demo left %d entries in its temporary folder, e.g. %s", len(left), left[0].Name())
	}
}

// checkCLIOnDemo runs the commands the demo suggests against its socket.
func checkCLIOnDemo(t *testing.T, bin, cfg string) {
	t.Helper()
	out, err := statusOutput(bin, "--json", "--config", cfg)
	var st daemon.Status
	if err != nil || json.Unmarshal(out, &st) != nil || !st.Ready || len(st.Sources) != 4 {
		t.Errorf("status --json on the demo: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "customers", "--json", "--config", cfg).Output()
	var cs []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err != nil || json.Unmarshal(out, &cs) != nil || len(cs) != 6 {
		t.Errorf("customers --json on the demo: %v\n%s", err, out)
	}
}

// checkDashboardOnDemo opens the dashboard the demo printed: loopback and
// no token, so it is open, and it lists the scenario's customers.
func checkDashboardOnDemo(t *testing.T, url string) {
	t.Helper()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("dashboard URL %q, want http://127.0.0.1:PORT/dashboard/", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `<table id="customers">`) ||
		!strings.Contains(string(body), "Wingtip Partners") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET %s: %d, CSP %q; want 200 with the customers table listing Wingtip Partners:\n%s", url, resp.StatusCode,
			resp.Header.Get("Content-Security-Policy"), body)
	}
}
