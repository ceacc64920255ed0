package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Silences are added, listed and removed the same way through the daemon
// and in the store: both runs compare with the same golden files. The
// daemon run's configuration has no store, so the daemon did the writing.
// Silenced alerts hide from `alerts` unless --silenced; a customer is
// "slipped (silenced)" only once every slipped commitment is silenced.
func TestSilences(t *testing.T) {
	t.Setenv("USER", "carol") // the default --author
	for _, viaDaemon := range []bool{false, true} {
		name := "store"
		if viaDaemon {
			name = "daemon"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "http://127.0.0.1:9")
			path := f.config
			if viaDaemon {
				f.startDaemon()
				path = f.cli
			}
			step := func(golden string, args ...string) string {
				t.Helper()
				code, out, errOut := f.run(path, args...)
				if code != 0 || errOut != "" {
					t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
				}
				if golden != "" {
					checkGolden(t, golden, normalize(out, ""), !viaDaemon)
				}
				return out
			}
			added := step("silence-add.golden", "silence", "add", "acme/weekly", "--until", "2026-12-01", "--reason", "on holiday",
				"--author", "bob")
			step("silence-add.json.golden", "silence", "add", "globex", "--from", "2026-11-23", "--until", "2w", "--json")
			step("silence-list.golden", "silence", "list")
			id := silenceID.FindString(added)
			step("silence-alerts.golden", "alerts")
			step("silence-alerts-silenced.golden", "alerts", "--silenced")
			var as []map[string]any
			if err := json.Unmarshal([]byte(step("", "alerts", "--silenced", "--json")), &as); err != nil || len(as) != 2 {
				t.Fatalf("alerts --silenced --json: %v, %d alerts; want 2", err, len(as))
			}
			for _, a := range as {
				silenced := a["commitment"] == "weekly"
				if a["silenced"] != silenced || (silenced && a["silence_id"] != id) || (!silenced && a["silence_id"] != nil) {
					t.Errorf("alert %v: silenced %v, silence_id %v; want %t and %s for weekly only", a["commitment"], a["silenced"],
						a["silence_id"], silenced, id)
				}
			}
			// acme's reply has slipped too, unsilenced: acme is plainly slipped
			// until that is silenced as well.
			if _, out, _ := f.run(path, "customers"); !strings.Contains(out, "acme     ACME Corp  slipped  ") {
				t.Errorf("customers with one of two slips silenced:\n%s", out)
			}
			step("", "silence", "add", "acme/reply", "--until", "1d")
			step("silence-customers.golden", "customers")
			if _, out, _ := f.run(path, "customer", "acme"); !strings.Contains(out, "(acme): slipped (silenced);") {
				t.Errorf("customer acme with every slip silenced:\n%s", out)
			}
			var cs []map[string]any
			if err := json.Unmarshal([]byte(step("", "customers", "--json")), &cs); err != nil || len(cs) == 0 ||
				cs[0]["state"] != "slipped" || cs[0]["silenced"] != true {
				t.Errorf("customers --json with acme silenced: %v, %v; want state slipped, silenced true", err, cs)
			}
			if _, out, _ := f.run(path, "customer", "acme"); !strings.Contains(out, "slipped (silenced)") ||
				!strings.Contains(out, "silenced weekly until 2026-12-01 23:59 (in 11 d): on holiday") {
				t.Errorf("customer acme does not show the silence:\n%s", out)
			}
			if out := step("silence-remove.golden", "silence", "remove", id); !strings.Contains(out, id) {
				t.Errorf("remove printed %q, want the ID %s", out, id)
			}
			step("silence-list-after-remove.golden", "silence", "list", "--all")
			code, _, errOut := f.run(path, "silence", "remove", id)
			if code != 1 || errOut != "touchbase: expire silence "+id+": it has already ended: no such silence\n" {
				t.Errorf("removing %s twice: exit %d, stderr %q; want 1, already ended", id, code, errOut)
			}
		})
	}
}
