package caldavsource

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/touchbase/touchbase/store"
)

// Environment of the helper process that TestKill9 starts and kills.
const (
	crashDir = "CALDAV_CRASH_DIR"
	crashURL = "CALDAV_CRASH_URL"
)

// TestCrashHelper is not a test: TestKill9 runs the test binary with
// -test.run=TestCrashHelper to sync in a process it can SIGKILL.
func TestCrashHelper(t *testing.T) {
	dir, url := os.Getenv(crashDir), os.Getenv(crashURL)
	if dir == "" {
		t.Skip("helper process for TestKill9")
	}
	st := openStore(t, dir)
	src := newSource(t, account(t, "alice", "alice@example.test", url, "alice", "alice-pass"), st, testNow)
	src.applyEvery = 25 // many commits, so kills land between and inside them
	syncOK(t, src)
}

// TestKill9 kills a syncing process at staggered moments, restarts it, and
// checks the store ends up exactly like one uninterrupted sync: nothing
// lost, nothing duplicated, every object's ETag recorded.
func TestKill9(t *testing.T) {
	if os.Getenv(crashDir) != "" {
		t.Skip("inside the helper")
	}
	srv, work, _ := memAlice(t)
	const n = 250
	for i := range n {
		at := testNow.Add(time.Duration(i-n/2) * 7 * time.Hour)
		var extra []string
		if i%10 == 0 {
			extra = []string{"RRULE:FREQ=WEEKLY;COUNT=8"}
		}
		srv.put(t, fmt.Sprintf("%se%03d.ics", work, i), vevent(fmt.Sprintf("e%03d@x", i), utcStamp(at), utcStamp(at.Add(time.Hour)), "E", extra))
	}
	ref := openStore(t, t.TempDir())
	syncOK(t, newSource(t, account(t, "alice", "alice@example.test", srv.URL, "alice", "alice-pass"), ref, testNow))
	want := snapshot(t, ref)

	srv.delay = 10 * time.Millisecond // per multiget, so a pass spans many commits
	dir := t.TempDir()
	// Create the schema first: store.Open's migration is not safe against
	// a second process migrating the same new file at the same moment.
	objectCount(t, dir, srv.URL+work)
	partial, stored := 0, 0
	for round := 0; round < 6 && stored < n; round++ {
		// Kill as soon as the helper has committed more than last time:
		// it is then fetching or writing the next batch.
		cmd := helper(dir, srv.URL)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		for prev := stored; stored == prev; {
			select {
			case <-exited:
				prev = -1
			case <-time.After(5 * time.Millisecond):
			}
			stored = objectCount(t, dir, srv.URL+work)
			if prev < 0 {
				break
			}
		}
		// Vary the moment: right after a commit, or some way into the next.
		time.Sleep(time.Duration(round%3) * 7 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		stored = objectCount(t, dir, srv.URL+work)
		t.Logf("kill %d: %d of %d objects stored", round, stored, n)
		if stored < n {
			partial++
		}
	}
	if partial == 0 {
		t.Fatal("no kill landed mid-sync; the test proved nothing")
	}
	if out, err := helper(dir, srv.URL).CombinedOutput(); err != nil {
		t.Fatalf("final sync: %v\n%s", err, out)
	}
	st := openStore(t, dir)
	if got := snapshot(t, st); !slices.Equal(got, want) {
		t.Errorf("after %d kills the store differs from one clean sync: %d rows vs %d", partial, len(got), len(want))
	}
	if objects := objectCount(t, dir, srv.URL+work); objects != n {
		t.Errorf("%d objects recorded, want %d", objects, n)
	}
}

func helper(dir, url string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDir+"="+dir, crashURL+"="+url)
	return cmd
}

func objectCount(t *testing.T, dir, cal string) int {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	etags, err := st.CalDAVETags(context.Background(), "alice", cal)
	if err != nil {
		t.Fatal(err)
	}
	return len(etags)
}

// snapshot renders every stored interaction with its participants.
func snapshot(t *testing.T, st *store.Store) []string {
	t.Helper()
	all, err := st.Interactions(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range all {
		out = append(out, describe(in)+" "+strconv.Itoa(len(in.Participants))+" "+in.Subject)
	}
	slices.Sort(out)
	return out
}
