package caldavsource

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/internal/testbed"
	"github.com/touchbase/touchbase/store"
)

const (
	alice     = "alice@example.test"
	alicePass = "alice-pass"
)

// server is one real CalDAV server of the test bed.
type server struct {
	name, url, calURL, user, pass string
	seed                          []string // extra testbed/seed arguments
	files                         func(env testbed.Env) string
}

func servers(env testbed.Env) []server {
	return []server{
		{name: "radicale", url: env["TESTBED_CALDAV_URL"], calURL: env["TESTBED_CALDAV_CALENDAR_URL"], user: alice, pass: alicePass,
			files: func(env testbed.Env) string {
				return filepath.Join(env["TESTBED_DIR"], "radicale", "collections", "collection-root", alice, "calendar")
			}},
		{name: "xandikos", url: env["TESTBED_XANDIKOS_URL"], calURL: env["TESTBED_XANDIKOS_CALENDAR_URL"], seed: []string{"--xandikos"},
			files: func(env testbed.Env) string {
				return filepath.Join(env["TESTBED_DIR"], "xandikos", "data", alice, "calendars", "calendar")
			}},
	}
}

// TestServers runs one scenario against real Radicale and Xandikos: a
// seeded calendar checked against an independent expansion (vobject and
// dateutil), a no-change pass, edits through the sync-collection path,
// the moving window taking in new occurrences, and a refused sync token.
func TestServers(t *testing.T) {
	env := testbed.Up(t)
	for _, srv := range servers(env) {
		t.Run(srv.name, func(t *testing.T) {
			if srv.url == "" {
				t.Skipf("test bed runs no %s", srv.name)
			}
			testbed.Seed(t, append([]string{"--user", alice, "--messages", "0", "--events", "150", "--reset"}, srv.seed...)...)
			st := openStore(t, t.TempDir())
			now := time.Now().UTC().Truncate(time.Second)
			src := newSource(t, account(t, "alice", alice, srv.url, srv.user, srv.pass), st, now)

			stats := syncOK(t, src)
			t.Logf("first sync: %v", stats)
			if stats["fetched"] != 150 || stats["skipped_malformed"] != 0 || stats["tz_unknown"] != 0 {
				t.Errorf("first sync fetched %d (want 150), malformed %d, tz_unknown %d", stats["fetched"], stats["skipped_malformed"], stats["tz_unknown"])
			}
			compareOccurrences(t, meetings(t, st), oracleExpansion(t, srv.files(env), src.window(now)))

			// The first sync read no state: this pass reads it and compares
			// ETags (nothing to fetch), and records it.
			stats = syncOK(t, src)
			if stats["fetched"] != 0 || stats["http_requests"] != 2 {
				t.Errorf("pass after the first sync: fetched %d, %d requests; want 0, 2 (the state PROPFIND and the ETag listing)",
					stats["fetched"], stats["http_requests"])
			}
			stats = syncOK(t, src)
			t.Logf("no-change sync: %v", stats)
			if stats["fetched"] != 0 || stats["http_requests"] != 1 || stats["calendars_unchanged"] != 1 {
				t.Errorf("no-change pass: fetched %d, %d requests, unchanged %d; want 0, 1 (the Depth-0 PROPFIND of the calendar), 1",
					stats["fetched"], stats["http_requests"], stats["calendars_unchanged"])
			}
			t.Run("edits", func(t *testing.T) { serverEdits(t, srv, src, st) })
			t.Run("window refresh", func(t *testing.T) { windowRefresh(t, srv, src, st, now) })
			t.Run("refused token", func(t *testing.T) { refusedToken(t, srv, src, st) })
		})
	}
}

func refusedToken(t *testing.T, srv server, src *Source, st *store.Store) {
	cal := storedCalendar(t, st, srv.calURL)
	cal.SyncToken += "-no-such-token"
	cal.CTag = "stale"
	if _, err := st.ApplyCalDAV(context.Background(), store.CalDAVChanges{Account: "alice", Calendar: srv.calURL, State: &cal}, time.Now()); err != nil {
		t.Fatal(err)
	}
	stats := syncOK(t, src)
	if stats["sync_token_refused"] != 1 || stats["fetched"] != 0 {
		t.Errorf("refused token: %v; want sync_token_refused 1 and nothing fetched (etags match)", stats)
	}
	if after := storedCalendar(t, st, srv.calURL); after.SyncToken == cal.SyncToken || after.CTag == "stale" {
		t.Errorf("state not repaired after fallback: %+v", after)
	}
}

// windowRefresh checks that occurrences entering the moving window appear
// although the calendar did not change: a meeting just beyond the horizon
// and the next instance of an open-ended weekly series. The pass reads the
// calendar's state and fetches the objects due with calendar-multiget:
// no calendar-query (the time-range query Radicale answers by expanding
// every series) and no sync-collection.
func windowRefresh(t *testing.T, srv server, src *Source, st *store.Store, now time.Time) {
	f := func(t time.Time) string { return ":" + t.Format("20060102T150405Z") }
	far := src.window(now).end.Add(20 * time.Hour).Truncate(time.Hour)
	weekly := now.Truncate(time.Hour).Add(2 * time.Hour)
	davDo(t, "PUT", srv.calURL+"refresh-far.ics", srv.user, srv.pass, vevent("refresh-far@test", f(far), f(far.Add(time.Hour)), "Far ahead", nil))
	davDo(t, "PUT", srv.calURL+"refresh-weekly.ics", srv.user, srv.pass,
		vevent("refresh-weekly@test", f(weekly), f(weekly.Add(time.Hour)), "Weekly", []string{"RRULE:FREQ=WEEKLY"}))
	syncOK(t, src)
	m := meetings(t, st)
	before := len(prefixed(m, "ev:refresh-weekly@test@"))
	if _, ok := m[cadence.MeetingKey("refresh-far@test", far)]; ok || before == 0 {
		t.Fatalf("before the refresh: far meeting stored %v, weekly occurrences %d", ok, before)
	}
	later := now.Add(50 * time.Hour)
	src.now = func() time.Time { return later }
	// Not the hourly home-set listing: this pass is about the window.
	relist := src.relistEvery
	src.relistEvery = 100 * time.Hour
	defer func() { src.now, src.relistEvery = func() time.Time { return now }, relist }()
	log := logRequests(t, src)
	stats := syncOK(t, src)
	t.Logf("refresh pass: requests %q, stats %v", log.seen, stats)
	if kinds := log.seen; len(kinds) < 2 || kinds[0] != "PROPFIND depth 0" ||
		slices.ContainsFunc(kinds[1:], func(k string) bool { return k != "REPORT calendar-multiget" }) {
		t.Errorf("refresh pass sent %q; want the state PROPFIND (depth 0), then calendar-multiget only", kinds)
	}
	m = meetings(t, st)
	if _, ok := m[cadence.MeetingKey("refresh-far@test", far)]; !ok {
		t.Errorf("meeting that entered the window not stored after the refresh (stats %v)", stats)
	}
	if after := len(prefixed(m, "ev:refresh-weekly@test@")); after <= before {
		t.Errorf("weekly series: %d occurrences after the refresh, %d before", after, before)
	}
	if stats["fetched"] > 60 || stats["due"] != stats["fetched"] {
		t.Errorf("refresh fetched %d objects, %d of them due; want only the due ones, at most 60", stats["fetched"], stats["due"])
	}
	davDo(t, "DELETE", srv.calURL+"refresh-far.ics", srv.user, srv.pass, "")
	davDo(t, "DELETE", srv.calURL+"refresh-weekly.ics", srv.user, srv.pass, "")
}

// serverEdits changes the calendar over HTTP and checks the next pass.
func serverEdits(t *testing.T, srv server, src *Source, st *store.Store) {
	calURL, user, pass := srv.calURL, srv.user, srv.pass
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 3)
	past := day.AddDate(0, 0, -11)
	f := func(t time.Time) string { return ":" + t.Format("20060102T150405Z") }
	// A weekly series that started 8 days ago at 09:00: two occurrences in
	// the past (8 and 1 days ago) whatever the time of day, four ahead.
	series := vevent("edit-series@test", f(past.Add(9*time.Hour)), f(past.Add(10*time.Hour)), "Weekly with Carla", []string{"RRULE:FREQ=WEEKLY;COUNT=6"})
	single := vevent("edit-single@test", f(day.Add(14*time.Hour)), f(day.Add(15*time.Hour)), "Planned review", nil)
	davDo(t, "PUT", calURL+"edit-series.ics", user, pass, series)
	davDo(t, "PUT", calURL+"edit-single.ics", user, pass, single)
	stats := syncOK(t, src)
	if stats["fetched"] != 2 || stats["sync_token_refused"] != 0 {
		t.Fatalf("after two PUTs: %v; want 2 fetched through sync-collection", stats)
	}
	m := meetings(t, st)
	seriesKeys := prefixed(m, "ev:edit-series@test@")
	if len(seriesKeys) != 6 {
		t.Fatalf("series has %d occurrences, want 6: %v", len(seriesKeys), seriesKeys)
	}
	// Move the single meeting by a day, end the series after its second
	// occurrence (both past), and check future ones vanish, past stay.
	moved := strings.Replace(single, f(day.Add(14*time.Hour)), f(day.Add(38*time.Hour)), 1)
	davDo(t, "PUT", calURL+"edit-single.ics", user, pass, moved)
	davDo(t, "PUT", calURL+"edit-series.ics", user, pass, strings.Replace(series, "COUNT=6", "COUNT=2", 1))
	syncOK(t, src)
	m = meetings(t, st)
	if _, ok := m[cadence.MeetingKey("edit-single@test", day.Add(14*time.Hour))]; ok {
		t.Error("moved meeting still planned at its old time")
	}
	if _, ok := m[cadence.MeetingKey("edit-single@test", day.Add(38*time.Hour))]; !ok {
		t.Error("moved meeting missing at its new time")
	}
	if n := len(prefixed(m, "ev:edit-series@test@")); n != 2 {
		t.Errorf("shortened series: %d occurrences stored, want the 2 past ones", n)
	}
	// Deleting the series keeps its past meetings; deleting the single
	// planned meeting removes it.
	davDo(t, "DELETE", calURL+"edit-series.ics", user, pass, "")
	davDo(t, "DELETE", calURL+"edit-single.ics", user, pass, "")
	stats = syncOK(t, src)
	m = meetings(t, st)
	if n := len(prefixed(m, "ev:edit-series@test@")); n != 2 || len(prefixed(m, "ev:edit-single@test@")) != 0 {
		t.Errorf("after deletes: series %d (want 2 past), single %d (want 0); stats %v", n, len(prefixed(m, "ev:edit-single@test@")), stats)
	}
}

func prefixed[V any](m map[string]V, prefix string) []string {
	var out []string
	for _, k := range keys(m) {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

func storedCalendar(t *testing.T, st *store.Store, url string) store.CalDAVCalendar {
	t.Helper()
	cals, err := st.CalDAVCalendars(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cals {
		if c.URL == url {
			return c
		}
	}
	t.Fatalf("no stored state for %s in %+v", url, cals)
	return store.CalDAVCalendar{}
}

// compareOccurrences checks the stored meetings against the oracle's keys
// and start times.
func compareOccurrences(t *testing.T, got map[string]cadence.Interaction, want map[string]time.Time) {
	t.Helper()
	var missing, extra, moved []string
	for k, at := range want {
		in, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case !in.At.Equal(at):
			moved = append(moved, k+" at "+in.At.String()+", oracle "+at.String())
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	t.Logf("%d occurrences stored, %d expected by the oracle", len(got), len(want))
	if len(missing)+len(extra)+len(moved) > 0 || len(want) == 0 {
		t.Errorf("occurrences differ from the oracle:\nmissing %v\nextra %v\nwrong start %v", missing, extra, moved)
	}
}

// oracleExpansion runs testdata/expand_oracle.py (vobject + dateutil, an
// independent RRULE/RDATE/EXDATE implementation; overrides applied there)
// over the calendar's files and returns the keys it expects.
func oracleExpansion(t *testing.T, dir string, win window) map[string]time.Time {
	t.Helper()
	const f = "20060102T150405Z"
	out, err := exec.Command("/usr/bin/python3", "testdata/expand_oracle.py", dir, win.start.Format(f), win.end.Format(f), alice).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("expansion oracle: %v\n%s", err, stderr)
	}
	want := map[string]time.Time{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		key, start, _ := strings.Cut(line, " ")
		at, err := time.Parse(f, start)
		if err != nil {
			t.Fatalf("oracle line %q: %v", line, err)
		}
		want[key] = at
	}
	return want
}
