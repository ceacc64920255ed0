package store

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// TestMigrationKeepsMail writes mail at every earlier version that can
// hold it and checks the rebuilt tables (v3) keep every interaction,
// participant and source, that each copy takes its interaction's filter
// (v4), that participants packed into their interaction (v5) are all
// there, and that the change log still follows a participant merged after
// the migration.
func TestMigrationKeepsMail(t *testing.T) {
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	mails := []cadence.Interaction{
		mail("a@acme.test", at, cadence.Counts, "ann@acme.test", "bob@example.test"),
		mail("b@acme.test", at.Add(time.Hour), cadence.Bulk, "news@acme.test", "bob@example.test", "carl@acme.test"),
	}
	// saveOld writes participants to their own table, which v5 dropped:
	// from v5 on, mail is written as it is now.
	for from := 1; from < 5; from++ {
		dir := t.TempDir()
		s, err := open(ctx, dir, from)
		if err != nil {
			t.Fatalf("open at version %d: %v", from, err)
		}
		saveOld(t, s, "bob", "INBOX", mails, 3)
		want := dumpOld(t, s)
		s.Close()
		if s, err = Open(ctx, dir); err != nil {
			t.Fatalf("migrate from %d: %v", from, err)
		}
		if got := dump(t, s); !reflect.DeepEqual(got, want) {
			t.Errorf("from %d: after migration\n%v\nwant\n%v", from, got, want)
		}
		var wrong int // copies whose filter is not their interaction's (v4)
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM interaction_sources s JOIN interactions i ON i.id = s.interaction_id
			WHERE s.filter != i.filter`).Scan(&wrong); err != nil || wrong != 0 {
			t.Errorf("from %d: %d copies with another filter than their interaction's (%v)", from, wrong, err)
		}
		if st, ok, err := s.FolderState(ctx, "bob", "INBOX"); err != nil || !ok || st.UIDNext != 3 {
			t.Errorf("from %d: folder state %+v, %t, %v; want UIDNext 3", from, st, ok, err)
		}
		pos, err := s.LoadInteractions(ctx, time.Time{}, func(int64, *cadence.Interaction) {})
		if err != nil {
			t.Fatal(err)
		}
		a := mails[0]
		a.Participants = append(a.Participants[:len(a.Participants):len(a.Participants)], cadence.Participant{Address: "dan@acme.test", Role: cadence.Cc})
		if _, err := s.SaveMail(ctx, "bob", "Archive", []cadence.Interaction{a}, FolderState{UIDValidity: 1, UIDNext: 2}); err != nil {
			t.Fatal(err)
		}
		var keys []string
		if _, err := s.ScanChanges(ctx, pos, func(_ int64, in *cadence.Interaction) { keys = append(keys, in.Key) }); err != nil ||
			!reflect.DeepEqual(keys, []string{a.Key}) {
			t.Errorf("from %d: changes after a merged participant %q, %v; want [%s]", from, keys, err, a.Key)
		}
		s.Close()
	}
}

// dumpOld is dump for the versions before 5, which kept participants in
// a table of their own.
func dumpOld(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.db.Query(`SELECT i.key, p.address, p.name, p.role, p.partstat FROM participants p
		JOIN interactions i ON i.id = p.interaction_id ORDER BY p.interaction_id, p.role, p.address`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	people := map[string][]cadence.Participant{}
	for rows.Next() {
		var key, role string
		var p cadence.Participant
		if err := rows.Scan(&key, &p.Address, &p.Name, &role, &p.PartStat); err != nil {
			t.Fatal(err)
		}
		p.Role = cadence.Role(role)
		people[key] = append(people[key], p)
	}
	// Interactions reads the packed column, absent before v5: add it,
	// packed as this test reads the table, without touching the rest.
	if _, err := s.db.Exec(`ALTER TABLE interactions ADD COLUMN people TEXT NOT NULL DEFAULT ''`); err != nil {
		t.Fatal(err)
	}
	for key, ps := range people {
		if _, err := s.db.Exec(`UPDATE interactions SET people = ? WHERE key = ?`, packPeople(ps), key); err != nil {
			t.Fatal(err)
		}
	}
	out := dump(t, s)
	if _, err := s.db.Exec(`ALTER TABLE interactions DROP COLUMN people`); err != nil {
		t.Fatal(err)
	}
	return out
}

// saveOld stores mails as the code of schema versions 1 to 4 did: the
// columns those versions share, one statement per row, and from version 4
// each copy's filter.
func saveOld(t *testing.T, s *Store, account, folder string, mails []cadence.Interaction, uidNext int) {
	t.Helper()
	version, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range mails {
		res, err := s.db.Exec(`INSERT INTO interactions (key, kind, at, subject, sender, account, message_id, filter, first_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.Key, string(in.Kind), ms(in.At), in.Subject, in.Sender, account,
			in.MessageID, string(in.Filter), ms(in.At))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		for _, p := range in.Participants {
			if _, err := s.db.Exec(`INSERT INTO participants (interaction_id, address, name, role) VALUES (?, ?, ?, ?)`,
				id, p.Address, p.Name, string(p.Role)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.db.Exec(`INSERT INTO interaction_sources (interaction_id, account, locator) VALUES (?, ?, ?)`,
			id, account, "imap:"+folder); err != nil {
			t.Fatal(err)
		}
		if version >= 4 {
			if _, err := s.db.Exec(`UPDATE interaction_sources SET filter = ? WHERE interaction_id = ?`, string(in.Filter), id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.db.Exec(`INSERT INTO imap_folders (account, folder, uid_validity, uid_next, synced_at) VALUES (?, ?, 1, ?, 0)`,
		account, folder, uidNext); err != nil {
		t.Fatal(err)
	}
}

// TestMigrationKeepsSilences: silences stored before v6 survive with no
// author, and new ones record theirs.
func TestMigrationKeepsSilences(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := open(ctx, dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if _, err := s.db.Exec(`INSERT INTO silences (id, customer_id, commitment, starts_at, ends_at, reason, created_at)
		VALUES ('sil_00000001', 'acme', '', ?, ?, 'holiday', ?)`, ms(start), ms(start.Add(time.Hour)), ms(start)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, dir); err != nil {
		t.Fatalf("migrate from 5: %v", err)
	}
	defer s.Close()
	added, err := s.AddSilence(ctx, cadence.Silence{CustomerID: "acme", StartsAt: start, EndsAt: start.Add(time.Hour), Author: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Silences(ctx, start, true)
	if err != nil || len(got) != 2 || got[0].ID != "sil_00000001" || got[0].Author != "" || got[0].Reason != "holiday" ||
		got[1].ID != added.ID || got[1].Author != "bob" {
		t.Errorf("silences after migration = %+v, %v; want the old one without author, then bob's", got, err)
	}
}

// TestMigrationMovesOutboxKeysToColumns: v8 reads the payloads of the
// outbox once: each delivery's order key and event type, each event's
// alert, and the sync failures announced but not recovered.
func TestMigrationMovesOutboxKeysToColumns(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := open(ctx, dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 3, 2, 9, 0, 0, 123_000_000, time.UTC)
	events := []struct{ id, typ, payload string }{
		{"c1", "commitment.slipped", `{"data":{"alert_id":"al1","customer":{"id":"acme"}}}`},
		{"f1", "sync.failing", `{"data":{"source":"imap:bob","failing_since":"2026-03-02T09:00:00.123Z"}}`},
		{"r1", "sync.recovered", `{"data":{"source":"imap:bob","failing_event_id":"f1"}}`},
		{"f2", "sync.failing", `{"data":{"source":"imap:bob","failing_since":"2026-03-02T09:00:00.123Z"}}`},
		{"f3", "sync.failing", `{"data":{"source":"caldav:eve","failing_since":"2026-03-01T00:00:00Z"}}`},
		{"r3", "sync.recovered", `{"data":{"source":"caldav:eve","failing_event_id":"f3"}}`},
		{"bad", "webhook.test", `{not json`},
	}
	for i, ev := range events {
		if _, err := s.db.Exec(`INSERT INTO events (id, type, created_at, payload) VALUES (?, ?, ?, ?)`,
			ev.id, ev.typ, ms(since)+int64(i), ev.payload); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec(`INSERT INTO deliveries (event_id, endpoint, state, next_attempt_at, created_at)
			VALUES (?, 'h1', 'pending', 0, 0)`, ev.id); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if s, err = Open(ctx, dir); err != nil {
		t.Fatalf("migrate from 7: %v", err)
	}
	defer s.Close()
	rows, err := s.db.Query(`SELECT d.event_id, d.event_type, d.order_key, e.alert_id FROM deliveries d
		JOIN events e ON e.id = d.event_id ORDER BY d.id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id, typ, key, alert string
		if err := rows.Scan(&id, &typ, &key, &alert); err != nil {
			t.Fatal(err)
		}
		got = append(got, id+" "+typ+" "+key+" "+alert)
	}
	rows.Close()
	want := []string{"c1 commitment.slipped acme al1", "f1 sync.failing imap:bob ", "r1 sync.recovered imap:bob ",
		"f2 sync.failing imap:bob ", "f3 sync.failing caldav:eve ", "r3 sync.recovered caldav:eve ", "bad webhook.test  "}
	if !slices.Equal(got, want) {
		t.Errorf("columns after migration:\n%q\nwant\n%q", got, want)
	}
	failures, err := s.SourceFailures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := failures["imap:bob"]
	if len(failures) != 1 || !ok || f.EventID != "f2" || !f.FailingSince.Equal(since) {
		t.Errorf("source failures after migration = %+v; want imap:bob's open f2 failing since %s", failures, since)
	}
}

// TestMigrationMakesCalDAVObjectsDue: objects stored before v9 have no
// known next instance: each is due once, at any window's end.
func TestMigrationMakesCalDAVObjectsDue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		where := b.where(t)
		s, err := b.openAt(ctx, where, 8)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec(`INSERT INTO caldav_objects (account, calendar, href, etag, uid) VALUES ('a', 'http://h/a/', '/a/x.ics', 'e1', 'x')`); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if s, err = b.openAt(ctx, where, latestVersion()); err != nil {
			t.Fatalf("migrate from 8: %v", err)
		}
		defer s.Close()
		due, err := s.CalDAVDue(ctx, "a", "http://h/a/", time.Unix(1, 0))
		if err != nil || len(due) != 1 || due["/a/x.ics"] != "e1" {
			t.Errorf("due after migration: %v, %v; want the old object", due, err)
		}
	})
}
