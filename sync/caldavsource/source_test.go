package caldavsource

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
)

var testNow = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

func utcStamp(t time.Time) string { return ":" + t.UTC().Format("20060102T150405Z") }

// memAlice is an in-process server where alice has a work calendar, a
// private one and a task list.
func memAlice(t *testing.T) (*memServer, string, string) {
	srv := newMemServer(t, map[string]string{"alice": "alice-pass", "bob": "bob-pass"})
	work := srv.addCalendar("alice", "work", "Work", "VEVENT")
	private := srv.addCalendar("alice", "private", "Private", "VEVENT", "VTODO")
	srv.addCalendar("alice", "tasks", "Tasks", "VTODO")
	return srv, work, private
}

func TestSyncInProcess(t *testing.T) {
	srv, work, private := memAlice(t)
	past, future := testNow.AddDate(0, 0, -20), testNow.AddDate(0, 0, 10)
	srv.put(t, work+"series.ics", vevent("series@x", utcStamp(past), utcStamp(past.Add(time.Hour)), "Weekly",
		[]string{"RRULE:FREQ=WEEKLY;COUNT=5"}))
	srv.put(t, work+"cancelled.ics", vevent("cancelled@x", utcStamp(future), utcStamp(future.Add(time.Hour)), "Off", []string{"STATUS:CANCELLED"}))
	srv.put(t, private+"personal.ics", strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x", "BEGIN:VEVENT",
		"UID:dentist@x", "DTSTAMP:20260101T000000Z", "DTSTART" + utcStamp(future), "SUMMARY:Dentist", "END:VEVENT", "END:VCALENDAR", ""}, "\r\n"))
	st := openStore(t, t.TempDir())
	src := newSource(t, account(t, "alice", "alice@example.test", srv.URL, "alice", "alice-pass"), st, testNow)

	stats := syncOK(t, src)
	m := meetings(t, st)
	if got := keys(m); len(got) != 6 {
		t.Fatalf("stored %v, want 5 series occurrences and the cancelled meeting", got)
	}
	want := map[string]int64{"calendars": 2, "calendars_skipped_no_events": 1, "fetched": 3, "skipped_no_attendees": 1, "stored": 6}
	for k, v := range want {
		if stats[k] != v {
			t.Errorf("stats[%s] = %d, want %d (all %v)", k, stats[k], v, stats)
		}
	}
	in := m[cadence.MeetingKey("series@x", past.AddDate(0, 0, 7))]
	var got []string
	for _, p := range in.Participants {
		got = append(got, fmt.Sprintf("%s %s %s %q", p.Role, p.Address, p.PartStat, p.Name))
	}
	wantP := `[attendee alice@example.test ACCEPTED "" attendee carla@customer.example ACCEPTED "Carla Customer" organizer alice@example.test  "Alice"]`
	if in.Sender != "alice@example.test" || fmt.Sprint(got) != wantP {
		t.Errorf("sender %q, participants %v; want %s", in.Sender, got, wantP)
	}
	if f := m[cadence.MeetingKey("cancelled@x", future)].Filter; f != cadence.Cancelled {
		t.Errorf("cancelled meeting has filter %q", f)
	}

	// The pass after a first sync asks each calendar for its state once
	// (the first sync reads none), finds none and stops asking.
	syncOK(t, src)
	srv.takeRequests()
	stats = syncOK(t, src)
	reqs := srv.takeRequests()
	if stats["fetched"] != 0 || len(reqs) != 2 {
		t.Errorf("no-change pass against a server without ctag/sync-token: fetched %d, requests %v; want 0 and one ETag listing per calendar (the listed calendars are cached, and have no state to ask for)",
			stats["fetched"], reqs)
	}

	// A deleted object takes its future occurrences along; past ones stay.
	srv.remove(work + "series.ics")
	syncOK(t, src)
	if got := len(prefixed(meetings(t, st), "ev:series@x@")); got != 3 {
		t.Errorf("after deleting the series: %d occurrences, want the 3 past ones", got)
	}
}

func TestCalendarSelection(t *testing.T) {
	srv, work, private := memAlice(t)
	at := testNow.AddDate(0, 0, 3)
	srv.put(t, work+"a.ics", vevent("a@x", utcStamp(at), utcStamp(at.Add(time.Hour)), "A", nil))
	srv.put(t, private+"b.ics", vevent("b@x", utcStamp(at), utcStamp(at.Add(time.Hour)), "B", nil))
	for _, tc := range []struct {
		name      string
		calendars []string
		wantKeys  []string
		wantErr   string
	}{
		{"all", nil, []string{"ev:a@x@20260618T100000Z", "ev:b@x@20260618T100000Z"}, ""},
		{"display name", []string{"private"}, []string{"ev:b@x@20260618T100000Z"}, ""},
		{"path segment", []string{"work"}, []string{"ev:a@x@20260618T100000Z"}, ""},
		{"task list only", []string{"tasks"}, nil, "calendars not found: tasks"},
		{"missing", []string{"Work", "nope"}, []string{"ev:a@x@20260618T100000Z"}, "calendars not found: nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t, t.TempDir())
			src := newSource(t, account(t, "alice", "alice@example.test", srv.URL, "alice", "alice-pass", tc.calendars...), st, testNow)
			_, err := src.Sync(context.Background())
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("sync error %v, want %q", err, tc.wantErr)
			}
			if got := keys(meetings(t, st)); fmt.Sprint(got) != fmt.Sprint(tc.wantKeys) && len(got)+len(tc.wantKeys) > 0 {
				t.Errorf("stored %v, want %v", got, tc.wantKeys)
			}
			checkErr := src.Check(context.Background())
			if (checkErr != nil) != (tc.wantErr != "") {
				t.Errorf("check: %v, want error %v", checkErr, tc.wantErr != "")
			}
		})
	}
}

// TestBisect: a server that fails any multiget naming one object (as
// servers do when one object cannot be serialised) costs that object only.
func TestBisect(t *testing.T) {
	srv, work, _ := memAlice(t)
	for i := range 12 {
		at := testNow.AddDate(0, 0, i+1)
		srv.put(t, fmt.Sprintf("%sm%02d.ics", work, i), vevent(fmt.Sprintf("m%02d@x", i), utcStamp(at), utcStamp(at.Add(time.Hour)), "M", nil))
	}
	srv.failHref = "m07.ics"
	st := openStore(t, t.TempDir())
	src := newSource(t, account(t, "alice", "alice@example.test", srv.URL, "alice", "alice-pass", "work"), st, testNow)
	src.batch = 8
	stats, err := src.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "could not be fetched") {
		t.Errorf("sync error %v, want one object reported", err)
	}
	if n := len(meetings(t, st)); n != 11 || stats["skipped_fetch_error"] != 1 || stats["fetched"] != 11 {
		t.Errorf("stored %d meetings, stats %v; want 11 stored and 1 skipped", n, stats)
	}
	if cal := storedCalendar(t, st, srv.URL+work); cal.SyncedAt.IsZero() == false {
		t.Errorf("state advanced despite a failed object: %+v", cal)
	}
	srv.failHref = ""
	stats = syncOK(t, src)
	if n := len(meetings(t, st)); n != 12 || stats["fetched"] != 1 {
		t.Errorf("retry: %d meetings, fetched %d; want 12 and only the failed object", n, stats["fetched"])
	}
}

// TestSameMeetingTwoCalendars: alice's and bob's copies of one meeting
// are one interaction with both copies' participants; it stays while
// either calendar still has it.
func TestSameMeetingTwoCalendars(t *testing.T) {
	srv := newMemServer(t, map[string]string{"alice": "alice-pass", "bob": "bob-pass"})
	aw, bw := srv.addCalendar("alice", "work", "Work", "VEVENT"), srv.addCalendar("bob", "work", "Work", "VEVENT")
	at := testNow.AddDate(0, 0, 2)
	aliceCopy := vevent("shared@x", utcStamp(at), utcStamp(at.Add(time.Hour)), "Kickoff", []string{"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.test"})
	bobCopy := vevent("shared@x", utcStamp(at), utcStamp(at.Add(time.Hour)), "Kickoff",
		[]string{"ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.test", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:dan@customer.example"})
	srv.put(t, aw+"k.ics", aliceCopy)
	srv.put(t, bw+"kickoff.ics", bobCopy)
	st := openStore(t, t.TempDir())
	as := newSource(t, account(t, "alice", "alice@example.test", srv.URL, "alice", "alice-pass"), st, testNow)
	bs := newSource(t, account(t, "bob", "bob@example.test", srv.URL, "bob", "bob-pass"), st, testNow)
	syncOK(t, as)
	syncOK(t, bs)
	m := meetings(t, st)
	key := cadence.MeetingKey("shared@x", at)
	var addrs []string
	for _, p := range m[key].Participants {
		addrs = append(addrs, p.Address+"/"+string(p.Role)+"/"+p.PartStat)
	}
	if len(m) != 1 || len(addrs) != 5 || !strings.Contains(strings.Join(addrs, " "), "dan@customer.example") {
		t.Fatalf("stored %v with participants %v; want one meeting with both copies' participants", keys(m), addrs)
	}
	srv.remove(aw + "k.ics")
	syncOK(t, as)
	if _, ok := meetings(t, st)[key]; !ok {
		t.Fatal("meeting deleted although bob's calendar still has it")
	}
	srv.remove(bw + "kickoff.ics")
	syncOK(t, bs)
	if _, ok := meetings(t, st)[key]; ok {
		t.Error("planned meeting kept after both copies were deleted")
	}
}

// TestSecretsStayOut: a wrong password fails with a clear error; neither
// the error, the logs nor the store contain the password.
func TestSecretsStayOut(t *testing.T) {
	srv, work, _ := memAlice(t)
	srv.put(t, work+"a.ics", vevent("a@x", utcStamp(testNow.Add(time.Hour)), utcStamp(testNow.Add(2*time.Hour)), "A", nil))
	core, logs := observer.New(zapcore.DebugLevel)
	for _, pass := range []string{"wrong-secret-123", "alice-pass"} {
		dir := t.TempDir()
		st := openStore(t, dir)
		src, err := New(account(t, "alice", "alice@example.test", srv.URL, "alice", pass), configSync(t), time.UTC, st, zap.New(core))
		if err != nil {
			t.Fatal(err)
		}
		src.now = func() time.Time { return testNow }
		_, syncErr := src.Sync(context.Background())
		checkErr := src.Check(context.Background())
		wantFail := pass != "alice-pass"
		if (syncErr != nil) != wantFail || (checkErr != nil) != wantFail {
			t.Errorf("password %q: sync %v, check %v", pass, syncErr, checkErr)
		}
		if wantFail && !strings.Contains(syncErr.Error(), "401") {
			t.Errorf("error does not say what failed: %v", syncErr)
		}
		for _, e := range []error{syncErr, checkErr} {
			if e != nil && strings.Contains(e.Error(), pass) {
				t.Errorf("error reveals the password: %v", e)
			}
		}
		if fileContains(t, dir, pass) {
			t.Errorf("store files contain the password %q", pass)
		}
		for _, entry := range logs.All() {
			if strings.Contains(fmt.Sprint(entry.Message, entry.ContextMap()), pass) {
				t.Errorf("log reveals the password: %v", entry)
			}
		}
	}
}

func configSync(t *testing.T) config.Sync {
	return config.Sync{Backfill: mustSpan(t, "365d"), Horizon: mustSpan(t, "180d")}
}

// fileContains reports whether any file in dir contains s.
func fileContains(t *testing.T, dir, s string) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// TestWindowRefresh: objects whose next instance the moving window
// reaches are fetched again, and only those: a meeting beyond the
// horizon, the next instance of an open series, and, when the horizon is
// lengthened on reload, what the longer window takes in at once.
func TestWindowRefresh(t *testing.T) {
	srv, work, _ := memAlice(t)
	st := openStore(t, t.TempDir())
	src := newSource(t, account(t, "alice", "alice@example.test", srv.URL, "alice", "alice-pass", "work"), st, testNow)
	end := src.window(testNow).end // testNow + 180 days
	put := func(name string, at time.Time, extra ...string) {
		srv.put(t, work+name+".ics", vevent(name+"@x", utcStamp(at), utcStamp(at.Add(time.Hour)), name, extra))
	}
	put("far", end.Add(10*time.Hour))
	put("farther", end.AddDate(0, 0, 20))
	put("near", testNow.AddDate(0, 0, 1))
	put("ended", testNow.AddDate(0, 0, 1), "RRULE:FREQ=WEEKLY;COUNT=2")
	put("weekly", testNow.AddDate(0, 0, 3), "RRULE:FREQ=WEEKLY") // 25 weeks + 5 days: next at end + 5 days
	syncOK(t, src)
	weekly := func() int { return len(prefixed(meetings(t, st), "ev:weekly@x@")) }
	stored := func(name string, at time.Time) bool {
		_, ok := meetings(t, st)[cadence.MeetingKey(name+"@x", at)]
		return ok
	}
	before := weekly()
	if stored("far", end.Add(10*time.Hour)) || before != 26 {
		t.Fatalf("first sync: far meeting stored %v, weekly occurrences %d (want false, 26)", stored("far", end.Add(10*time.Hour)), before)
	}
	for _, step := range []struct {
		name    string
		after   time.Duration // since testNow
		horizon string
		fetched int64
		check   func() bool
	}{
		{"far meeting enters", 25 * time.Hour, "", 1, func() bool { return stored("far", end.Add(10*time.Hour)) }},
		{"nothing more due", 25 * time.Hour, "", 0, func() bool { return weekly() == before }},
		{"next weekly instance enters", 6 * 24 * time.Hour, "", 1, func() bool { return weekly() == before+1 }},
		{"horizon lengthened", 6 * 24 * time.Hour, "200d", 2, func() bool {
			return stored("farther", end.AddDate(0, 0, 20)) && weekly() == before+3
		}},
	} {
		src.now = func() time.Time { return testNow.Add(step.after) }
		if step.horizon != "" {
			src.sync.Horizon = mustSpan(t, step.horizon)
		}
		stats := syncOK(t, src)
		if stats["fetched"] != step.fetched || stats["due"] != step.fetched || !step.check() {
			t.Errorf("%s: fetched %d, due %d, check %v; want %d, %d, true (stats %v)",
				step.name, stats["fetched"], stats["due"], step.check(), step.fetched, step.fetched, stats)
		}
	}
}

// TestCalendarRemoved: the calendar list is cached between passes; a
// cached calendar without state (whose ETags are listed straight away)
// deleted on the server fails one pass with 404, and the next pass lists
// the home set again and forgets it (its future meetings go).
func TestCalendarRemoved(t *testing.T) {
	srv, work, private := memAlice(t)
	at := testNow.AddDate(0, 0, 3)
	srv.put(t, work+"a.ics", vevent("a@x", utcStamp(at), utcStamp(at.Add(time.Hour)), "A", nil))
	srv.put(t, private+"b.ics", vevent("b@x", utcStamp(at), utcStamp(at.Add(time.Hour)), "B", nil))
	st := openStore(t, t.TempDir())
	src := newSource(t, account(t, "alice", "alice@example.test", srv.URL, "alice", "alice-pass"), st, testNow)
	syncOK(t, src)
	syncOK(t, src) // learns that the calendars have no state to ask for
	srv.mu.Lock()
	delete(srv.calendars, private)
	delete(srv.objects, private)
	srv.mu.Unlock()
	if _, err := src.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("pass with a cached calendar gone: error %v, want a 404", err)
	}
	stats := syncOK(t, src)
	if got := keys(meetings(t, st)); stats["calendars"] != 1 || fmt.Sprint(got) != "[ev:a@x@20260618T100000Z]" {
		t.Errorf("after the calendar went: %d calendars, meetings %v; want 1 and only a@x", stats["calendars"], got)
	}
}
