package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"

	"github.com/touchbase/touchbase/cadence"
)

// TestCalDAVBatchMatchesOneByOne applies the same steps through
// ApplyCalDAV (multi-row statements) and through putCalDAVObject object by
// object, and compares every table the writes touch, the change log
// included. The steps cover new and known meetings, a meeting another
// account has, a changed PARTSTAT, a shrinking series and a batch with a
// key twice (which ApplyCalDAV writes one by one).
func TestCalDAVBatchMatchesOneByOne(t *testing.T) { forEachBackend(t, testCalDAVBatchMatchesOneByOne) }

func testCalDAVBatchMatchesOneByOne(t *testing.T, b backend) {
	const cal = "http://h/a/cal/"
	obj := func(href string, occ ...cadence.Interaction) CalDAVObject {
		return CalDAVObject{Href: "/a/cal/" + href, ETag: href + fmt.Sprint(len(occ)), UID: href, Occurrences: occ,
			Next: calNow.AddDate(0, 0, 200+len(occ))}
	}
	declined := meeting("p", 4, "c@cust.example")
	declined.Participants[0].PartStat = "DECLINED"
	declined.Filter = cadence.Declined
	steps := [][]CalDAVObject{
		{obj("s.ics", meeting("s", -7, "c@cust.example"), meeting("s", 7, "c@cust.example"), meeting("s", 14, "c@cust.example")),
			obj("p.ics", meeting("p", 4, "c@cust.example", "d@cust.example")), obj("empty.ics")},
		{obj("s.ics", meeting("s", -7, "c@cust.example"), meeting("s", 7, "e@cust.example")), obj("p.ics", declined),
			obj("n.ics", meeting("n", 1, "f@cust.example"))},
		{obj("dup1.ics", meeting("d", 2, "g@cust.example")), obj("dup2.ics", meeting("d", 2, "h@cust.example"))},
	}
	batch, single := b.open(t), b.open(t)
	for _, s := range []*Store{batch, single} { // a copy of p in another account
		if _, err := s.ApplyCalDAV(context.Background(), CalDAVChanges{Account: "b", Calendar: "http://h/b/cal/",
			Put: []CalDAVObject{{Href: "/b/cal/p.ics", ETag: "x", UID: "p", Occurrences: []cadence.Interaction{meeting("p", 4, "z@cust.example")}}}}, calNow); err != nil {
			t.Fatal(err)
		}
	}
	for i, objs := range steps {
		got, err := batch.ApplyCalDAV(context.Background(), CalDAVChanges{Account: "a", Calendar: cal, Put: objs}, calNow)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		var want CalDAVResult
		err = single.tx(context.Background(), func(tx *sql.Tx) error {
			for _, o := range objs {
				if err := putCalDAVObject(context.Background(), tx, "a", cal, o, calNow, &want); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("step %d one by one: %v", i, err)
		}
		if got != want {
			t.Errorf("step %d: result %+v, one by one %+v", i, got, want)
		}
		if g, w := dumpCalDAV(t, batch), dumpCalDAV(t, single); !slices.Equal(g, w) {
			t.Errorf("step %d: stores differ\nbatch:      %q\none by one: %q", i, g, w)
		}
	}
}

// dumpCalDAV renders the rows CalDAV writes touch, by key rather than ID.
func dumpCalDAV(t *testing.T, s *Store) []string {
	t.Helper()
	queries := []string{
		`SELECT 'i', key, kind, at, end_at, all_day, subject, sender, account, filter, people FROM interactions`,
		`SELECT 's', i.key, s.account, s.locator, s.filter FROM interaction_sources s JOIN interactions i ON i.id = s.interaction_id`,
		`SELECT 'o', account, calendar, href, etag, uid, next_start FROM caldav_objects`,
		// How many changes, and which stored meetings have some: per-key
		// counts differ when one writer reuses a deleted row's ID.
		`SELECT 'c', count(*) FROM interaction_changes`,
		`SELECT DISTINCT 'k', i.key FROM interaction_changes c JOIN interactions i ON i.id = c.interaction_id`,
	}
	var out []string
	for _, q := range queries {
		rows, err := s.db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		rows.Close()
	}
	slices.Sort(out)
	return out
}
