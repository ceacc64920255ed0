package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

func mail(id string, at time.Time, filter cadence.Filter, people ...string) cadence.Interaction {
	in := cadence.Interaction{Key: cadence.MailKey(id), Kind: cadence.Email, At: at, Subject: "Re: " + id,
		Sender: people[0], Account: "bob", MessageID: id, InReplyTo: "parent-" + id,
		References: []string{"root-" + id, "parent-" + id}, Filter: filter}
	for i, p := range people {
		role := cadence.To
		if i == 0 {
			role = cadence.From
		}
		in.Participants = append(in.Participants, cadence.Participant{Address: p, Name: "N " + p, Role: role})
	}
	return in
}

func TestFolderStateRoundTrip(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	if _, ok, err := s.FolderState(ctx, "bob", "INBOX"); ok || err != nil {
		t.Fatalf("FolderState of a new folder: ok %t, %v; want not found", ok, err)
	}
	want := FolderState{UIDValidity: 4000000000, UIDNext: 4000000001, HighestModSeq: 1 << 40}
	if _, err := s.SaveMail(ctx, "bob", "INBOX", nil, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.FolderState(ctx, "bob", "INBOX")
	if err != nil || !ok || got.SyncedAt.IsZero() {
		t.Fatalf("FolderState = %+v, %t, %v", got, ok, err)
	}
	got.SyncedAt = time.Time{}
	if got != want {
		t.Errorf("FolderState = %+v, want %+v (uint32 UIDs must survive the round trip)", got, want)
	}
	all, err := s.FolderStates(ctx, "bob")
	if err != nil || len(all) != 1 || all["INBOX"].UIDNext != want.UIDNext {
		t.Errorf("FolderStates = %v, %v", all, err)
	}
	if other, _ := s.FolderStates(ctx, "alice"); len(other) != 0 {
		t.Errorf("FolderStates(alice) = %v, want none", other)
	}
}

// TestSaveMailDeduplicates stores a message seen in two folders (and twice
// in one batch) once, with both sources and every participant.
func TestSaveMailDeduplicates(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a := mail("a@acme.test", at, cadence.Counts, "ann@acme.test", "bob@example.test")
	b := mail("b@acme.test", at, cadence.Bulk, "news@acme.test", "bob@example.test")
	res, err := s.SaveMail(ctx, "bob", "INBOX", []cadence.Interaction{a, b, a}, FolderState{UIDValidity: 1, UIDNext: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 2 || res.Filtered[cadence.Bulk] != 1 || len(res.Filtered) != 1 {
		t.Errorf("first save = %+v, want 2 created, 1 bulk", res)
	}
	// The copy in All Mail has one more recipient.
	a2 := a
	a2.Participants = append(append([]cadence.Participant{}, a.Participants...), cadence.Participant{Address: "carl@acme.test", Role: cadence.Cc})
	res, err = s.SaveMail(ctx, "bob", "[Gmail]/All Mail", []cadence.Interaction{a2}, FolderState{UIDValidity: 9, UIDNext: 2})
	if err != nil || res.Created != 0 {
		t.Fatalf("second save = %+v, %v; want nothing created", res, err)
	}
	ins, err := s.Interactions(ctx, time.Time{})
	if err != nil || len(ins) != 2 {
		t.Fatalf("Interactions = %d, %v; want 2", len(ins), err)
	}
	for _, in := range ins {
		if in.Key == a.Key && len(in.Participants) != 3 {
			t.Errorf("participants of a: %+v, want 3 (merged from both copies)", in.Participants)
		}
	}
	var sources int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM interaction_sources s JOIN interactions i ON i.id = s.interaction_id
		WHERE i.key = ?`, a.Key).Scan(&sources); err != nil || sources != 2 {
		t.Errorf("sources of a = %d, %v; want 2 (INBOX and All Mail)", sources, err)
	}
}

// TestSaveMailMatchesUpsert writes the same mail with SaveMail and with
// upsertInteraction: the stored result must be identical.
func TestSaveMailMatchesUpsert(t *testing.T) {
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var mails []cadence.Interaction
	for i := range 250 { // more than one multi-row statement
		mails = append(mails, mail(fmt.Sprintf("m%03d@acme.test", 249-i), at.Add(time.Duration(i)*time.Minute),
			[]cadence.Filter{cadence.Counts, cadence.List}[i%2], fmt.Sprintf("p%d@acme.test", i%7), "bob@example.test"))
	}
	batch := openTestStore(t)
	if _, err := batch.SaveMail(ctx, "bob", "INBOX", mails, FolderState{UIDValidity: 1, UIDNext: 251}); err != nil {
		t.Fatal(err)
	}
	single := openTestStore(t)
	err := single.tx(ctx, func(tx *sql.Tx) error {
		for _, in := range mails {
			if _, _, err := upsertInteraction(ctx, tx, in, "imap:INBOX", false, single.now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, want := dump(t, batch), dump(t, single)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SaveMail stored\n%v\nupsertInteraction stored\n%v", got[:3], want[:3])
	}
}

// dump returns every interaction with its sources, by key.
func dump(t *testing.T, s *Store) []string {
	t.Helper()
	ins, err := s.Interactions(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range ins {
		var srcs string
		if err := s.db.QueryRow(`SELECT group_concat(s.account || '/' || s.locator) FROM interaction_sources s
			JOIN interactions i ON i.id = s.interaction_id WHERE i.key = ?`, in.Key).Scan(&srcs); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%+v %s", in, srcs))
	}
	return out
}

// TestSaveMailIsAtomic stores neither the mails nor the state when any
// part of the batch fails.
func TestSaveMailIsAtomic(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	good := mail("ok@acme.test", at, cadence.Counts, "ann@acme.test")
	bad := mail("bad@acme.test", at, cadence.Counts, "ann@acme.test")
	bad.Key = ""
	if _, err := s.SaveMail(ctx, "bob", "INBOX", []cadence.Interaction{good, bad}, FolderState{UIDValidity: 1, UIDNext: 3}); err == nil {
		t.Fatal("SaveMail accepted an interaction without key")
	}
	if ins, _ := s.Interactions(ctx, time.Time{}); len(ins) != 0 {
		t.Errorf("%d interactions stored by a failed batch", len(ins))
	}
	if _, ok, _ := s.FolderState(ctx, "bob", "INBOX"); ok {
		t.Error("state stored by a failed batch")
	}
}
