package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/store"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// runCLI runs the command line in-process and returns its exit status and
// output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// setupConfig copies testdata/name into a new temporary folder as
// touchbase.yaml with the replacements (old, new pairs) applied, and writes
// the API token file beside it.
func setupConfig(t *testing.T, name string, replace ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "touchbase.yaml")
	writeConfig(t, path, name, replace...)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "api.token"), []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const testToken = "tok-3f9a1c77e2"

func writeConfig(t *testing.T, path, name string, replace ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(replace...).Replace(string(b))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string // substrings of stdout
		wantErr    []string // lines of stderr, each as a substring of its own line
		wantNoOut  bool
		wantErrLen int // number of stderr lines; 0: don't care
	}{
		{
			name: "example config", args: []string{"check", "--config", "../../configs/touchbase.example.yaml"},
			wantOut: []string{"configs/touchbase.example.yaml", "accounts:  4 (4 imap, 2 caldav)", "customers: 3", "webhooks:  2"},
		},
		{
			name: "every problem of a broken config", args: []string{"check", "--config", "testdata/broken.yaml"}, wantCode: 2,
			wantErr: []string{
				"testdata/broken.yaml:5: listen.bogus: unknown key",
				"testdata/broken.yaml:7: sync.poll_interval: invalid duration",
				"testdata/broken.yaml:8: timezone: unknown time zone",
				"testdata/broken.yaml:12: customers[0].commitments[0]: unknown policy",
			},
			wantNoOut: true, wantErrLen: 4,
		},
		{
			name: "missing file", args: []string{"check", "--config", "testdata/nope.yaml"}, wantCode: 2,
			wantErr: []string{"testdata/nope.yaml: cannot read config"}, wantNoOut: true, wantErrLen: 1,
		},
		{
			name: "empty file", args: []string{"check", "--config", "testdata/empty.yaml"}, wantCode: 2,
			wantErr: []string{"testdata/empty.yaml: empty configuration"}, wantNoOut: true, wantErrLen: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			for _, want := range tc.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			if tc.wantNoOut && out != "" {
				t.Errorf("stdout %q, want none", out)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if tc.wantErrLen > 0 && len(lines) != tc.wantErrLen {
				t.Errorf("stderr has %d lines, want %d:\n%s", len(lines), tc.wantErrLen, errOut)
			}
			for i, want := range tc.wantErr {
				if i >= len(lines) || !strings.Contains(lines[i], want) {
					t.Errorf("stderr line %d: want %q in:\n%s", i+1, want, errOut)
				}
			}
		})
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("TOUCHBASE_CONFIG", "testdata/broken.yaml")
	code, _, errOut := runCLI(t, "check")
	if code != 2 || !strings.Contains(errOut, "testdata/broken.yaml") {
		t.Errorf("check with TOUCHBASE_CONFIG: exit %d, stderr %q; want 2 naming the file", code, errOut)
	}
	code, out, _ := runCLI(t, "check", "--config", "../../configs/touchbase.example.yaml")
	if code != 0 || !strings.Contains(out, "touchbase.example.yaml") {
		t.Errorf("--config does not override TOUCHBASE_CONFIG: exit %d, %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"status", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"run"}, "run needs --once"},
		{[]string{"run", "--once", "extra"}, `unknown command "extra"`},
		{[]string{"version", "--json=maybe"}, "invalid argument"},
	}
	for _, tc := range tests {
		code, out, errOut := runCLI(t, tc.args...)
		if code != 2 || !strings.HasPrefix(errOut, "touchbase: ") || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want 2 and one line with %q", tc.args, code, errOut, out, tc.want)
		}
	}
}

func TestStatusWithoutDaemon(t *testing.T) {
	path := setupConfig(t, "daemon.yaml", "HTTP_ADDR", "127.0.0.1:9464")
	code, out, errOut := runCLI(t, "status", "--config", path)
	if code != 1 || !strings.Contains(errOut, "no daemon running") || !strings.Contains(errOut, "tb.sock") || out != "" {
		t.Errorf("status without daemon: exit %d, stderr %q, stdout %q; want 1 and a clear message naming the socket", code, errOut, out)
	}
}

// TestRunOnceDeadSource: a pass whose only source cannot be reached is a
// runtime failure (exit 1) naming the source, and still leaves the store
// behind with the failure recorded for `status`.
func TestRunOnceDeadSource(t *testing.T) {
	path := setupConfig(t, "daemon.yaml", "HTTP_ADDR", "127.0.0.1:9464")
	code, _, errOut := runCLI(t, "run", "--once", "--config", path)
	last := errOut[strings.LastIndex(strings.TrimSuffix(errOut, "\n"), "\n")+1:]
	if code != 1 || !strings.HasPrefix(last, "touchbase: imap:alice:") || !strings.Contains(last, "connection refused") {
		t.Fatalf("run --once: exit %d, last line %q; want 1 and the failing source named", code, last)
	}
	st, err := store.Open(t.Context(), filepath.Join(filepath.Dir(path), "data"))
	if err != nil {
		t.Fatalf("run --once left no usable store: %v", err)
	}
	defer st.Close()
	health, err := st.Sources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(health) != 1 || health[0].Name != "imap:alice" || health[0].LastError == "" || !health[0].LastSuccessAt.IsZero() {
		t.Errorf("source health after the failed pass: %+v, want imap:alice failing, never synced", health)
	}
}

func TestVersionJSON(t *testing.T) {
	code, out, _ := runCLI(t, "version", "--json")
	var b buildInfo
	if err := json.Unmarshal([]byte(out), &b); code != 0 || err != nil || b.Version == "" || !strings.HasPrefix(b.Go, "go") {
		t.Errorf("version --json: exit %d, %q, %v", code, out, err)
	}
	code, out, _ = runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "touchbase "+b.Version) {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestLoggerTimeKey(t *testing.T) {
	for _, journald := range []bool{false, true} {
		var buf bytes.Buffer
		log, level := newLogger(&buf, journald, false)
		log.Debug("hidden")
		log.Info("shown", zap.String("k", "v"))
		level.SetLevel(-1) // debug
		log.Debug("now shown")
		var lines []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("log line %q is not JSON: %v", l, err)
			}
			lines = append(lines, m)
		}
		if len(lines) != 2 || lines[0]["msg"] != "shown" || lines[0]["k"] != "v" || lines[1]["level"] != "debug" {
			t.Errorf("journald=%v: lines %v, want info then debug after the level change", journald, lines)
		}
		if _, hasTime := lines[0]["ts"]; hasTime == journald {
			t.Errorf("journald=%v: ts key present = %v", journald, hasTime)
		}
	}
}

func TestPrintStatusGolden(t *testing.T) {
	at := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	ts := func(d time.Duration) *time.Time { v := at.Add(d); return &v }
	lag := "12m3s"
	st := &daemon.Status{
		Version: "v1.2.3", PID: 4242, StartedAt: at.Add(-26 * time.Hour), Now: at, Ready: true,
		Config: daemon.ConfigStatus{Path: "/etc/touchbase/touchbase.yaml", LoadedAt: at.Add(-time.Hour), LogLevel: "info",
			PollInterval: "5m0s", StaleAfter: "1h0m0s", Accounts: 2, Customers: 14, Webhooks: 1,
			RejectedReload: &daemon.RejectedReload{At: at.Add(-3 * time.Minute), Problems: 2,
				Error: `/etc/touchbase/touchbase.yaml:12: customers[0].tier: unknown tier "gold"`}},
		Sources: []daemon.SourceStatus{
			{Name: "caldav:alice", LastAttemptAt: ts(-time.Minute), FailingSince: ts(-3 * time.Hour), ConsecutiveFailures: 17,
				LastError: "propfind https://dav.example.com/: 401 Unauthorized\n(check the password)", Stale: true},
			{Name: "imap:alice", LastAttemptAt: ts(-12 * time.Minute), LastSuccessAt: ts(-12*time.Minute - 3*time.Second), Lag: &lag,
				Stats: map[string]int64{"fetched": 1200}},
		},
		Interactions: daemon.InteractionsStatus{Counted: 1180, Filtered: map[string]int{"list": 12, "bulk": 3}},
		Outbox:       daemon.OutboxStatus{Pending: 2, Failed: 1},
	}
	for _, tc := range []struct {
		golden string
		format string
	}{{"status.golden", outTable}, {"status-wide.golden", outWide}} {
		var buf bytes.Buffer
		if err := printStatus(newPrinter(&buf, &outputFlags{format: tc.format}, berlin, st.Now), st); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.golden, buf.String())
	}
	if err := unhealthy(st); err == nil || err.Error() != "1 of 2 sources failing or stale: caldav:alice; the last reload was rejected" {
		t.Errorf("unhealthy = %v; want caldav:alice and the rejected reload named", err)
	}
}

// With cluster.enabled, status adds the daemons alive and one row per
// lease: held (by this daemon or another), free since it was released or
// expired, never taken.
func TestPrintStatusClusterGolden(t *testing.T) {
	at := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	ts := func(d time.Duration) *time.Time { v := at.Add(d); return &v }
	lag := "3s"
	st := &daemon.Status{
		Version: "v1.2.3", PID: 4242, StartedAt: at.Add(-time.Hour), Now: at, Ready: true,
		Config: daemon.ConfigStatus{Path: "/etc/touchbase/touchbase.yaml", LoadedAt: at.Add(-time.Hour), LogLevel: "info",
			PollInterval: "30s", StaleAfter: "1h0m0s", Accounts: 2, Customers: 14, Webhooks: 1},
		Sources: []daemon.SourceStatus{
			{Name: "imap:alice", LastSuccessAt: ts(-3 * time.Second), Lag: &lag},
			{Name: "imap:bob", LastSuccessAt: ts(-3 * time.Second), Lag: &lag},
		},
		Cluster: daemon.ClusterStatus{Enabled: true, Holder: "mail-a:4242:9f3c2e", LeaseDuration: "30s",
			Daemons: []string{"mail-a:4242:9f3c2e", "mail-b:977:0a1b2c"},
			Leases: []daemon.LeaseStatus{
				{Name: "caldav:alice"},
				{Name: "evaluation", Holder: "mail-b:977:0a1b2c", Live: true, Generation: 3,
					AcquiredAt: ts(-40 * time.Minute), RenewedAt: ts(-4 * time.Second), ExpiresAt: ts(26 * time.Second)},
				{Name: "imap:alice", Holder: "mail-a:4242:9f3c2e", Live: true, This: true, Generation: 1,
					AcquiredAt: ts(-time.Hour), RenewedAt: ts(-8 * time.Second), ExpiresAt: ts(22 * time.Second)},
				{Name: "imap:bob", Holder: "mail-c:31:77aa00", Generation: 5,
					AcquiredAt: ts(-2 * time.Hour), RenewedAt: ts(-70 * time.Second), ExpiresAt: ts(-40 * time.Second)},
			}},
	}
	var buf bytes.Buffer
	if err := printStatus(newPrinter(&buf, &outputFlags{}, time.UTC, st.Now), st); err != nil {
		t.Fatal(err)
	}
	golden(t, "status-cluster.golden", buf.String())
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (-update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

type fakeChecked struct {
	name string
	err  error
}

func (f fakeChecked) Name() string                                   { return f.name }
func (f fakeChecked) Sync(context.Context) (map[string]int64, error) { return nil, nil }
func (f fakeChecked) Check(context.Context) error                    { return f.err }

type fakeUnchecked struct{ fakeChecked }

func (f fakeUnchecked) Check() {} // not a daemon.Checker: wrong signature

func TestCheckSources(t *testing.T) {
	sources := []daemon.Source{
		fakeChecked{name: "imap:alice"},
		fakeChecked{name: "caldav:alice", err: errors.New("propfind: 401 Unauthorized")},
		fakeUnchecked{fakeChecked{name: "imap:bob"}},
	}
	results := checkSources(t.Context(), sources)
	if err := connectError(results); err == nil || err.Error() != "1 of 3 sources failed the connection check" {
		t.Errorf("checkSources = %v, want 1 of 3 failed", err)
	}
	var buf bytes.Buffer
	if err := renderConnect(newPrinter(&buf, &outputFlags{}, time.UTC, time.Time{}), results); err != nil {
		t.Fatal(err)
	}
	golden(t, "check-connect.golden", buf.String())
}

// `check` prints exactly the problems the config package expects for each
// of its bad fixtures (config/testdata/bad/*.err), one per line, and exits
// 2; its good fixtures pass with a summary.
func TestCheckConfigFixtures(t *testing.T) {
	const dir = "../../config/testdata"
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := filepath.Glob(filepath.Join(dir, "bad", "*.yaml"))
	good, _ := filepath.Glob(filepath.Join(dir, "good", "*.yaml"))
	if len(bad) == 0 || len(good) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	for _, path := range bad {
		t.Run("bad/"+filepath.Base(path), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(path, ".yaml") + ".err")
			if err != nil {
				t.Skipf("no expected errors: %v", err)
			}
			code, out, errOut := runCLI(t, "check", "--config", path)
			if code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			// The fixtures name files relative to config/ and <testdata>
			// for the folder; the CLI names them as given and absolute.
			expected := strings.NewReplacer("<testdata>", abs, "testdata/", dir+"/").Replace(string(want))
			if strings.TrimSpace(errOut) != strings.TrimSpace(expected) {
				t.Errorf("stderr:\n%s\nwant:\n%s", errOut, expected)
			}
		})
	}
	// Doubtful but valid fixtures load: exit 0 with the summary on stdout and
	// each warning the config package expects (warn/*.warn) on stderr.
	warn, _ := filepath.Glob(filepath.Join(dir, "warn", "*.yaml"))
	if len(warn) == 0 {
		t.Fatalf("no warning fixtures in %s", dir)
	}
	for _, path := range warn {
		t.Run("warn/"+filepath.Base(path), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(path, ".yaml") + ".warn")
			if err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "check", "--config", path)
			if code != 0 || !strings.Contains(out, "customers:") {
				t.Errorf("exit %d, stdout %q; want 0 and the summary", code, out)
			}
			var expected strings.Builder
			for line := range strings.Lines(strings.ReplaceAll(string(want), "<testdata>", abs)) {
				expected.WriteString("warning: " + line)
			}
			if errOut != expected.String() {
				t.Errorf("stderr:\n%s\nwant:\n%s", errOut, expected.String())
			}
		})
	}
	t.Setenv("TOUCHBASE_TEST_GOOD_PW", "env-password") // good/full.yaml's password_env
	for _, path := range good {
		t.Run("good/"+filepath.Base(path), func(t *testing.T) {
			code, out, errOut := runCLI(t, "check", "--config", path)
			if code != 0 || !strings.Contains(out, "config:") || !strings.Contains(out, "customers:") || errOut != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0 and the summary", code, out, errOut)
			}
		})
	}
}
