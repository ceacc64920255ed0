package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/touchbase/touchbase/internal/pgtest"
)

// The fixture's commands and their golden files, as TestDataCommandsGolden
// and TestWebhooksGolden print them from the SQLite store.
var postgresGolden = []goldenCase{
	{"customers.golden", []string{"customers"}},
	{"customers.json.golden", []string{"customers", "--json"}},
	{"customers-at-past.golden", []string{"customers", "--at", "2026-11-12T12:00:00+01:00"}},
	{"customer-acme.golden", []string{"customer", "acme"}},
	{"customer-acme-why.json.golden", []string{"customer", "acme", "--why", "--json"}},
	{"customer-globex-why.golden", []string{"customer", "globex", "--why", "--at", "2026-12-05T12:00:00Z"}},
	{"alerts-all.json.golden", []string{"alerts", "--all", "--json"}},
	{"suggest.golden", []string{"suggest"}},
	{"webhooks-list.golden", []string{"webhooks", "list"}},
	{"webhooks-deliveries.golden", []string{"webhooks", "deliveries"}},
}

// TestStoreCopyToPostgres: `store copy --to postgres` copies the
// fixture's SQLite store into Postgres, refuses to copy again into the
// filled database unless told to replace it, and then every data command
// prints, from Postgres, byte for byte what it printed from SQLite, read
// from the store and through a daemon running on Postgres.
func TestStoreCopyToPostgres(t *testing.T) {
	receiver := newReceiver(t).URL // as TestWebhooksGolden's, for the same column widths
	f := newFixture(t, receiver)
	if err := os.WriteFile(filepath.Join(f.dir, "pg.dsn"), []byte(pgtest.DSN(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Before the switch: still sqlite, the DSN named for the copy.
	before := filepath.Join(f.dir, "before.yaml")
	writeConfig(t, before, "data.yaml", "RECEIVER", receiver, "data_dir: data", "data_dir: data\npostgres: {dsn_file: pg.dsn}")
	code, out, errOut := f.run(before, "store", "copy", "--to", "postgres")
	if code != 0 || !strings.Contains(out, "row counts verified") || !strings.Contains(out, "\ninteractions ") ||
		!strings.Contains(out, `Next: set "store: postgres"`) || !strings.Contains(errOut, "copied deliveries: ") {
		t.Fatalf("store copy: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, _, errOut = f.run(before, "store", "copy", "--to", "postgres")
	if code != 1 || !strings.Contains(errOut, "target store is not empty") || !strings.Contains(errOut, "--replace") {
		t.Errorf("copy into the filled database: exit %d, stderr %q; want 1 and a hint at --replace", code, errOut)
	}
	if code, out, errOut = f.run(before, "store", "copy", "--to", "postgres", "--replace"); code != 0 {
		t.Fatalf("store copy --replace: exit %d\n%s%s", code, out, errOut)
	}

	// After the switch, with no SQLite store in data_dir: Postgres alone
	// can answer.
	after := filepath.Join(f.dir, "after.yaml")
	writeConfig(t, after, "data.yaml", "RECEIVER", receiver, "data_dir: data", "data_dir: nodata\nstore: postgres\npostgres: {dsn_file: pg.dsn}")
	for _, tc := range postgresGolden {
		t.Run("store/"+tc.golden, func(t *testing.T) {
			code, out, errOut := f.run(after, tc.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("%v: exit %d, stderr %q", tc.args, code, errOut)
			}
			checkGolden(t, tc.golden, normalize(out, receiver), false)
		})
	}
	f.startDaemonOn(after)
	for _, tc := range postgresGolden[:8] { // the webhook commands read the store, daemon or not
		t.Run("daemon/"+tc.golden, func(t *testing.T) {
			code, out, errOut := f.run(f.cli, tc.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("%v: exit %d, stderr %q", tc.args, code, errOut)
			}
			checkGolden(t, tc.golden, out, false)
		})
	}
	if _, err := os.Stat(filepath.Join(f.dir, "nodata")); !os.IsNotExist(err) {
		t.Errorf("a command on store: postgres created data_dir: %v", err)
	}
}

// TestStoreCopyUsage: the target must be postgres and must be named.
func TestStoreCopyUsage(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"store", "copy", "--to", "mysql"}, `--to "mysql": the store can be copied to postgres only`},
		{[]string{"store", "copy", "--to", "postgres"}, "postgres.dsn_file: not set"},
		{[]string{"store", "copy", "--to", "postgres", "--dsn-file", "missing.dsn"}, "--dsn-file: "},
	} {
		code, _, errOut := f.run(f.config, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}

// TestCheckConnectPostgres: check --connect reaches a postgres store (a
// row of its own); one that does not answer fails the check, naming the
// key and not the DSN's password, in the table and in the JSON (whose
// error is not cut to the terminal's width).
func TestCheckConnectPostgres(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	cfg := filepath.Join(f.dir, "pg.yaml")
	// No accounts: only the store is checked.
	writeConfig(t, cfg, "data.yaml", "RECEIVER", "http://127.0.0.1:9", "data_dir: data", "data_dir: data\nstore: postgres\npostgres: {dsn_file: pg.dsn}",
		fixtureAccounts, "", "    owner: alice\n", "")
	for _, tc := range []struct {
		dsn  string
		code int
		want string
	}{
		{pgtest.DSN(t), 0, "store:postgres  ok"},
		{"postgres://touchbase:LEAKED-PASSWORD-4711@127.0.0.1:1/touchbase?connect_timeout=5", 1, "store:postgres  FAILED: postgres.dsn_file "},
	} {
		if err := os.WriteFile(filepath.Join(f.dir, "pg.dsn"), []byte(tc.dsn+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := f.run(cfg, "check", "--connect")
		if code != tc.code || !strings.Contains(out, tc.want) || strings.Contains(out+errOut, "LEAKED") {
			t.Errorf("check --connect: exit %d\nstdout:\n%s\nstderr:\n%s\nwant %d and %q", code, out, errOut, tc.code, tc.want)
		}
		code, out, errOut = f.run(cfg, "check", "--connect", "--json")
		if code != tc.code || !strings.Contains(out, `"name": "store:postgres"`) || strings.Contains(out+errOut, "LEAKED") {
			t.Errorf("check --connect --json: exit %d\nstdout:\n%s\nstderr:\n%s\nwant %d, the store's row and no password", code, out, errOut, tc.code)
		}
	}
}

// TestStoreCopyRefusedBesideADaemon: what a running daemon writes after
// the copy started would be lost, so the copy refuses to start.
func TestStoreCopyRefusedBesideADaemon(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	if err := os.WriteFile(filepath.Join(f.dir, "pg.dsn"), []byte("postgres://touchbase@127.0.0.1:1/touchbase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.startDaemon()
	code, _, errOut := f.run(f.config, "store", "copy", "--to", "postgres", "--dsn-file", filepath.Join(f.dir, "pg.dsn"))
	if code != 1 || !strings.Contains(errOut, "a daemon answers on") || !strings.Contains(errOut, "stop it first") {
		t.Errorf("copy beside a daemon: exit %d, stderr %q; want 1, asking to stop the daemon", code, errOut)
	}
}
