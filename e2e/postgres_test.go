package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/demo"
	"github.com/touchbase/touchbase/internal/pgtest"
)

// TestRunOnceOnPostgres: `run --once` over the seeded test bed, once with
// the SQLite store and once with store: postgres, stores the same
// interactions (as the customers' contacts show them), opens the same
// alerts and sends the same webhooks, with the same webhook-ids: the
// scenario's expected ones.
func TestRunOnceOnPostgres(t *testing.T) {
	b := setUp(t)
	bin := binary(t)
	dir := filepath.Dir(b.cfg)
	secret, err := os.ReadFile(filepath.Join(dir, "webhook.whsec"))
	if err != nil {
		t.Fatal(err)
	}
	pgSink, err := demo.NewSink(strings.TrimSpace(string(secret)), demo.SinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pgSink.Close() })
	dsnFile := filepath.Join(dir, "postgres.dsn")
	if err := os.WriteFile(dsnFile, []byte(pgtest.DSN(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "store: sqlite\n") {
		t.Fatalf("the configuration names no sqlite store to replace:\n%s", text)
	}
	// The same configuration on Postgres: its own data_dir (the socket
	// lives there) and its own sink.
	pgCfg := filepath.Join(dir, "postgres.yaml")
	pgText := strings.NewReplacer("store: sqlite\n", "store: postgres\npostgres:\n    dsn_file: "+dsnFile+"\n",
		filepath.Join(dir, "data"), filepath.Join(dir, "pgdata"), b.sink.URL(), pgSink.URL()).Replace(string(text))
	if err := os.WriteFile(pgCfg, []byte(pgText), 0o600); err != nil {
		t.Fatal(err)
	}

	cli := func(cfg string, args ...string) []byte {
		t.Helper()
		out, err := exec.Command(bin, append(args, "--config", cfg)...).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("touchbase %v --config %s: %v\n%s%s", args, filepath.Base(cfg), err, out, stderr)
		}
		return out
	}
	for _, cfg := range []string{b.cfg, pgCfg} {
		start := time.Now()
		cli(cfg, "run", "--once")
		t.Logf("run --once with %s: %.1fs", filepath.Base(cfg), time.Since(start).Seconds())
	}
	if _, err := os.Stat(filepath.Join(dir, "pgdata", "touchbase.db")); !os.IsNotExist(err) {
		t.Errorf("run --once on postgres wrote a SQLite store: %v", err)
	}

	lite, pg := eventIDs(b.sink.Events()), eventIDs(pgSink.Events())
	if !slices.Equal(pg, lite) {
		t.Errorf("webhooks differ\nsqlite:   %q\npostgres: %q", lite, pg)
	}
	if m := missing(pgSink.Events(), b.h.Expected); len(m) > 0 || len(pg) == 0 {
		t.Errorf("postgres run: %d webhooks, missing the expected %q", len(pg), m)
	}
	if a, p := alertsOf(t, cli(b.cfg, "alerts", "--all", "--json")), alertsOf(t, cli(pgCfg, "alerts", "--all", "--json")); !slices.Equal(a, p) || len(a) == 0 {
		t.Errorf("alerts differ\nsqlite:   %q\npostgres: %q", a, p)
	}
	if a, p := contactsOf(t, cli(b.cfg, "customers", "--json")), contactsOf(t, cli(pgCfg, "customers", "--json")); !slices.Equal(a, p) {
		t.Errorf("customers' contacts differ\nsqlite:   %q\npostgres: %q", a, p)
	}
}

// eventIDs lists "webhook-id type customer/commitment", sorted.
func eventIDs(ds []demo.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ID+" "+eventKey(d))
	}
	slices.Sort(out)
	return out
}

// alertsOf lists each alert of `alerts --all --json` by what the store
// decided (its identity, state, due time, episode), not by when it ran.
func alertsOf(t *testing.T, out []byte) []string {
	t.Helper()
	var alerts []map[string]any
	if err := json.Unmarshal(out, &alerts); err != nil {
		t.Fatalf("alerts --json: %v\n%s", err, out)
	}
	var keys []string
	for _, a := range alerts {
		keys = append(keys, strings.Join([]string{str(a["id"]), str(a["state"]), str(a["due_at"]), str(a["episode"])}, " "))
	}
	slices.Sort(keys)
	return keys
}

// contactsOf lists each customer's stored interactions as `customers
// --json` counts them: last contacts in and out, contacts in 30 and 90
// days.
func contactsOf(t *testing.T, out []byte) []string {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("customers --json: %v\n%s", err, out)
	}
	var keys []string
	for _, r := range rows {
		keys = append(keys, strings.Join([]string{str(r["id"]), str(r["last_inbound_at"]), str(r["last_outbound_at"]),
			str(r["contacts_30d"]), str(r["contacts_90d"]), str(r["state"])}, " "))
	}
	return keys
}

func str(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
