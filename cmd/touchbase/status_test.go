package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/store"
)

// `status` exits 0 only while every source is fresh and not failing and
// the last reload was accepted; else 1, with the status printed and one
// line on stderr saying why. --json exits the same.
func TestStatusExitCodes(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	d := f.startDaemon()
	status := func(args ...string) (int, string, string) {
		t.Helper()
		return f.run(f.config, append([]string{"status"}, args...)...)
	}
	// The fixture's sources synced five minutes before its "now".
	code, out, errOut := status()
	if code != 0 || errOut != "" || !strings.Contains(out, "SOURCE        LAST SUCCESS (Europe/Berlin)") ||
		!strings.Contains(out, "imap:alice    2026-11-20 09:55              5 min  0         no") {
		t.Fatalf("healthy: exit %d, stderr %q, stdout:\n%s\nwant 0 and the sources in Berlin time", code, errOut, out)
	}

	st, err := store.Open(t.Context(), filepath.Join(f.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.RecordSyncFailure(t.Context(), "caldav:alice", fixtureNow.Add(-time.Minute), "propfind: 401 Unauthorized", nil); err != nil {
		t.Fatal(err)
	}
	const failing = "touchbase: 1 of 2 sources failing or stale: caldav:alice\n"
	code, out, errOut = status()
	if code != 1 || errOut != failing || !strings.Contains(out, "propfind: 401 Unauthorized") {
		t.Errorf("a failing source: exit %d, stderr %q, stdout:\n%s\nwant 1, %q and the status", code, errOut, out, failing)
	}
	code, out, errOut = status("--json")
	var js daemon.Status
	if err := json.Unmarshal([]byte(out), &js); code != 1 || errOut != failing || err != nil || len(js.Sources) != 2 {
		t.Errorf("--json with a failing source: exit %d, stderr %q, %v; want 1 and the JSON", code, errOut, err)
	}

	// A broken file on reload: the daemon keeps running the old one, and
	// status says so (the file is broken, so it is found by --socket).
	if err := os.WriteFile(f.config, []byte("data_dir: data\nlisten_typo: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(t.Context()); err == nil {
		t.Fatal("the daemon accepted a broken configuration")
	}
	code, out, errOut = status("--socket", filepath.Join(f.dir, "tb.sock"))
	if code != 1 || errOut != "touchbase: 1 of 2 sources failing or stale: caldav:alice; the last reload was rejected\n" ||
		!strings.Contains(out, " (now); the previous configuration still runs:") || !strings.Contains(out, "up < 1 min") ||
		!strings.Contains(out, "listen_typo: unknown key") {
		t.Errorf("rejected reload: exit %d, stderr %q, stdout:\n%s\nwant 1 and the reload's first problem", code, errOut, out)
	}
}
