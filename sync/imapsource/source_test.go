package imapsource

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
)

var day = 24 * time.Hour

// TestSyncFirstAndIncremental covers a first sync (backfill window, both
// default folders), a no-change pass and an incremental one, on a modern
// and on a bare IMAP4rev1 server (STATUS instead of LIST-STATUS, plain
// SEARCH, \Sent found by name).
func TestSyncFirstAndIncremental(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts serverOptions
	}{
		{"imap4rev2", serverOptions{caps: rev2Caps, specialUse: true}},
		{"imap4rev1", serverOptions{caps: rev1Caps}},
		{"localised sent", serverOptions{caps: rev2Caps, specialUse: true, sentName: "Gesendete Elemente"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.opts)
			now := time.Now()
			sent := tc.opts.sentName
			if sent == "" {
				sent = "Sent"
			}
			srv.add("INBOX", message("in1@acme.test", "Ann <ann@acme.test>", "bob@example.test", "Quote", now.Add(-2*day)), now.Add(-2*day))
			srv.add("INBOX", message("old@acme.test", "ann@acme.test", "bob@example.test", "Ancient", now.Add(-400*day)), now.Add(-400*day))
			srv.add(sent, message("out1@example.test", "bob@example.test", "ann@acme.test", "Re: Quote", now.Add(-day)), now.Add(-day))
			srv.add("Archive", message("arch@acme.test", "ann@acme.test", "bob@example.test", "Archived", now), now)
			src, st := newSource(t, srv.addr, nil)

			got := syncOK(t, src)
			if got[statFetched] != 2 || got[statStored] != 2 || got[statDuplicates] != 0 {
				t.Errorf("first sync stats %v: want 2 fetched and stored", got)
			}
			ids := storedIDs(t, st)
			for _, key := range []string{"mid:in1@acme.test", "mid:out1@example.test"} {
				if _, ok := ids[key]; !ok {
					t.Errorf("%s not stored; have %v", key, keys(ids))
				}
			}
			if len(ids) != 2 {
				t.Errorf("stored %v: the mail older than the backfill and the Archive folder must stay out", keys(ids))
			}

			if got := syncOK(t, src); got[statFetched] != 0 || got[statStored] != 0 {
				t.Errorf("no-change pass stats %v: want nothing fetched", got)
			}

			srv.add("INBOX", message("in2@acme.test", "ann@acme.test", "bob@example.test", "More", now), now)
			if got := syncOK(t, src); got[statFetched] != 1 || got[statStored] != 1 {
				t.Errorf("incremental stats %v: want 1 fetched and stored", got)
			}
			if n := len(storedIDs(t, st)); n != 3 {
				t.Errorf("%d interactions after the incremental pass, want 3", n)
			}
		})
	}
}

// TestSyncUIDValidityChange re-reads a renumbered folder without storing
// a single duplicate.
func TestSyncUIDValidityChange(t *testing.T) {
	srv := newServer(t, serverOptions{specialUse: true})
	now := time.Now()
	msgs := [][]byte{
		message("a@acme.test", "ann@acme.test", "bob@example.test", "A", now.Add(-3*day)),
		message("", "ann@acme.test", "bob@example.test", "no id", now.Add(-2*day)),
	}
	for _, m := range msgs {
		srv.add("INBOX", m, now)
	}
	src, st := newSource(t, srv.addr, []string{"INBOX"})
	syncOK(t, src)
	before := storedIDs(t, st)

	srv.recreate("INBOX")
	for _, m := range msgs {
		srv.add("INBOX", m, now)
	}
	srv.add("INBOX", message("new@acme.test", "ann@acme.test", "bob@example.test", "New", now), now)
	got := syncOK(t, src)
	if got[statResets] != 1 || got[statFetched] != 3 || got[statStored] != 1 || got[statDuplicates] != 2 {
		t.Errorf("stats after uidvalidity change %v: want 1 reset, 3 fetched, 1 stored, 2 duplicates", got)
	}
	after := storedIDs(t, st)
	if len(after) != len(before)+1 {
		t.Errorf("interactions %v after re-read, want %v plus new@acme.test", keys(after), keys(before))
	}
}

// TestSyncSameMessageInTwoFolders stores a message seen in INBOX and in
// Gmail's All Mail (the \All folder) once.
func TestSyncSameMessageInTwoFolders(t *testing.T) {
	srv := newServer(t, serverOptions{specialUse: true})
	srv.create("[Gmail]/All Mail", `\All`)
	now := time.Now()
	m := message("both@acme.test", "ann@acme.test", "bob@example.test, carol@example.test", "Hi", now)
	srv.add("INBOX", m, now)
	srv.add("[Gmail]/All Mail", m, now)
	src, st := newSource(t, srv.addr, []string{"INBOX", `\All`})
	got := syncOK(t, src)
	if got[statFetched] != 2 || got[statStored] != 1 || got[statDuplicates] != 1 {
		t.Errorf("stats %v: want 2 fetched, 1 stored, 1 duplicate", got)
	}
	if n := len(storedIDs(t, st)); n != 1 {
		t.Errorf("%d interactions, want 1", n)
	}
}

// TestSyncFiltersAndMalformed stores filtered mail with its filter and
// counts what it cannot store.
func TestSyncFiltersAndMalformed(t *testing.T) {
	srv := newServer(t, serverOptions{specialUse: true})
	now := time.Now()
	srv.add("INBOX", message("list@lists.test", "dev@lists.test", "bob@example.test", "[dev] x", now, "List-Id: <dev.lists.test>"), now)
	srv.add("INBOX", message("ooo@acme.test", "ann@acme.test", "bob@example.test", "Away", now, "Auto-Submitted: auto-replied"), now)
	srv.add("INBOX", []byte("Subject: nobody\r\nDate: "+now.Format(time.RFC1123Z)+"\r\n\r\nbody\r\n"), now)
	src, st := newSource(t, srv.addr, []string{"INBOX"})
	got := syncOK(t, src)
	want := stats{statFetched: 3, statStored: 2, statMalformed: 1,
		statFiltered + string(cadence.List): 1, statFiltered + string(cadence.AutoReply): 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("stat %s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	ids := storedIDs(t, st)
	if f := ids["mid:ooo@acme.test"].Filter; f != cadence.AutoReply {
		t.Errorf("auto-reply stored with filter %q", f)
	}
}

// TestSyncConfiguredFolderMissing fails with the folder's name.
func TestSyncConfiguredFolderMissing(t *testing.T) {
	srv := newServer(t, serverOptions{specialUse: true})
	src, _ := newSource(t, srv.addr, []string{"INBOX", "Projects"})
	_, err := src.Sync(t.Context())
	if err == nil || !strings.Contains(err.Error(), `"Projects"`) || !strings.Contains(err.Error(), "sync bob") {
		t.Fatalf("err = %v, want one naming the account and the folder", err)
	}
	if err := src.Check(t.Context()); err == nil {
		t.Error("check passed with a missing folder")
	}
}

// TestAuth logs in with each mechanism a server may offer, and fails
// cleanly on a wrong secret without revealing it.
func TestAuth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mechs   []string
		auth    string
		secret  string
		wantErr bool
	}{
		{"plain", nil, config.AuthPlain, testPass, false},
		{"login command when AUTH=PLAIN is missing", []string{"XOAUTH2"}, config.AuthPlain, testPass, false},
		{"xoauth2", []string{"PLAIN", "XOAUTH2"}, config.AuthXOAuth2, testToken, false},
		{"xoauth2 bad token", []string{"PLAIN", "XOAUTH2"}, config.AuthXOAuth2, "expired-token", true},
		{"xoauth2 not offered", nil, config.AuthXOAuth2, testToken, true},
		{"wrong password", nil, config.AuthPlain, "wrong-pass", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, serverOptions{specialUse: true, mechs: tc.mechs})
			src, _ := newSource(t, srv.addr, nil)
			src.imap.Auth = tc.auth
			// The secret comes from a command, as an OAuth helper's would.
			src.imap.Password = config.Secret{Command: "echo " + tc.secret}
			err := src.Check(t.Context())
			if (err != nil) != tc.wantErr {
				t.Fatalf("check: %v, want error %t", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error reveals the secret: %v", err)
			}
		})
	}
}

// TestSyncKeepsConnection reuses one connection across passes and
// replaces it transparently when it died in between.
func TestSyncKeepsConnection(t *testing.T) {
	srv := newServer(t, serverOptions{specialUse: true})
	p := newProxy(t, srv.addr)
	src, _ := newSource(t, p.addr(), []string{"INBOX"})
	syncOK(t, src)
	syncOK(t, src)
	if n := p.accepted(); n != 1 {
		t.Errorf("%d connections for two passes, want 1", n)
	}
	p.cut() // the server restarts between passes
	syncOK(t, src)
	if n := p.accepted(); n != 2 {
		t.Errorf("%d connections after a cut, want 2", n)
	}
}

// TestSyncServerDown fails while the server is unreachable and recovers
// when it is back, keeping what was stored.
func TestSyncServerDown(t *testing.T) {
	srv := newServer(t, serverOptions{specialUse: true})
	now := time.Now()
	srv.add("INBOX", message("a@acme.test", "ann@acme.test", "bob@example.test", "A", now), now)
	p := newProxy(t, srv.addr)
	src, st := newSource(t, p.addr(), []string{"INBOX"})
	syncOK(t, src)
	p.down()
	srv.add("INBOX", message("b@acme.test", "ann@acme.test", "bob@example.test", "B", now), now)
	if _, err := src.Sync(t.Context()); err == nil || !strings.Contains(err.Error(), "sync bob") {
		t.Fatalf("sync with the server down: %v, want an error naming the account", err)
	}
	p.up()
	if got := syncOK(t, src); got[statStored] != 1 {
		t.Errorf("stats after recovery %v: want the new message stored", got)
	}
	if n := len(storedIDs(t, st)); n != 2 {
		t.Errorf("%d interactions, want 2", n)
	}
}

// TestSyncCheckpoints stores a large folder in several transactions, each
// with the state that covers it, so a pass cut short resumes where its
// last transaction ended: nothing lost, nothing stored twice.
func TestSyncCheckpoints(t *testing.T) {
	srv := newServer(t, serverOptions{specialUse: true})
	now := time.Now()
	const n = 50
	for i := range n {
		srv.add("INBOX", message(fmt.Sprintf("m%d@acme.test", i), "ann@acme.test", "bob@example.test", "M", now), now)
	}
	p := newProxy(t, srv.addr)
	src, st := newSource(t, p.addr(), []string{"INBOX"})
	src.batch = 10
	p.cutAfter(6000) // bytes from the server: mid-FETCH
	if _, err := src.Sync(t.Context()); err == nil {
		t.Fatal("sync survived a cut connection")
	}
	state, ok, err := st.FolderState(t.Context(), "bob", "INBOX")
	if err != nil || !ok {
		t.Fatalf("no checkpoint stored: %v", err)
	}
	partial := len(storedIDs(t, st))
	if partial == 0 || partial == n || int(state.UIDNext) != partial+1 {
		t.Errorf("after the cut: %d stored, UIDNEXT %d; want some but not all, and the state at the last stored UID", partial, state.UIDNext)
	}
	got := syncOK(t, src)
	if got[statFetched] != int64(n-partial) || got[statDuplicates] != 0 {
		t.Errorf("resumed pass stats %v: want the %d remaining messages and no duplicates", got, n-partial)
	}
	if len(storedIDs(t, st)) != n {
		t.Errorf("%d interactions after resuming, want %d", len(storedIDs(t, st)), n)
	}
}

func keys(m map[string]cadence.Interaction) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
