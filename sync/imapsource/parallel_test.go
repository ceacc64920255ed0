package imapsource

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// TestSyncMaxConnections reads four changed folders with each cap: a pass
// opens one connection per reader, min(cap, changed folders), never more
// at once than the cap, and a no-change pass opens none.
func TestSyncMaxConnections(t *testing.T) {
	for _, tc := range []struct{ max, want int }{{1, 1}, {2, 2}, {3, 3}, {10, 4}} {
		t.Run(fmt.Sprint("max ", tc.max), func(t *testing.T) {
			srv := newServer(t, serverOptions{specialUse: true})
			srv.create("Projects")
			now := time.Now()
			folders := []string{"INBOX", "Sent", "Archive", "Projects"}
			for _, f := range folders {
				for i := range 20 {
					srv.add(f, message(fmt.Sprintf("%s-%d@acme.test", f, i), "ann@acme.test", "bob@example.test", "M", now), now)
				}
			}
			p := newProxy(t, srv.addr)
			src, st := newSource(t, p.addr(), folders)
			src.imap.MaxConns = tc.max
			src.batch = 7
			if got := syncOK(t, src); got[statStored] != 80 {
				t.Errorf("stats %v: want all 80 messages stored", got)
			}
			if n := len(storedIDs(t, st)); n != 80 {
				t.Errorf("%d interactions, want 80", n)
			}
			if got := p.accepted(); got != tc.want {
				t.Errorf("first pass opened %d connections, want %d", got, tc.want)
			}
			if got := p.peakOpen(); got > tc.max {
				t.Errorf("%d connections open at once, above max_connections %d", got, tc.max)
			}
			syncOK(t, src)
			if got := p.accepted(); got != tc.want {
				t.Errorf("after a no-change pass %d connections, want still %d", got, tc.want)
			}
		})
	}
}

// TestSyncWriterFailsMidFolder makes the store refuse one message's batch
// while the fetch runs ahead of the writer: the folder's checkpoint must
// still claim no UID that was not stored, and the next pass, with the
// store healthy again, must store exactly the rest.
func TestSyncWriterFailsMidFolder(t *testing.T) {
	srv := newServer(t, serverOptions{specialUse: true})
	now := time.Now()
	const n = 40
	for i := range n { // UID i+1
		srv.add("INBOX", message(fmt.Sprintf("m%d@acme.test", i), "ann@acme.test", "bob@example.test", "M", now), now)
	}
	dir := t.TempDir()
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src := newSourceWith(t, srv.addr, []string{"INBOX"}, st, config.Secret{File: secretFile(t, testPass)})
	src.batch = 4
	// A second connection to the database makes the writer fail at m22
	// (UID 23, the sixth batch) as a full disk would.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fail_m22 BEFORE INSERT ON interactions WHEN NEW.key = 'mid:m22@acme.test'
		BEGIN SELECT RAISE(ABORT, 'injected write failure'); END`); err != nil {
		t.Fatal(err)
	}

	_, err = src.Sync(t.Context())
	if err == nil || !strings.Contains(err.Error(), "injected write failure") || !strings.Contains(err.Error(), "sync bob/INBOX") {
		t.Fatalf("sync error %v: want the injected failure, naming account and folder", err)
	}
	state, ok, err := st.FolderState(t.Context(), "bob", "INBOX")
	if err != nil || !ok {
		t.Fatalf("no checkpoint stored: %v", err)
	}
	ids := storedIDs(t, st)
	if int(state.UIDNext) > 23 {
		t.Errorf("checkpoint UIDNEXT %d claims the unstored UID 23", state.UIDNext)
	}
	for uid := 1; uid < int(state.UIDNext); uid++ {
		if _, ok := ids[fmt.Sprintf("mid:m%d@acme.test", uid-1)]; !ok {
			t.Errorf("UID %d is below the checkpoint (UIDNEXT %d) but not stored", uid, state.UIDNext)
		}
	}
	if len(ids) != int(state.UIDNext)-1 {
		t.Errorf("%d stored, but the checkpoint is UIDNEXT %d: a batch was stored without its state", len(ids), state.UIDNext)
	}

	if _, err := db.Exec(`DROP TRIGGER fail_m22`); err != nil {
		t.Fatal(err)
	}
	partial := len(ids)
	got := syncOK(t, src)
	if got[statFetched] != int64(n-partial) || got[statDuplicates] != 0 {
		t.Errorf("next pass stats %v: want the %d remaining messages and no duplicates", got, n-partial)
	}
	if got := len(storedIDs(t, st)); got != n {
		t.Errorf("%d interactions after the next pass, want %d", got, n)
	}
}
