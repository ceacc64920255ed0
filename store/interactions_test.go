package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// render is what evaluation reads of an interaction, as one line.
func render(in *cadence.Interaction) string {
	if in == nil {
		return "deleted"
	}
	var ps []string
	for _, p := range in.Participants {
		ps = append(ps, string(p.Role)+":"+p.Address+":"+p.PartStat)
	}
	slices.Sort(ps)
	return fmt.Sprintf("%s %s %s-%s %q from %s re %s refs %v filter %q people %v", in.Key, in.Kind,
		in.At.Format("01-02T15:04"), in.End.Format("15:04"), in.Subject, in.Sender, in.InReplyTo, in.References, in.Filter, ps)
}

// changes reads the log after pos and returns the new position and what
// changed, by key ("deleted" for a gone row, keyed by ID then).
func changes(t *testing.T, s *Store, ids map[int64]string, pos int64) (int64, map[string]string) {
	t.Helper()
	got := map[string]string{}
	next, err := s.ScanChanges(t.Context(), pos, func(id int64, in *cadence.Interaction) {
		if in != nil {
			ids[id] = in.Key
		}
		got[ids[id]] = render(in)
	})
	if err != nil {
		t.Fatal(err)
	}
	return next, got
}

// TestChangeLogCoversEveryWriter runs the real writers (IMAP, CalDAV) one
// step after the other and checks that the log names exactly the
// interactions whose evaluated content changed, with their new state.
func TestChangeLogCoversEveryWriter(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	m1, m2 := mail("m1", at, "", "bob@cust.example", "alice@us.example"), mail("m2", at, cadence.List, "news@cust.example", "alice@us.example")
	const cal = "http://h/a/"
	put := func(account string, occ ...cadence.Interaction) CalDAVChanges {
		return CalDAVChanges{Account: account, Calendar: cal, Put: []CalDAVObject{{Href: "/a/m.ics", ETag: "1", UID: "m", Occurrences: occ}}}
	}
	moved := meeting("m", 4, "c@cust.example")
	moved.Key = meeting("m", 3).Key // same occurrence, rescheduled
	steps := []struct {
		name  string
		write func() error
		want  []string // keys reported, sorted
	}{
		{"new mail", func() error {
			_, err := s.SaveMail(ctx, "bob", "INBOX", []cadence.Interaction{m1, m2}, FolderState{UIDValidity: 1, UIDNext: 3})
			return err
		}, []string{m1.Key, m2.Key}},
		{"the same mail in another folder", func() error {
			_, err := s.SaveMail(ctx, "bob", "Archive", []cadence.Interaction{m1}, FolderState{UIDValidity: 1, UIDNext: 2})
			return err
		}, nil},
		{"the same mail with one more participant", func() error {
			more := m1
			more.Participants = append(slices.Clone(m1.Participants), cadence.Participant{Address: "carol@cust.example", Role: cadence.Cc})
			_, err := s.SaveMail(ctx, "carol", "INBOX", []cadence.Interaction{more}, FolderState{UIDValidity: 1, UIDNext: 2})
			return err
		}, []string{m1.Key}},
		{"a new meeting", func() error {
			_, err := s.ApplyCalDAV(ctx, put("a", meeting("m", 3, "c@cust.example")), calNow)
			return err
		},
			[]string{meeting("m", 3).Key}},
		{"the same meeting fetched again", func() error {
			_, err := s.ApplyCalDAV(ctx, put("a", meeting("m", 3, "c@cust.example")), calNow)
			return err
		}, nil},
		{"a colleague's copy with another attendee", func() error {
			ch := put("b", meeting("m", 3, "d@cust.example"))
			ch.Calendar = "http://h/b/"
			_, err := s.ApplyCalDAV(ctx, ch, calNow)
			return err
		}, []string{meeting("m", 3).Key}},
		{"an attendee declines", func() error {
			m := meeting("m", 3, "c@cust.example")
			m.Participants[0].PartStat = "DECLINED"
			_, err := s.ApplyCalDAV(ctx, put("a", m), calNow)
			return err
		}, []string{meeting("m", 3).Key}},
		{"rescheduled", func() error { _, err := s.ApplyCalDAV(ctx, put("a", moved), calNow); return err },
			[]string{meeting("m", 3).Key}},
		{"the object is deleted by one colleague: one source fewer carries it", func() error {
			_, err := s.ApplyCalDAV(ctx, CalDAVChanges{Account: "a", Calendar: cal, Delete: []string{"/a/m.ics"}}, calNow)
			return err
		}, []string{meeting("m", 3).Key}},
		{"and by the other: the planned meeting goes", func() error {
			_, err := s.ApplyCalDAV(ctx, CalDAVChanges{Account: "b", Calendar: "http://h/b/", Delete: []string{"/a/m.ics"}}, calNow)
			return err
		}, []string{meeting("m", 3).Key}},
	}
	ids := map[int64]string{}
	pos, err := s.LoadInteractions(ctx, time.Time{}, func(int64, *cadence.Interaction) {})
	if err != nil || pos != 0 {
		t.Fatalf("LoadInteractions of an empty store: position %d, %v", pos, err)
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var got map[string]string
		pos, got = changes(t, s, ids, pos)
		if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, st.want) {
			t.Errorf("%s: changes %v, want %v", st.name, keys, st.want)
		}
		// What is reported is the row as it is now.
		want := map[string]string{}
		all, _ := s.Interactions(ctx, time.Time{})
		for i := range all {
			if _, ok := got[all[i].Key]; ok {
				want[all[i].Key] = render(&all[i])
			}
		}
		for k, v := range got {
			if v == "deleted" {
				want[k] = v
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: reported %v, stored %v", st.name, got, want)
		}
	}
}

// TestLoadInteractionsMatchesInteractions: the streaming load reads the
// counted interactions in the window as Interactions does.
func TestLoadInteractionsMatchesInteractions(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	mails := []cadence.Interaction{
		mail("old", at.Add(-48*time.Hour), "", "bob@cust.example", "alice@us.example"),
		mail("a", at, "", "bob@cust.example", "alice@us.example", "carol@cust.example"),
		mail("b", at.Add(time.Hour), "", "alice@us.example", "bob@cust.example"),
		mail("bulk", at, cadence.Bulk, "news@cust.example", "alice@us.example"),
	}
	mails[2].References, mails[2].InReplyTo = nil, ""
	if _, err := s.SaveMail(ctx, "bob", "INBOX", mails, FolderState{UIDValidity: 1, UIDNext: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyCalDAV(ctx, CalDAVChanges{Account: "a", Calendar: "http://h/a/", Put: []CalDAVObject{{Href: "/a/m.ics",
		Occurrences: []cadence.Interaction{meeting("m", 3, "c@cust.example", "d@cust.example")}}}}, calNow); err != nil {
		t.Fatal(err)
	}
	since := at.Add(-time.Hour)
	var got []string
	pos, err := s.LoadInteractions(ctx, since, func(_ int64, in *cadence.Interaction) { got = append(got, render(in)) })
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Interactions(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range all {
		if all[i].Filter == cadence.Counts {
			want = append(want, render(&all[i]))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || len(got) != 3 {
		t.Errorf("LoadInteractions read\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if latest, _ := s.changeSeq(ctx); pos != latest || pos == 0 {
		t.Errorf("position %d, want the log's latest, %d", pos, latest)
	}
}

// TestPruneChanges: pruning keeps the newest row, so positions are never
// reused; a reader behind the pruned part is told to load everything.
func TestPruneChanges(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	save := func(id string) {
		t.Helper()
		if _, err := s.SaveMail(ctx, "bob", "INBOX", []cadence.Interaction{mail(id, at, "", "bob@cust.example")}, FolderState{UIDValidity: 1}); err != nil {
			t.Fatal(err)
		}
	}
	save("a")
	save("b")
	latest, _ := s.changeSeq(ctx)
	if n, err := s.PruneChanges(ctx, latest); err != nil || n != latest-1 {
		t.Fatalf("PruneChanges = %d, %v; want %d rows, the newest kept", n, err, latest-1)
	}
	if got, _ := s.changeSeq(ctx); got != latest {
		t.Fatalf("position after pruning = %d, want %d", got, latest)
	}
	save("c")
	tests := []struct {
		name   string
		after  int64
		pruned bool
		keys   []string
	}{
		{name: "up to date before the prune", after: latest, keys: []string{cadence.MailKey("c")}},
		{name: "one behind the kept row", after: latest - 1, keys: []string{cadence.MailKey("b"), cadence.MailKey("c")}},
		{name: "behind the pruned part", after: latest - 2, pruned: true},
		{name: "ahead of the log (restored backup)", after: latest + 100, pruned: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var keys []string
			_, err := s.ScanChanges(ctx, tc.after, func(_ int64, in *cadence.Interaction) { keys = append(keys, in.Key) })
			if pruned := errors.Is(err, ErrChangesPruned); pruned != tc.pruned || (err != nil && !pruned) {
				t.Fatalf("err = %v, want pruned %v", err, tc.pruned)
			}
			if !tc.pruned && !slices.Equal(keys, tc.keys) {
				t.Errorf("changes %q, want %q", keys, tc.keys)
			}
		})
	}
}

// BenchmarkLoadInteractions: the streaming load of 100,000 mails with two
// participants each, per interaction; and the change-log overhead on
// SaveMail, the bulk writer.
func BenchmarkLoadInteractions(b *testing.B) {
	s, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 100_000
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	mails := make([]cadence.Interaction, n)
	for i := range mails {
		from, to := "alice@us.example", fmt.Sprintf("p%d@c%03d.example", i%4, i%500)
		if i%2 == 0 {
			from, to = to, from
		}
		mails[i] = mail(fmt.Sprintf("%d.bench", i), at.Add(-time.Duration(i)*time.Minute), "", from, to)
	}
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		if _, err := s.SaveMail(b.Context(), "alice", "INBOX", mails[i:i+1000], FolderState{UIDValidity: 1}); err != nil {
			b.Fatal(err)
		}
	}
	save := time.Since(start)
	b.ResetTimer()
	for b.Loop() {
		count := 0
		if _, err := s.LoadInteractions(b.Context(), time.Time{}, func(int64, *cadence.Interaction) { count++ }); err != nil || count != n {
			b.Fatalf("loaded %d, %v", count, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "load-µs/interaction")
	b.ReportMetric(float64(save.Microseconds())/n, "save-µs/interaction")
}
