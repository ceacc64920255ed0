package imapsource

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The crash helper: the test binary re-executed with crashHelperEnv set
// runs one Sync of bob into the store at crashDirEnv and is killed by its
// parent mid-way.
const (
	crashHelperEnv = "TOUCHBASE_IMAP_CRASH_HELPER"
	crashDirEnv    = "TOUCHBASE_IMAP_CRASH_DIR"
)

// TestCrashHelper is the child's body; it does nothing in a normal run.
func TestCrashHelper(t *testing.T) {
	if os.Getenv(crashHelperEnv) != "1" {
		t.Skip("runs only as the child of TestDovecotKill9MidSync")
	}
	st := openStore(t, os.Getenv(crashDirEnv))
	src := bedSource(t, os.Getenv("TESTBED_IMAP_ADDR"), st)
	src.batch = 50
	fmt.Println("ready")
	if _, err := src.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("done")
}

// TestDovecotKill9MidSync kills a process with SIGKILL in the middle of a
// first sync (after some batches were stored), then syncs again: the
// store must end up with exactly the seeded messages, none twice, and the
// second sync must read only what the first had not stored.
func TestDovecotKill9MidSync(t *testing.T) {
	env := bed(t, "--reset", "--messages", "3000", "--seed", "5", "--now", itoa(bedNow))
	want, _ := seeded(t, env)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), crashHelperEnv+"=1", crashDirEnv+"="+dir, "TESTBED_IMAP_ADDR="+env["TESTBED_IMAP_ADDR"])
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	for lines.Scan() && lines.Text() != "ready" {
	}
	go func() { // keep the pipe drained
		for lines.Scan() {
		}
	}()

	st := openStore(t, dir)                      // migrated by the child before "ready"
	deadline := time.Now().Add(60 * time.Second) // a hang guard only
	for {
		state, ok, err := st.FolderState(t.Context(), "bob", "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if ok && state.UIDNext > 1 {
			break // at least one batch is stored: kill now
		}
		if time.Now().After(deadline) {
			t.Fatal("the child stored nothing")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	partial := len(storedIDs(t, st))
	t.Logf("killed after %d of %d messages were stored", partial, len(want))
	if partial == 0 || partial >= len(want) {
		t.Fatalf("killed with %d of %d stored: not mid-sync", partial, len(want))
	}

	src := bedSource(t, env["TESTBED_IMAP_ADDR"], st)
	got := syncOK(t, src)
	if got[statDuplicates] != 0 || got[statStored] != int64(len(want)-partial) {
		t.Errorf("sync after the kill: %v; want the %d missing messages stored and no duplicates", got, len(want)-partial)
	}
	sameIDs(t, st, want)
}

// TestDovecotDropMidSync cuts the connection in the middle of a FETCH (a
// server restart, as far as the client can tell; the shared Dovecot itself
// is left alone): the pass fails, the next one completes it, nothing is
// lost or stored twice.
func TestDovecotDropMidSync(t *testing.T) {
	env := bed(t, "--reset", "--messages", "1500", "--seed", "6", "--now", itoa(bedNow))
	want, _ := seeded(t, env)
	p := newProxy(t, env["TESTBED_IMAP_ADDR"])
	st := openStore(t, t.TempDir())
	src := bedSource(t, p.addr(), st)
	src.batch = 100
	src.imap.MaxConns = 1 // one connection per pass, to count replacements
	p.cutAfter(200 << 10)
	_, err := src.Sync(t.Context())
	if err == nil {
		t.Fatal("the pass survived a dropped connection")
	}
	if !strings.Contains(err.Error(), "sync bob/") {
		t.Errorf("error %q does not name the account and folder", err)
	}
	partial := len(storedIDs(t, st))
	t.Logf("dropped after %d of %d messages were stored: %v", partial, len(want), err)
	got := syncOK(t, src)
	if got[statDuplicates] != 0 || got[statStored] != int64(len(want)-partial) {
		t.Errorf("sync after the drop: %v; want the %d missing messages and no duplicates", got, len(want)-partial)
	}
	sameIDs(t, st, want)
	if n := p.accepted(); n != 2 {
		t.Errorf("%d connections, want 2 (the dropped one and its replacement)", n)
	}
}
