package store

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

func TestOpenMigratesAndReopens(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		s, err := Open(ctx, dir)
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil || v != latestVersion() {
			t.Fatalf("open #%d: schema version %d, %v; want %d", i, v, err, latestVersion())
		}
		var mode string
		if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
		}
		s.Close()
	}
}

// TestConcurrentFirstOpen: a CLI command and the daemon opening a fresh
// data_dir at the same moment both end with a migrated store; neither
// fails on a migration the other applied first.
func TestConcurrentFirstOpen(t *testing.T) {
	for round := 0; round < 10; round++ {
		dir := t.TempDir()
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				s, err := Open(t.Context(), dir)
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: concurrent open: %v", round, err)
			}
		}
	}
}

// TestMigrateFromEveryVersion builds the database at each earlier schema
// version (0 is an empty file), writes an interaction where the schema has
// one, and checks Open brings it to the latest version without losing it.
func TestMigrateFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for from := 0; from < latestVersion(); from++ {
		dir := t.TempDir()
		s, err := open(ctx, dir, from)
		if err != nil {
			t.Fatalf("open at version %d: %v", from, err)
		}
		want := 0
		if from >= 1 {
			if _, err := s.db.Exec(`INSERT INTO interactions (key, kind, at, account, first_seen) VALUES ('mid:x', 'email', ?, 'a', ?)`, ms(at), ms(at)); err != nil {
				t.Fatal(err)
			}
			want = 1
		}
		s.Close()
		s, err = Open(ctx, dir)
		if err != nil {
			t.Fatalf("migrate from %d: %v", from, err)
		}
		if v, _ := s.SchemaVersion(ctx); v != latestVersion() {
			t.Errorf("from %d: version %d, want %d", from, v, latestVersion())
		}
		got, err := s.Interactions(ctx, time.Time{})
		if err != nil || len(got) != want {
			t.Errorf("from %d: %d interactions (%v), want %d", from, len(got), err, want)
		}
		checkChangeLog(t, s, from, want)
		s.Close()
	}
}

// checkChangeLog: rows from before the change log (v2) are loaded in full;
// a change after the migration is in the log.
func checkChangeLog(t *testing.T, s *Store, from, want int) {
	t.Helper()
	ctx := t.Context()
	loaded := 0
	pos, err := s.LoadInteractions(ctx, time.Time{}, func(int64, *cadence.Interaction) { loaded++ })
	if err != nil || loaded != want {
		t.Errorf("from %d: loaded %d interactions (%v), want %d", from, loaded, err, want)
	}
	if _, err := s.db.Exec(`INSERT INTO interactions (key, kind, at, account, first_seen) VALUES ('mid:after', 'email', 1, 'a', 1)`); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if _, err := s.ScanChanges(ctx, pos, func(_ int64, in *cadence.Interaction) { keys = append(keys, in.Key) }); err != nil || len(keys) != 1 || keys[0] != "mid:after" {
		t.Errorf("from %d: changes after the migration %q, %v; want the new interaction", from, keys, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(t.Context(), dir); err == nil {
		t.Fatal("Open of a newer schema succeeded; want ErrNewerSchema")
	}
}

func TestUpsertInteractionDedupes(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	in := cadence.Interaction{Key: cadence.MailKey("a@x"), Kind: cadence.Email, At: at, Account: "alice",
		Subject: "Status", Sender: "bob@acme.com",
		Participants: []cadence.Participant{{Address: "bob@acme.com", Role: cadence.From}, {Address: "alice@us.com", Role: cadence.To}}}
	for _, loc := range []string{"imap:INBOX", "imap:Archive", "imap:INBOX"} {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			_, _, err := upsertInteraction(ctx, tx, in, loc, false, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Interactions(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Participants) != 2 || !got[0].At.Equal(at) || got[0].Subject != "Status" {
		t.Fatalf("got %+v; want one interaction with 2 participants", got)
	}
}
