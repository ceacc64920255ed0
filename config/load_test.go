package config

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestMain keeps the caller's TOUCHBASE_* variables out of the tests: they
// override config keys and would change every result.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, envPrefix+"_") {
			os.Unsetenv(k)
		}
	}
	// Git keeps no file modes but the executable bit: secret fixtures, and
	// the example configuration's, are private as Load wants them (the
	// package installs them so), except the one warn/open_secrets.yaml is
	// about.
	secrets, _ := filepath.Glob("testdata/secrets/*")
	shipped, _ := filepath.Glob("../configs/secrets/*")
	for _, f := range append(secrets, shipped...) {
		mode := os.FileMode(0o600)
		if filepath.Base(f) == "open.password" {
			mode = 0o644
		}
		if err := os.Chmod(f, mode); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// testdataDir is the absolute testdata path, replaced by <testdata> in
// golden text so the files do not depend on where the tree is checked out.
func testdataDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs\n--- got ---\n%s--- want ---\n%s", path, got, want)
	}
}

func TestLoadBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("found %d bad fixtures, want at least 15", len(files))
	}
	td := testdataDir(t)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			cfg, err := Load(f)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, nil; want errors", f, cfg)
			}
			if cfg != nil {
				t.Errorf("Load(%s) returned a config along with errors", f)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want config.Errors: %v", err, err)
			}
			for _, e := range es {
				if e.File != f {
					t.Errorf("problem %q names file %q, want %q", e.Msg, e.File, f)
				}
			}
			got := strings.ReplaceAll(err.Error(), td, "<testdata>") + "\n"
			if strings.Contains(got, leaked) { // the password of secrets/bad.dsn
				t.Errorf("problems quote a secret:\n%s", got)
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".err", got)
		})
	}
}

// TestLoadCollectsAll proves that one file with many problems reports each
// of them, not only the first.
func TestLoadCollectsAll(t *testing.T) {
	_, err := Load("testdata/bad/many.yaml")
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Load: %v, want config.Errors", err)
	}
	for _, key := range []string{
		"store", "timezone", "sync.poll_interval", "sync.idel",
		"accounts[0].imap.tls", "accounts[0].imap.password_file",
		"accounts[1].name", "accounts[1].email", "accounts[1].caldav",
		"customers[0].owner", "customers[0].commitments[0]", "customers[0].commitments[1]",
		"customers[1].domains[0]", "customers[1].tier", "customers[1].timezone",
		"policies.weekly.subject", "policies.reply.type",
		"webhooks[0].url", "webhooks[0].secret_file",
	} {
		if !slices.ContainsFunc(es, func(e *Error) bool { return e.Key == key }) {
			t.Errorf("no problem reported for %s", key)
		}
	}
	for i := 1; i < len(es); i++ {
		if es[i].Line != 0 && es[i].Line < es[i-1].Line {
			t.Errorf("problems out of line order: %v before %v", es[i-1], es[i])
		}
	}
}

func TestLoadGood(t *testing.T) {
	t.Setenv("TOUCHBASE_TEST_GOOD_PW", "env-password")
	files, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	td := testdataDir(t)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatalf("Load(%s): %v", f, err)
			}
			got := strings.ReplaceAll(dump(cfg), td, "<testdata>")
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", got)
		})
	}
}

// TestLoadExample loads configs/touchbase.example.yaml exactly as shipped:
// its relative secret paths resolve to the placeholders in configs/secrets.
func TestLoadExample(t *testing.T) {
	const path = "../configs/touchbase.example.yaml"
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	want := map[string]int{"accounts": 4, "customers": 3, "policies": 8, "webhooks": 2}
	got := map[string]int{
		"accounts": len(cfg.Accounts), "customers": len(cfg.Customers),
		"policies": len(cfg.Policies), "webhooks": len(cfg.Webhooks),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %d, want %d", k, got[k], w)
		}
	}
	// The example promises these policy types; keep it showing them all.
	var types []string
	for _, p := range cfg.Policies {
		types = append(types, string(p.Type))
	}
	for _, typ := range policyTypes {
		if !slices.Contains(types, typ) {
			t.Errorf("example declares no %s policy", typ)
		}
	}
	bob, ok := cfg.Account("bob")
	if !ok || bob.IMAP == nil || bob.IMAP.Auth != AuthXOAuth2 || bob.IMAP.Password.Command == "" {
		t.Errorf("example account bob = %+v, want IMAP with xoauth2 and a password_command", bob)
	}
}

// TestExampleDocumentsEveryKey keeps the example in step with the schema:
// every key Load understands must appear in it, set or commented out.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../configs/touchbase.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for key, ft := range structFields(typ) {
			if !strings.Contains(text, key+":") {
				t.Errorf("example does not mention %s", joinKey(path, key))
			}
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(ft, joinKey(path, key))
			}
		}
	}
	walk(rawConfigType, "")
	walk(rawInlineType, "customers[].commitments[]")
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || !strings.Contains(es[0].Msg, "cannot read config") {
		t.Errorf("Load of a missing file: %v, want one config.Error", err)
	}
}

// TestLoadEmptyFile: a file without settings is an error, not a
// configuration of defaults that can sync nothing.
func TestLoadEmptyFile(t *testing.T) {
	for name, body := range map[string]string{"empty": "", "comments": "# nothing yet\n\n", "null": "~\n"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "touchbase.yaml")
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			var es Errors
			if cfg != nil || !errors.As(err, &es) || len(es) != 1 || !strings.HasPrefix(es[0].Msg, "empty configuration") {
				t.Errorf("Load(%q) = %v, %v; want one error, empty configuration", body, cfg, err)
			}
		})
	}
}

// dump prints a Config deterministically for golden files.
func dump(c *Config) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("path: %s", c.Path)
	p("data_dir: %s", c.DataDir)
	p("store: %s", c.Store)
	p("postgres: dsn_file=%q dsn=%s", c.Postgres.DSNFile, c.Postgres.DSN)
	p("timezone: %s", c.Timezone)
	p("log_level: %s", c.LogLevel)
	p("internal_domains: %q", c.InternalDomains)
	p("listen: socket=%s http=%q token=%s dashboard=%t", c.Listen.Socket, c.Listen.HTTP, c.Listen.Token, c.Listen.Dashboard)
	s := c.Sync
	p("sync: backfill=%s poll=%s idle=%t horizon=%s stale_after=%s", s.Backfill, s.PollInterval, s.Idle, s.Horizon, s.StaleAfter)
	p("alerting: repeat=%s at_risk_before=%s", c.Alerting.RepeatInterval, c.Alerting.AtRiskBefore)
	p("cluster: enabled=%t lease_duration=%s", c.Cluster.Enabled, c.Cluster.LeaseDuration)
	p("holidays: %q extra=%q", c.Holidays, c.ExtraHolidays)
	for _, a := range c.Accounts {
		p("account %s email=%s", a.Name, a.Email)
		if m := a.IMAP; m != nil {
			p("  imap addr=%s tls=%s auth=%s user=%s password=%s folders=%q max_connections=%d ca=%q", m.Addr, m.TLS, m.Auth, m.Username, m.Password, m.Folders, m.MaxConns, m.TLSCAFile)
		}
		if o := a.OAuth; o != nil {
			p("  %s", o)
		}
		if d := a.CalDAV; d != nil {
			p("  caldav url=%s user=%s password=%s calendars=%q ca=%q auth=%s", d.URL, d.Username, d.Password, d.Calendars, d.TLSCAFile, d.Auth)
		}
	}
	for _, cu := range c.Customers {
		p("customer %s name=%q domains=%q contacts=%q exclude=%q owner=%q tier=%q tz=%s",
			cu.ID, cu.Name, cu.Domains, cu.Contacts, cu.Exclude, cu.Owner, cu.Tier, cu.Location)
		if cu.Holidays != nil {
			p("  holidays 2026: %s", dumpHolidays(cu.Holidays, 2026))
		}
		for _, cm := range cu.Commitments {
			p("  %s", dumpCommitment(cm))
		}
	}
	names := make([]string, 0, len(c.Policies))
	for n := range c.Policies {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p("policy %s", dumpCommitment(c.Policies[n]))
	}
	for _, w := range c.Webhooks {
		p("webhook %s url=%s format=%s events=%q secrets=%v", w.Name, w.URL, w.Format, w.Events, w.Secrets)
	}
	return b.String()
}

// dumpHolidays lists the days off in year as MM-DD, weekends included.
func dumpHolidays(h cadence.Holidays, year int) string {
	var days []string
	for d := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == year; d = d.AddDate(0, 0, 1) {
		if h(d.Date()) {
			days = append(days, d.Format("01-02"))
		}
	}
	return strings.Join(days, " ")
}

func dumpCommitment(c cadence.Commitment) string {
	s := fmt.Sprintf("%s type=%s grace=%s", c.Name, c.Type, c.Grace)
	switch c.Type {
	case cadence.CadenceType:
		subj := ""
		if c.Subject != nil {
			subj = c.Subject.String()
		}
		s += fmt.Sprintf(" kind=%q direction=%s subject=%q every=%s per=%q min=%d", c.Kind, c.Direction, subj, c.Every, c.Per, c.Min)
	case cadence.PrepareType:
		s += " before=" + c.Before.String()
	case cadence.BreadthType:
		s += fmt.Sprintf(" min_contacts=%d window=%s", c.MinContacts, c.Window)
	default:
		s += " within=" + c.Within.String()
	}
	return s
}

// TestLoadWarnings loads the fixtures that are valid but doubtful: each
// loads, and its warnings are pinned in a golden .warn file.
func TestLoadWarnings(t *testing.T) {
	files, err := filepath.Glob("testdata/warn/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata/warn")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatalf("Load(%s): %v", f, err)
			}
			if len(cfg.Warnings) == 0 {
				t.Fatalf("Load(%s) gave no warnings", f)
			}
			var b strings.Builder
			for _, w := range cfg.Warnings {
				b.WriteString(w.String() + "\n")
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".warn", strings.ReplaceAll(b.String(), testdataDir(t), "<testdata>"))
		})
	}
}

// TestLoadNoWarnings keeps the shipped and the good configurations free of
// warnings, so a warning is news when it appears.
func TestLoadNoWarnings(t *testing.T) {
	t.Setenv("TOUCHBASE_TEST_GOOD_PW", "env-password")
	files, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, "../configs/touchbase.example.yaml") {
		cfg, err := Load(f)
		if err != nil {
			t.Fatalf("Load(%s): %v", f, err)
		}
		for _, w := range cfg.Warnings {
			t.Errorf("%s: warning %s", f, w)
		}
	}
}
