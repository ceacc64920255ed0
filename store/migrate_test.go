package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// TestMigrationKeepsMail writes mail at every earlier version that can
// hold it and checks the rebuilt tables (v3) keep every interaction,
// participant and source, and that the change log still follows a
// participant merged after the migration.
func TestMigrationKeepsMail(t *testing.T) {
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	mails := []cadence.Interaction{
		mail("a@acme.test", at, cadence.Counts, "ann@acme.test", "bob@example.test"),
		mail("b@acme.test", at.Add(time.Hour), cadence.Bulk, "news@acme.test", "bob@example.test", "carl@acme.test"),
	}
	for from := 1; from < latestVersion(); from++ {
		dir := t.TempDir()
		s, err := open(ctx, dir, from)
		if err != nil {
			t.Fatalf("open at version %d: %v", from, err)
		}
		if _, err := s.SaveMail(ctx, "bob", "INBOX", mails, FolderState{UIDValidity: 1, UIDNext: 3}); err != nil {
			t.Fatalf("save at version %d: %v", from, err)
		}
		want := dump(t, s)
		s.Close()
		if s, err = Open(ctx, dir); err != nil {
			t.Fatalf("migrate from %d: %v", from, err)
		}
		if got := dump(t, s); !reflect.DeepEqual(got, want) {
			t.Errorf("from %d: after migration\n%v\nwant\n%v", from, got, want)
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
