package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The read commands print the same, byte for byte, whether the store
// answers (no daemon) or a daemon over its socket: both runs compare with
// one golden file. The daemon run uses a configuration whose data_dir does
// not exist, so only the socket can have answered it.
func TestDataCommandsGolden(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	f.goldenBothWays(t, []goldenCase{
		{"customers.golden", []string{"customers"}},
		{"customers.json.golden", []string{"customers", "--json"}},
		{"customers-at-past.golden", []string{"customers", "--at", "2026-11-12T12:00:00+01:00"}},
		{"customers-at-forecast.golden", []string{"customers", "--at", "2026-12-10"}},
		{"customer-acme.golden", []string{"customer", "acme"}},
		{"customer-acme.json.golden", []string{"customer", "acme", "--json"}},
		{"customer-globex-at.golden", []string{"customer", "globex", "--at", "2026-12-05T12:00:00Z"}},
		{"customer-acme-why.golden", []string{"customer", "acme", "--why"}},
		{"customer-acme-why.json.golden", []string{"customer", "acme", "--why", "--json"}},
		{"customer-globex-why.golden", []string{"customer", "globex", "--why", "--at", "2026-12-05T12:00:00Z"}},
		{"alerts.golden", []string{"alerts"}},
		{"alerts-all.golden", []string{"alerts", "--all"}},
		{"alerts-all.json.golden", []string{"alerts", "--all", "--json"}},
		{"suggest.golden", []string{"suggest"}},
		{"suggest.json.golden", []string{"suggest", "--json"}},
		// -o json is --json; -o wide shows every column in full.
		{"customers.json.golden", []string{"customers", "-o", "json"}},
		{"alerts-all.json.golden", []string{"alerts", "--all", "-o", "json"}},
		{"customers-wide.golden", []string{"customers", "-o", "wide"}},
		{"alerts-all-wide.golden", []string{"alerts", "--all", "-o", "wide"}},
		{"customer-acme-wide.golden", []string{"customer", "acme", "-o", "wide"}},
		{"unmatched-wide.golden", []string{"unmatched", "-o", "wide"}},
		// Filters, each repeatable or a comma list; --no-headers.
		{"customers-filtered.golden", []string{"customers", "--state", "ok,slipped", "--owner", "alice", "--no-headers"}},
		{"customers-state-none.golden", []string{"customers", "--state", "none", "--state", "unknown"}},
		{"alerts-resolved-acme.golden", []string{"alerts", "--state", "resolved", "--owner", "alice"}},
		{"alerts-state-slipped.json.golden", []string{"alerts", "--state", "slipped", "--json"}},
		// --at in its other forms, and the alerts forecast.
		{"customers-at-past.golden", []string{"customers", "--at", "-190h"}},
		{"customers-at-yesterday.golden", []string{"customers", "--at", "yesterday"}},
		{"alerts-at-forecast.golden", []string{"alerts", "--at", "2026-12-10"}},
		{"alerts-at-forecast.json.golden", []string{"alerts", "--at", "+20d", "--json"}},
		{"alerts-at-past.golden", []string{"alerts", "--at", "2026-11-12T12:00:00+01:00"}},
	})
}

// checkWidth: a table printed without -o wide fits 100 columns.
func checkWidth(t *testing.T, args []string, out string) {
	t.Helper()
	if slices.Contains(args, "wide") || slices.Contains(args, "json") || slices.Contains(args, "--json") {
		return
	}
	for line := range strings.Lines(out) {
		if n := utf8.RuneCountInString(strings.TrimSuffix(line, "\n")); n > tableWidth {
			t.Errorf("%v: a line of %d columns: %q", args, n, line)
		}
	}
}

// goldenCase is a command and the golden file of its output.
type goldenCase struct {
	golden string
	args   []string
}

// goldenBothWays runs each command against the store (no daemon), then
// starts the daemon and runs each again against its socket alone: both
// must print their golden file, byte for byte.
func (f *fixture) goldenBothWays(t *testing.T, tests []goldenCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run("store/"+tc.golden, func(t *testing.T) {
			code, out, errOut := f.run(f.config, tc.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("%v: exit %d, stderr %q", tc.args, code, errOut)
			}
			checkWidth(t, tc.args, out)
			checkGolden(t, tc.golden, out, true)
		})
	}
	f.startDaemon()
	for _, tc := range tests {
		t.Run("daemon/"+tc.golden, func(t *testing.T) {
			code, out, errOut := f.run(f.cli, tc.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("%v: exit %d, stderr %q", tc.args, code, errOut)
			}
			checkGolden(t, tc.golden, out, false)
		})
	}
}

// `customers --json` is the SPEC's array: one object per configured
// customer with at least the fields scripts rely on, each of its type.
func TestCustomersJSONContract(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	code, out, errOut := f.run(f.config, "customers", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	var ids []string
	for _, row := range rows {
		id, _ := row["id"].(string)
		ids = append(ids, id)
		for _, key := range []string{"name", "state"} {
			if _, ok := row[key].(string); !ok {
				t.Errorf("%s: %s = %#v, want a string", id, key, row[key])
			}
		}
		for _, key := range []string{"last_contact_at", "last_inbound_at", "last_outbound_at", "next_due_at"} {
			v, present := row[key]
			s, isString := v.(string)
			if _, err := time.Parse(time.RFC3339, s); !present || (v != nil && (!isString || err != nil)) {
				t.Errorf("%s: %s = %#v (present %v), want RFC 3339 or null", id, key, v, present)
			}
		}
		for _, key := range []string{"contacts_30d", "contacts_90d"} {
			if n, ok := row[key].(float64); !ok || n != float64(int(n)) || n < 0 {
				t.Errorf("%s: %s = %#v, want a count", id, key, row[key])
			}
		}
		if v, present := row["median_interval"]; !present {
			t.Errorf("%s: no median_interval", id)
		} else if s, ok := v.(string); v != nil && !ok {
			t.Errorf("%s: median_interval = %#v, want a Go duration or null", id, v)
		} else if _, err := time.ParseDuration(s); ok && err != nil {
			t.Errorf("%s: median_interval %q: %v", id, s, err)
		}
		if s := row["state"]; !slices.Contains([]any{"ok", "at_risk", "slipped", "unknown", "none"}, s) {
			t.Errorf("%s: state %#v, want ok, at_risk, slipped, unknown or none", id, s)
		}
	}
	if want := []string{"acme", "globex", "initech"}; !slices.Equal(ids, want) {
		t.Errorf("ids %v, want every configured customer %v", ids, want)
	}
	// The fixture's facts, so the test cannot pass on an empty evaluation.
	acme, initech := rows[0], rows[2]
	if acme["state"] != "slipped" || acme["last_inbound_at"] != "2026-11-18T14:00:00Z" || acme["contacts_90d"] != 5.0 {
		t.Errorf("acme = %v; want slipped, last inbound 2026-11-18T14:00:00Z, 5 contacts in 90 days", acme)
	}
	if initech["state"] != "none" || initech["next_due_at"] != nil {
		t.Errorf("initech = %v; want state none and no next due time (no commitments)", initech)
	}
}

// Without a daemon and without a store there is nothing to read: exit 1,
// saying both.
func TestDataCommandsNoStore(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	for _, args := range [][]string{{"customers"}, {"customer", "acme"}, {"alerts"}, {"suggest"}, {"unmatched"}, {"silence", "list"},
		{"webhooks", "list"}} {
		code, out, errOut := f.run(f.cli, args...)
		if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "no store at") {
			t.Errorf("%v without daemon or store: exit %d, stdout %q, stderr %q; want 1 and one line naming the store", args, code, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(f.dir, "nodata")); !os.IsNotExist(err) {
		t.Errorf("a read command created data_dir: %v", err)
	}
}

// checkGolden compares got with testdata/name; with -update, writer runs
// rewrite the file first. Runs that must match another run's output pass
// writer false, so -update cannot paper over a difference between them.
func checkGolden(t *testing.T, name, got string, writer bool) {
	t.Helper()
	if writer {
		golden(t, name, got)
		return
	}
	want, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s, written by the other run:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}
