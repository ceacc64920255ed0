package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

func TestCalDAVLocator(t *testing.T) {
	for _, tc := range []struct{ cal, href, want string }{
		{"http://h/alice/calendar/", "/alice/calendar/a.ics", "caldav:http://h/alice/calendar/a.ics"},
		{"http://h/alice/calendar", "/alice/calendar/a.ics", "caldav:http://h/alice/calendar/a.ics"},
		{"https://h:8443/dav/cal/", "/other/b.ics", "caldav:https://h:8443/dav/cal//other/b.ics"},
	} {
		if got := CalDAVLocator(tc.cal, tc.href); got != tc.want {
			t.Errorf("CalDAVLocator(%q, %q) = %q, want %q", tc.cal, tc.href, got, tc.want)
		}
	}
}

var calNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// meeting is an occurrence of uid at day offset d from calNow.
func meeting(uid string, d int, attendees ...string) cadence.Interaction {
	at := calNow.AddDate(0, 0, d)
	in := cadence.Interaction{Key: cadence.MeetingKey(uid, at), Kind: cadence.Meeting, At: at, End: at.Add(time.Hour), Subject: uid}
	for _, a := range attendees {
		in.Participants = append(in.Participants, cadence.Participant{Address: a, Role: cadence.Attendee, PartStat: "ACCEPTED"})
	}
	return in
}

// state renders the stored meetings as "key[accounts]" lines.
func state(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.db.Query(`SELECT i.key, ` + s.d.groupConcat("s.account", "','") + ` FROM interactions i
		LEFT JOIN interaction_sources s ON s.interaction_id = i.id GROUP BY i.id ORDER BY i.key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var key string
		var accts *string
		if err := rows.Scan(&key, &accts); err != nil {
			t.Fatal(err)
		}
		a := ""
		if accts != nil {
			parts := strings.Split(*accts, ",")
			slices.Sort(parts)
			a = strings.Join(parts, ",")
		}
		out = append(out, strings.TrimPrefix(key, "ev:")[:len(key)-3-len("T120000Z")]+"["+a+"]")
	}
	return out
}

func TestApplyCalDAV(t *testing.T) { forEachBackend(t, testApplyCalDAV) }

func testApplyCalDAV(t *testing.T, b backend) {
	const calA, calB = "http://h/a/cal/", "http://h/b/cal/"
	obj := func(href, etag string, occ ...cadence.Interaction) CalDAVObject {
		return CalDAVObject{Href: href, ETag: etag, UID: strings.TrimSuffix(href, ".ics"), Occurrences: occ}
	}
	type step struct {
		ch   CalDAVChanges
		want []string // state after the step
		res  CalDAVResult
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"changed object drops future occurrences only", []step{
			{CalDAVChanges{Account: "a", Calendar: calA, Put: []CalDAVObject{obj("/a/cal/s.ics", "1", meeting("s", -14), meeting("s", -7), meeting("s", 7), meeting("s", 14))}},
				[]string{"s@20260601[a]", "s@20260608[a]", "s@20260622[a]", "s@20260629[a]"}, CalDAVResult{Created: 4}},
			// The series now ends before today and lost a past instance:
			// future ones go, the past one that happened stays.
			{CalDAVChanges{Account: "a", Calendar: calA, Put: []CalDAVObject{obj("/a/cal/s.ics", "2", meeting("s", -14))}},
				[]string{"s@20260601[a]", "s@20260608[a]"}, CalDAVResult{Updated: 1, Removed: 2}},
		}},
		{"deleted object keeps past meetings", []step{
			{CalDAVChanges{Account: "a", Calendar: calA, Put: []CalDAVObject{obj("/a/cal/x.ics", "1", meeting("x", -1), meeting("x", 1))}},
				[]string{"x@20260614[a]", "x@20260616[a]"}, CalDAVResult{Created: 2}},
			{CalDAVChanges{Account: "a", Calendar: calA, Delete: []string{"/a/cal/x.ics"}},
				[]string{"x@20260614[a]"}, CalDAVResult{Removed: 1}},
		}},
		{"same meeting on two calendars", []step{
			{CalDAVChanges{Account: "a", Calendar: calA, Put: []CalDAVObject{obj("/a/cal/m.ics", "1", meeting("m", 3, "c@cust.example"))}},
				[]string{"m@20260618[a]"}, CalDAVResult{Created: 1}},
			{CalDAVChanges{Account: "b", Calendar: calB, Put: []CalDAVObject{obj("/b/cal/other-name.ics", "9", meeting("m", 3, "d@cust.example"))}},
				[]string{"m@20260618[a,b]"}, CalDAVResult{Updated: 1}},
			{CalDAVChanges{Account: "a", Calendar: calA, Delete: []string{"/a/cal/m.ics"}},
				[]string{"m@20260618[b]"}, CalDAVResult{}},
			{CalDAVChanges{Account: "b", Calendar: calB, Delete: []string{"/b/cal/other-name.ics"}},
				nil, CalDAVResult{Removed: 1}},
		}},
		{"replay is idempotent", []step{
			{CalDAVChanges{Account: "a", Calendar: calA, Put: []CalDAVObject{obj("/a/cal/r.ics", "1", meeting("r", 2))}, Delete: []string{"/a/cal/gone.ics"}},
				[]string{"r@20260617[a]"}, CalDAVResult{Created: 1}},
			{CalDAVChanges{Account: "a", Calendar: calA, Put: []CalDAVObject{obj("/a/cal/r.ics", "1", meeting("r", 2))}, Delete: []string{"/a/cal/gone.ics"}},
				[]string{"r@20260617[a]"}, CalDAVResult{Updated: 1}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := b.open(t)
			for i, st := range tc.steps {
				res, err := s.ApplyCalDAV(context.Background(), st.ch, calNow)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got := state(t, s); fmt.Sprint(got) != fmt.Sprint(st.want) || res != st.res {
					t.Errorf("step %d: state %v result %+v, want %v %+v", i, got, res, st.want, st.res)
				}
			}
		})
	}
}

func TestApplyCalDAVParticipantsMerge(t *testing.T) {
	forEachStore(t, testApplyCalDAVParticipantsMerge)
}

func testApplyCalDAVParticipantsMerge(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, ch := range []CalDAVChanges{
		{Account: "a", Calendar: "http://h/a/", Put: []CalDAVObject{{Href: "/a/m.ics", ETag: "1", Occurrences: []cadence.Interaction{meeting("m", 3, "c@cust.example")}}}},
		{Account: "b", Calendar: "http://h/b/", Put: []CalDAVObject{{Href: "/b/m.ics", ETag: "1", Occurrences: []cadence.Interaction{meeting("m", 3, "d@cust.example")}}}},
	} {
		if _, err := s.ApplyCalDAV(ctx, ch, calNow); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Interactions(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || len(all[0].Participants) != 2 || all[0].Account != "a" {
		t.Errorf("got %+v; want one meeting first seen by a, with both attendees", all)
	}
}

// A failing change leaves nothing behind: no occurrence, ETag or state.
func TestApplyCalDAVAtomic(t *testing.T) { forEachStore(t, testApplyCalDAVAtomic) }

func testApplyCalDAVAtomic(t *testing.T, s *Store) {
	ctx := context.Background()
	bad := meeting("bad", 1)
	bad.Key = ""
	_, err := s.ApplyCalDAV(ctx, CalDAVChanges{Account: "a", Calendar: "http://h/a/",
		Put:   []CalDAVObject{{Href: "/a/ok.ics", ETag: "1", Occurrences: []cadence.Interaction{meeting("ok", 1)}}, {Href: "/a/bad.ics", ETag: "1", Occurrences: []cadence.Interaction{bad}}},
		State: &CalDAVCalendar{URL: "http://h/a/", SyncToken: "t1", CTag: "c1"}}, calNow)
	if err == nil {
		t.Fatal("no error for an occurrence without key")
	}
	etags, _ := s.CalDAVETags(ctx, "a", "http://h/a/")
	cals, _ := s.CalDAVCalendars(ctx, "a")
	if got := state(t, s); len(got) != 0 || len(etags) != 0 || len(cals) != 0 {
		t.Errorf("partial change stored: %v %v %v", got, etags, cals)
	}
}

func TestCalDAVStateAndForget(t *testing.T) { forEachStore(t, testCalDAVStateAndForget) }

func testCalDAVStateAndForget(t *testing.T, s *Store) {
	ctx := context.Background()
	const cal = "http://h/a/cal/"
	_, err := s.ApplyCalDAV(ctx, CalDAVChanges{Account: "a", Calendar: cal,
		Put:   []CalDAVObject{{Href: "/a/cal/1.ics", ETag: `"e1"`, UID: "one", Occurrences: []cadence.Interaction{meeting("one", -2), meeting("one", 2)}}},
		State: &CalDAVCalendar{URL: cal, SyncToken: "tok", CTag: "ctag", SyncedAt: calNow}}, calNow)
	if err != nil {
		t.Fatal(err)
	}
	cals, _ := s.CalDAVCalendars(ctx, "a")
	etags, _ := s.CalDAVETags(ctx, "a", cal)
	if len(cals) != 1 || cals[0] != (CalDAVCalendar{URL: cal, SyncToken: "tok", CTag: "ctag", SyncedAt: calNow}) || etags["/a/cal/1.ics"] != `"e1"` {
		t.Fatalf("state %+v etags %v", cals, etags)
	}
	n, err := s.ForgetCalDAVCalendar(ctx, "a", cal, calNow)
	if err != nil {
		t.Fatal(err)
	}
	cals, _ = s.CalDAVCalendars(ctx, "a")
	etags, _ = s.CalDAVETags(ctx, "a", cal)
	if got := state(t, s); n != 1 || len(cals) != 0 || len(etags) != 0 || fmt.Sprint(got) != "[one@20260613[a]]" {
		t.Errorf("after forget: removed %d, state %v, calendars %v, etags %v", n, got, cals, etags)
	}
}

// TestCalDAVDue: an object is due at a window's end when its next instance
// starts before it; both writers (the batch and, for a key twice in a
// batch, one by one) record the next instance, and a new one replaces it.
func TestCalDAVDue(t *testing.T) { forEachStore(t, testCalDAVDue) }

func testCalDAVDue(t *testing.T, s *Store) {
	ctx := context.Background()
	const calA, calB = "http://h/a/cal/", "http://h/a/other/"
	day := func(d int) time.Time { return calNow.AddDate(0, 0, d) }
	obj := func(href string, next time.Time, occ ...cadence.Interaction) CalDAVObject {
		return CalDAVObject{Href: "/a/cal/" + href, ETag: "e-" + href, UID: href, Occurrences: occ, Next: next}
	}
	apply := func(account, cal string, put []CalDAVObject, del ...string) {
		t.Helper()
		if _, err := s.ApplyCalDAV(ctx, CalDAVChanges{Account: account, Calendar: cal, Put: put, Delete: del}, calNow); err != nil {
			t.Fatal(err)
		}
	}
	due := func(end time.Time) string {
		t.Helper()
		got, err := s.CalDAVDue(ctx, "a", calA, end)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for href, etag := range got {
			out = append(out, href+"="+etag)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	apply("a", calA, []CalDAVObject{obj("soon.ics", day(1), meeting("soon", -1)), obj("later.ics", day(10)), obj("none.ics", time.Time{}, meeting("none", 3))})
	apply("a", calB, []CalDAVObject{obj("other.ics", day(1))})                      // another calendar
	apply("b", calA, []CalDAVObject{obj("soon.ics", day(1)), obj("b.ics", day(1))}) // another account
	// A key twice in one batch: written one by one (putCalDAVObject).
	apply("a", calA, []CalDAVObject{obj("dup1.ics", day(4), meeting("d", 2)), obj("dup2.ics", day(6), meeting("d", 2))})
	for _, tc := range []struct {
		end  time.Time
		want string
	}{
		{calNow, ""},
		{day(1), ""}, // an instance at the window's end is not inside it
		{day(1).Add(time.Millisecond), "/a/cal/soon.ics=e-soon.ics"},
		{day(5), "/a/cal/dup1.ics=e-dup1.ics /a/cal/soon.ics=e-soon.ics"},
		{day(11), "/a/cal/dup1.ics=e-dup1.ics /a/cal/dup2.ics=e-dup2.ics /a/cal/later.ics=e-later.ics /a/cal/soon.ics=e-soon.ics"},
	} {
		if got := due(tc.end); got != tc.want {
			t.Errorf("due at %s: %q, want %q", tc.end.Format(time.DateOnly), got, tc.want)
		}
	}
	// Expanded again: the new next instance replaces the old one, by both
	// writers; none at all is never due; a deleted object is gone.
	apply("a", calA, []CalDAVObject{obj("soon.ics", day(8), meeting("soon", -1)), obj("later.ics", time.Time{})}, "/a/cal/dup2.ics")
	apply("a", calA, []CalDAVObject{obj("dup1.ics", day(9), meeting("d", 2)), obj("dup1.ics", day(12), meeting("d", 2))})
	if got, want := due(day(11)), "/a/cal/soon.ics=e-soon.ics"; got != want {
		t.Errorf("due after expanding again: %q, want %q", got, want)
	}
}
