package imapsource

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/internal/testbed"
	"github.com/touchbase/touchbase/store"
)

// Integration tests: the test bed's real Dovecot, as the user bob (other
// packages' tests use other users). They reseed bob's mailbox with
// testbed/seed, whose --reset also kicks bob's sessions: a kept
// connection must survive that by reconnecting.

const bedUser = "bob@example.test"

// bedNow fixes the seeder's clock, so its (deterministic) messages are
// the same on every run: same Message-IDs, dates within the window.
var bedNow = time.Now().Add(-time.Hour).Unix()

// bed returns the test bed's environment, seeding bob with args first.
func bed(t *testing.T, args ...string) testbed.Env {
	t.Helper()
	env := testbed.Up(t)
	if len(args) > 0 {
		testbed.Seed(t, append([]string{"--user", bedUser, "--events", "0"}, args...)...)
	}
	return env
}

// bedSource returns a Source syncing bob at addr (the plain IMAP port or a
// proxy in front of it) into st, with a backfill window that holds the
// seeder's year of mail whatever the time zones.
func bedSource(t *testing.T, addr string, st *store.Store, folders ...string) *Source {
	t.Helper()
	src := newSourceWith(t, addr, folders, st, config.Secret{Env: "TOUCHBASE_TEST_BOB_PASSWORD"})
	t.Setenv("TOUCHBASE_TEST_BOB_PASSWORD", "bob-pass")
	src.acct.Email = bedUser
	src.sync.Backfill, _ = cadence.ParseSpan("400d")
	return src
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// seeded reads what the seeder wrote into bob's Maildir (INBOX and Sent):
// each message's Message-ID, and how many carry List-Unsubscribe.
func seeded(t *testing.T, env testbed.Env) (ids map[string]bool, bulk int) {
	t.Helper()
	root := filepath.Join(env["TESTBED_DIR"], "mail", bedUser, "Maildir")
	idRE := regexp.MustCompile(`(?i)^message-id:\s*<([^>]+)>`)
	ids = map[string]bool{}
	for _, dir := range []string{"cur", "new", ".Sent/cur", ".Sent/new"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() && sc.Text() != "" {
				if m := idRE.FindStringSubmatch(sc.Text()); m != nil {
					ids[m[1]] = true
				}
				if strings.HasPrefix(strings.ToLower(sc.Text()), "list-unsubscribe:") {
					bulk++
				}
			}
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no seeded messages under %s", root)
	}
	return ids, bulk
}

// sameIDs fails unless the store holds exactly the messages in want.
func sameIDs(t *testing.T, st *store.Store, want map[string]bool) {
	t.Helper()
	got := storedIDs(t, st)
	for key := range got {
		if !want[strings.TrimPrefix(key, "mid:")] {
			t.Errorf("stored %s, which was not seeded", key)
		}
	}
	for id := range want {
		if _, ok := got[cadence.MailKey(id)]; !ok {
			t.Errorf("seeded %s, which is not stored", id)
		}
	}
}

// TestDovecotFirstSyncMatchesSeed: a first sync stores exactly what was
// seeded, newsletters filtered; then new mail arrives incrementally; then
// the folders are rebuilt (new UIDVALIDITY) and re-read without a single
// duplicate.
func TestDovecotFirstSyncMatchesSeed(t *testing.T) {
	seed := []string{"--reset", "--messages", "400", "--seed", "3", "--now", itoa(bedNow)}
	env := bed(t, seed...)
	want, bulk := seeded(t, env)
	st := openStore(t, t.TempDir())
	src := bedSource(t, env["TESTBED_IMAP_ADDR"], st)

	got := syncOK(t, src)
	t.Logf("first sync: %v", got)
	if got[statFetched] != int64(len(want)) || got[statStored] != int64(len(want)) || got[statMalformed] != 0 {
		t.Errorf("first sync stats %v: want %d fetched and stored", got, len(want))
	}
	if got[statFiltered+string(cadence.Bulk)] != int64(bulk) {
		t.Errorf("filtered_bulk = %d, want the %d seeded newsletters", got[statFiltered+string(cadence.Bulk)], bulk)
	}
	sameIDs(t, st, want)

	testbed.Seed(t, "--user", bedUser, "--events", "0", "--messages", "25", "--seed", "4", "--now", itoa(bedNow))
	more, _ := seeded(t, env)
	if got := syncOK(t, src); got[statStored] != int64(len(more)-len(want)) || got[statDuplicates] != 0 {
		t.Errorf("incremental stats %v: want the %d new messages", got, len(more)-len(want))
	}
	sameIDs(t, st, more)

	// Rebuild: same messages, new folders (--reset deletes the Maildir and
	// kicks our kept connection). UIDVALIDITY has one-second resolution.
	before, _, _ := st.FolderState(t.Context(), "bob", "INBOX")
	time.Sleep(1100 * time.Millisecond)
	testbed.Seed(t, append([]string{"--user", bedUser, "--events", "0"}, seed...)...)
	testbed.Seed(t, "--user", bedUser, "--events", "0", "--messages", "25", "--seed", "4", "--now", itoa(bedNow))
	got = syncOK(t, src)
	after, _, _ := st.FolderState(t.Context(), "bob", "INBOX")
	if after.UIDValidity == before.UIDValidity {
		t.Fatalf("UIDVALIDITY %d unchanged after the rebuild: the test proves nothing", after.UIDValidity)
	}
	if got[statResets] != 2 || got[statStored] != 0 || got[statDuplicates] != int64(len(more)) {
		t.Errorf("re-read stats %v: want 2 resets, nothing stored, %d duplicates", got, len(more))
	}
	sameIDs(t, st, more)
}

// TestDovecotSameMessageInTwoFolders: one interaction for a message in
// INBOX and Archive.
func TestDovecotSameMessageInTwoFolders(t *testing.T) {
	env := bed(t, "--reset", "--messages", "5", "--folder", "INBOX", "--now", itoa(bedNow))
	raw := message("copy-"+itoa(time.Now().UnixNano())+"@acme.test", "ann@acme.test", bedUser, "Copy", time.Now())
	appendTo(t, env, "INBOX", raw)
	appendTo(t, env, "Archive", raw)
	st := openStore(t, t.TempDir())
	src := bedSource(t, env["TESTBED_IMAP_ADDR"], st, "INBOX", `\Archive`)
	got := syncOK(t, src)
	if got[statFetched] != 7 || got[statStored] != 6 || got[statDuplicates] != 1 {
		t.Errorf("stats %v: want 7 fetched (6 in INBOX, 1 in Archive), 6 stored, 1 duplicate", got)
	}
}

// TestDovecotTLS connects with implicit TLS and STARTTLS, verifying the
// test bed's certificate against tls_ca_file, and refuses it without.
func TestDovecotTLS(t *testing.T) {
	env := bed(t)
	for _, tc := range []struct {
		name, addr, mode, ca string
		ok                   bool
	}{
		{"implicit", env["TESTBED_IMAPS_ADDR"], config.TLSImplicit, env["TESTBED_TLS_CA"], true},
		{"starttls", env["TESTBED_IMAP_ADDR"], config.TLSStartTLS, env["TESTBED_TLS_CA"], true},
		{"untrusted certificate", env["TESTBED_IMAPS_ADDR"], config.TLSImplicit, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TOUCHBASE_TEST_BOB_PASSWORD", "bob-pass")
			acct := config.Account{Name: "bob", Email: bedUser, IMAP: &config.IMAP{Addr: tc.addr, TLS: tc.mode,
				TLSCAFile: tc.ca, Username: bedUser, Password: config.Secret{Env: "TOUCHBASE_TEST_BOB_PASSWORD"}}}
			src, err := New(acct, config.Sync{}, nil, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			err = src.Check(t.Context())
			if (err == nil) != tc.ok {
				t.Errorf("check: %v, want ok %t", err, tc.ok)
			}
		})
	}
}

// TestDovecotIdle: a message APPENDed while Watch runs becomes an
// interaction through the scheduler's reaction (changed → Sync). The
// latency is printed, not asserted.
func TestDovecotIdle(t *testing.T) {
	env := bed(t, "--reset", "--messages", "20", "--now", itoa(bedNow))
	st := openStore(t, t.TempDir())
	src := bedSource(t, env["TESTBED_IMAP_ADDR"], st)
	syncOK(t, src)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	changed := make(chan struct{}, 1)
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- src.Watch(ctx, func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
	}()
	eventually(t, changed, "signal when the watch was set up")
	synced := make(chan time.Time, 16)
	go func() { // the scheduler's part: sync on every signal
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				if _, err := src.Sync(ctx); err != nil {
					t.Logf("sync: %v", err)
				} else {
					synced <- time.Now()
				}
			}
		}
	}()

	id := "idle-" + itoa(time.Now().UnixNano()) + "@acme.test"
	start := time.Now()
	appendTo(t, env, "INBOX", message(id, "ann@acme.test", bedUser, "Pushed", start))
	deadline := time.After(30 * time.Second) // a hang guard, not a latency assertion
	for {
		select {
		case at := <-synced:
			if _, ok := storedIDs(t, st)[cadence.MailKey(id)]; ok {
				t.Logf("IDLE latency: APPEND to stored interaction in %v", at.Sub(start).Round(time.Millisecond))
				cancel()
				if err := <-watchDone; err != nil {
					t.Errorf("watch: %v", err)
				}
				return
			}
		case <-deadline:
			t.Fatal("the appended message never became an interaction")
		}
	}
}

// appendTo APPENDs raw to bob's folder over a separate connection.
func appendTo(t *testing.T, env testbed.Env, folder string, raw []byte) {
	t.Helper()
	c, err := imapclient.DialInsecure(env["TESTBED_IMAP_ADDR"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(bedUser, "bob-pass").Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append(folder, int64(len(raw)), &imap.AppendOptions{Time: time.Now()})
	if _, err := cmd.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append to %s: %v", folder, err)
	}
	c.Logout().Wait()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
