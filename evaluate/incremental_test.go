package evaluate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

const (
	calendar   = "http://127.0.0.1:5232/alice/calendar/"
	sentFolder = "Sent"
)

// planned is an occurrence of the event uid at start, as the CalDAV
// source stores it; the key stays the occurrence's original start.
func planned(uid string, original, start time.Time, attendees ...string) cadence.Interaction {
	in := meetingWith(uid, start, "Review", attendees...)
	in.Key, in.Account = cadence.MeetingKey(uid, original), "alice"
	return in
}

// views renders everything the queries show, for comparison.
func views(t *testing.T, r *Runner, at time.Time) string {
	t.Helper()
	cs, err := r.Customers(t.Context(), at)
	if err != nil {
		t.Fatal(err)
	}
	out := []any{cs}
	for _, c := range cs {
		d, err := r.Customer(t.Context(), c.ID, at)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRunIncrementalMatchesFullLoad: the sources change the store between
// passes (new mail, a meeting rescheduled, a planned meeting deleted); the
// Runner reads only the changes, and what it evaluates and records equals
// what a Runner loading everything afresh finds.
func TestRunIncrementalMatchesFullLoad(t *testing.T) {
	f := newFixture(t)
	f.history()
	ctx := t.Context()
	review := tb("2026-03-20 10:00")
	steps := []struct {
		name    string
		write   func() error
		meeting time.Time // the planned meeting with globex; zero: none
	}{
		{"nothing changed", func() error { return nil }, time.Time{}},
		{"a reply is sent", func() error {
			m := mailFrom("r1@us.example", tb("2026-03-09 10:30"), "alice@us.example", "bob@acme.com", "Re: Question about the invoice")
			m.InReplyTo, m.Account = "q1@acme.com", "alice"
			_, err := f.st.SaveMail(ctx, "alice", sentFolder, []cadence.Interaction{m}, store.FolderState{UIDValidity: 1, UIDNext: 2})
			return err
		}, time.Time{}},
		{"a meeting is planned", func() error {
			return f.putMeeting(planned("review", review, review, "jane@globex.example"))
		}, review},
		{"the meeting is moved", func() error {
			return f.putMeeting(planned("review", review, review.Add(26*time.Hour), "jane@globex.example"))
		}, review.Add(26 * time.Hour)},
		{"the planned meeting is deleted", func() error {
			_, err := f.st.ApplyCalDAV(ctx, store.CalDAVChanges{Account: "alice", Calendar: calendar, Delete: []string{"/alice/calendar/review.ics"}}, f.now)
			return err
		}, time.Time{}},
		{"a status mail from before the window opens", func() error {
			m := mailFrom("s0@us.example", tb("2024-01-08 10:00"), "alice@us.example", "bob@acme.com", "Status week 2")
			m.Account = "alice"
			_, err := f.st.SaveMail(ctx, "alice", sentFolder, []cadence.Interaction{m}, store.FolderState{UIDValidity: 1, UIDNext: 3})
			return err
		}, time.Time{}},
	}
	if err := f.r.Run(ctx, f.now); err != nil {
		t.Fatal(err)
	}
	book := f.r.book
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		f.now = f.now.Add(time.Hour)
		f.synced(f.now, "imap:alice", "caldav:alice")
		fresh := New(f.cfg, f.st, zap.NewNop())
		fresh.Now = f.r.Now
		// A query reads the changes as well as a pass.
		if got, want := views(t, f.r, time.Time{}), views(t, fresh, time.Time{}); got != want {
			t.Fatalf("%s: the views differ from a full load:\n%s\nwant\n%s", st.name, got, want)
		}
		if err := f.r.Run(ctx, f.now); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if f.r.book != book {
			t.Fatalf("%s: the runner loaded everything again; want it to read the changes", st.name)
		}
		var next time.Time
		for _, c := range f.r.hist.Contacts("globex") {
			if c.At.After(f.now) {
				next = c.At
			}
		}
		if !next.Equal(st.meeting) {
			t.Errorf("%s: planned meeting at %v, want %v", st.name, next, st.meeting)
		}
		for _, c := range f.cfg.Customers {
			got, want := f.r.hist.Contacts(c.ID), mustHistory(t, fresh, f.now).Contacts(c.ID)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %s holds\n%+v\nwant\n%+v", st.name, c.ID, got, want)
			}
		}
		// The alerts the pass recorded are what a full load finds: a fresh
		// runner's pass changes nothing.
		before := f.openAlerts()
		if err := fresh.Run(ctx, f.now); err != nil {
			t.Fatal(err)
		}
		if after := f.openAlerts(); !reflect.DeepEqual(before, after) {
			t.Fatalf("%s: a full load changed the alerts from %q to %q", st.name, before, after)
		}
	}
}

// mustHistory loads a fresh runner's history as of now.
func mustHistory(t *testing.T, r *Runner, now time.Time) *cadence.History {
	t.Helper()
	h, err := r.history(t.Context(), now.Add(-r.window()), true)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (f *fixture) putMeeting(m cadence.Interaction) error {
	_, err := f.st.ApplyCalDAV(f.t.Context(), store.CalDAVChanges{Account: "alice", Calendar: calendar,
		Put: []store.CalDAVObject{{Href: "/alice/calendar/review.ics", ETag: m.At.String(), UID: "review", Occurrences: []cadence.Interaction{m}}}}, f.now)
	return err
}

// TestRunReloadsWhenTheChangeLogIsPruned: another process pruned the log
// past what this runner read; it loads everything again and misses
// nothing.
func TestRunReloadsWhenTheChangeLogIsPruned(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now, "imap:alice", "caldav:alice")
	ctx := t.Context()
	if err := f.r.Run(ctx, f.now); err != nil {
		t.Fatal(err)
	}
	book := f.r.book
	f.seed(mailFrom("s2@us.example", tb("2026-03-09 09:30"), "alice@us.example", "bob@acme.com", "Status week 11"))
	f.seed(mailFrom("x@us.example", tb("2026-03-09 09:40"), "alice@us.example", "jane@globex.example", "Hello"))
	latest, err := f.st.LoadInteractions(ctx, f.now, func(int64, *cadence.Interaction) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.PruneChanges(ctx, latest); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Run(ctx, f.now); err != nil {
		t.Fatal(err)
	}
	if f.r.book == book {
		t.Error("the runner kept its interactions; want them loaded again")
	}
	if got := len(f.r.hist.Contacts("acme")); got != 3 {
		t.Errorf("acme has %d contacts, want 3 (the status mail included)", got)
	}
	if got := f.openAlerts(); !reflect.DeepEqual(got, []string{"globex/next_meeting slipped"}) {
		t.Errorf("alerts %q; want the status mail to have resolved acme's", got)
	}
}

// TestQueriesDoNotMoveTheWindow: a forecast reads a later window than the
// passes; the next pass still has what it needs without loading again.
func TestQueriesDoNotMoveTheWindow(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now, "imap:alice", "caldav:alice")
	ctx := t.Context()
	if err := f.r.Run(ctx, f.now); err != nil {
		t.Fatal(err)
	}
	book, from := f.r.book, f.r.hist.From()
	if _, err := f.r.Customers(ctx, f.now.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if f.r.book != book || !f.r.hist.From().Equal(from) {
		t.Errorf("a forecast changed the kept window from %v to %v", from, f.r.hist.From())
	}
	// A query for an earlier window than the runner keeps loads it apart.
	past, err := f.r.Customers(ctx, f.now.AddDate(-1, 0, 0))
	if err != nil || f.r.book != book {
		t.Fatalf("a query of the past: %v, book kept %v", err, f.r.book == book)
	}
	if len(past) != 3 || past[0].LastContactAt != nil {
		t.Errorf("a year ago acme had no contact yet: %+v", past[0])
	}
}

// TestQueriesDuringPasses: the API answers queries while the scheduler
// runs passes and the sources store mail; run with -race.
func TestQueriesDuringPasses(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now, "imap:alice", "caldav:alice")
	ctx := t.Context()
	done := make(chan error)
	go func() {
		for range 20 {
			if _, err := f.r.Customer(ctx, "acme", time.Time{}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range 10 {
		m := mailFrom(fmt.Sprintf("c%d@acme.com", i), tb("2026-03-09 08:00").Add(time.Duration(i)*time.Minute),
			"bob@acme.com", "alice@us.example", "Question")
		m.Account = "alice"
		if _, err := f.st.SaveMail(ctx, "alice", "INBOX", []cadence.Interaction{m}, store.FolderState{UIDValidity: 1}); err != nil {
			t.Fatal(err)
		}
		if err := f.r.Run(ctx, f.now); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	d, err := f.r.Customer(ctx, "acme", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Contacts30d != 12 {
		t.Errorf("acme has %d contacts in 30 days, want 12 (2 + 10 new)", d.Contacts30d)
	}
}
