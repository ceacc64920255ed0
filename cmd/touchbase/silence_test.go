package main

import (
	"strings"
	"testing"
)

// Silences are added, listed and removed the same way through the daemon
// and in the store: both runs compare with the same golden files. The
// daemon run's configuration has no store, so the daemon did the writing.
func TestSilences(t *testing.T) {
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
				checkGolden(t, golden, normalize(out, ""), !viaDaemon)
				return out
			}
			added := step("silence-add.golden", "silence", "add", "acme/weekly", "--until", "2026-12-01", "--reason", "on holiday")
			step("silence-add.json.golden", "silence", "add", "globex", "--from", "2026-11-23", "--until", "2w", "--json")
			step("silence-list.golden", "silence", "list")
			if _, out, _ := f.run(path, "customer", "acme"); !strings.Contains(out, "slipped (silenced)") ||
				!strings.Contains(out, "silenced weekly until 2026-12-01 23:59: on holiday") {
				t.Errorf("customer acme does not show the silence:\n%s", out)
			}
			id := silenceID.FindString(added)
			if out := step("silence-remove.golden", "silence", "remove", id); !strings.Contains(out, id) {
				t.Errorf("remove printed %q, want the ID %s", out, id)
			}
			step("silence-list-after-remove.golden", "silence", "list", "--all")
			code, _, errOut := f.run(path, "silence", "remove", id)
			if code != 1 || errOut != "touchbase: remove silence "+id+": no such silence\n" {
				t.Errorf("removing %s twice: exit %d, stderr %q; want 1, no such silence", id, code, errOut)
			}
		})
	}
}
