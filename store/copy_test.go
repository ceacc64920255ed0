package store

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// fill writes a little of everything through the store's own writers:
// mail with a copy in another account, a meeting, alerts and their
// events with deliveries and attempts, silences starting together, a
// disabled endpoint, source health and the history start.
func fill(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return at }
	mails := []cadence.Interaction{
		mail("a@acme.test", at, cadence.Counts, "ann@acme.test", "bob@us.test"),
		mail("b@acme.test", at.Add(time.Hour), cadence.List, "news@acme.test", "bob@us.test"),
	}
	if _, err := s.SaveMail(ctx, "bob", "INBOX", mails, FolderState{UIDValidity: 7, UIDNext: 3, HighestModSeq: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveMail(ctx, "carl", "INBOX", mails[1:], FolderState{UIDValidity: 1, UIDNext: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyCalDAV(ctx, CalDAVChanges{Account: "bob", Calendar: "http://h/bob/cal/",
		Put:   []CalDAVObject{{Href: "/bob/cal/m.ics", ETag: "1", UID: "m", Occurrences: []cadence.Interaction{meeting("m", 3, "c@acme.test")}}},
		State: &CalDAVCalendar{SyncToken: "tok", CTag: "c1", SyncedAt: at}}, calNow); err != nil {
		t.Fatal(err)
	}
	alerts := []cadence.Alert{testAlert("al1", cadence.Slipped, at), testAlert("al2", cadence.Resolved, at)}
	events := []Event{
		{ID: "msg_1", Type: cadence.EventSlipped, CreatedAt: at, Payload: []byte(`{"type":"commitment.slipped","data":{"alert_id":"al1"}}`)},
		{ID: "msg_2", Type: "sync.failing", CreatedAt: at, Payload: []byte(`{"type":"sync.failing"}`)},
	}
	if err := s.ApplyEvaluation(ctx, alerts, events, func(string) []string { return []string{"ops", "chat"} }); err != nil {
		t.Fatal(err)
	}
	cs, err := s.ClaimDue(ctx, at, "d1", []string{"ops"}, time.Minute, 10)
	if err != nil || len(cs) != 2 {
		t.Fatalf("claim: %v, %v", cs, err)
	}
	if err := s.RecordAttempts(ctx, "d1", AttemptResult{DeliveryID: cs[0].ID, At: at, Status: 200, State: DeliveryDelivered},
		AttemptResult{DeliveryID: cs[1].ID, At: at, Status: 500, Error: "boom", State: DeliveryPending, NextAttemptAt: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, author := range []string{"zed", "amy"} { // the same start: listed as added
		if _, err := s.AddSilence(ctx, cadence.Silence{CustomerID: "acme", StartsAt: at, EndsAt: at.Add(time.Hour), Author: author}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DisableEndpoint(ctx, "chat", at, "410 Gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSyncSuccess(ctx, "imap:bob", at, map[string]int64{"fetched": 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FixHistoryStart(ctx, at); err != nil {
		t.Fatal(err)
	}
}

// dumpAll renders every row of every table the way the target names its
// columns, sorted.
func dumpAll(t *testing.T, s *Store, tables []string, columns map[string][]string) []string {
	t.Helper()
	var out []string
	for _, table := range tables {
		rows, err := s.db.Query(`SELECT ` + strings.Join(columns[table], ", ") + ` FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(columns[table]))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, table+fmt.Sprint(vals...))
		}
		rows.Close()
	}
	slices.Sort(out)
	return out
}

// TestCopyToPostgres: a SQLite store copied into Postgres holds the same
// rows, with the same IDs, reads the same through the store, and goes on
// from there (new IDs after the copied ones, the change log following new
// writes). A target with rows is refused, and emptied with Replace.
func TestCopyToPostgres(t *testing.T) {
	ctx := t.Context()
	src := openSQLiteTest(t)
	fill(t, src)
	dst := openPostgresTest(t)
	var progress []string
	report, err := src.CopyTo(ctx, dst, CopyOptions{BatchRows: 2, Progress: func(table string, n int64) {
		progress = append(progress, fmt.Sprint(table, n))
	}})
	if err != nil {
		t.Fatal(err)
	}
	tables, columns := []string{}, map[string][]string{}
	for _, tc := range report.Tables {
		tables = append(tables, tc.Table)
	}
	pgTables, err := func() ([]table, error) {
		tx, err := dst.db.Begin()
		if err != nil {
			return nil, err
		}
		defer tx.Rollback()
		return targetTables(ctx, tx)
	}()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range pgTables {
		columns[tt.name] = tt.columns
	}
	if len(tables) != len(pgTables) || len(progress) != len(tables) {
		t.Fatalf("copied tables %q (progress %q), want all %d", tables, progress, len(pgTables))
	}
	if i, j := slices.Index(tables, "events"), slices.Index(tables, "deliveries"); i > j {
		t.Errorf("deliveries copied before events, whose rows they reference: %q", tables)
	}
	want, got := dumpAll(t, src, tables, columns), dumpAll(t, dst, tables, columns)
	if !slices.Equal(got, want) {
		t.Errorf("copied rows differ\ngot:  %q\nwant: %q", got, want)
	}
	if len(want) < 25 {
		t.Errorf("only %d rows to copy: fill wrote less than it should", len(want))
	}
	checkReadsAlike(t, src, dst)

	// The copy goes on: IDs after the copied ones, changes logged again.
	pos, err := dst.LoadInteractions(ctx, time.Time{}, func(int64, *cadence.Interaction) {})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	if _, err := dst.SaveMail(ctx, "bob", "INBOX", []cadence.Interaction{mail("new@acme.test", at, cadence.Counts, "ann@acme.test")},
		FolderState{UIDValidity: 7, UIDNext: 4}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if _, err := dst.ScanChanges(ctx, pos, func(id int64, _ *cadence.Interaction) { ids = append(ids, id) }); err != nil {
		t.Fatal(err)
	}
	var maxID int64
	if err := src.db.QueryRow(`SELECT MAX(id) FROM interactions`).Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] <= maxID {
		t.Errorf("after the copy, the new mail's change: IDs %v; want one, after the copied %d", ids, maxID)
	}

	if _, err := src.CopyTo(ctx, dst, CopyOptions{}); !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("copy into a store with rows: %v; want ErrTargetNotEmpty", err)
	}
	if _, err := src.CopyTo(ctx, dst, CopyOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if got := dumpAll(t, dst, tables, columns); !slices.Equal(got, want) {
		t.Errorf("after a copy with Replace, rows differ\ngot:  %q\nwant: %q", got, want)
	}
}

// checkReadsAlike compares what the store's readers return on both.
func checkReadsAlike(t *testing.T, a, b *Store) {
	t.Helper()
	ctx := t.Context()
	for _, read := range []struct {
		name string
		fn   func(s *Store) (any, error)
	}{
		{"interactions", func(s *Store) (any, error) { return s.Interactions(ctx, time.Time{}) }},
		{"silences", func(s *Store) (any, error) { return s.Silences(ctx, time.Time{}, true) }},
		{"alerts", func(s *Store) (any, error) { return s.Alerts(ctx, true) }},
		{"deliveries", func(s *Store) (any, error) { return s.Deliveries(ctx, DeliveryFilter{}) }},
		{"sources", func(s *Store) (any, error) { return s.Sources(ctx) }},
		{"folders", func(s *Store) (any, error) { return s.FolderStates(ctx, "bob") }},
		{"calendars", func(s *Store) (any, error) { return s.CalDAVCalendars(ctx, "bob") }},
		{"disabled", func(s *Store) (any, error) { return s.DisabledEndpoints(ctx) }},
	} {
		x, errA := read.fn(a)
		y, errB := read.fn(b)
		if errA != nil || errB != nil || !reflect.DeepEqual(x, y) {
			t.Errorf("%s read differently after the copy:\nsqlite:   %+v (%v)\npostgres: %+v (%v)", read.name, x, errA, y, errB)
		}
	}
}
