package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

func testAlert(id string, state cadence.State, at time.Time) cadence.Alert {
	return cadence.Alert{ID: id, CustomerID: "acme", Commitment: "weekly", Period: "due:x", State: state,
		DueAt: at.Add(-time.Hour), OpenedAt: at, UpdatedAt: at, LastNotifiedAt: at, Episode: 1,
		Details: cadence.AlertDetails{Type: cadence.CadenceType, Repeats: 2,
			About: &cadence.Ref{Key: "mid:q@acme.com", At: at.Add(-48 * time.Hour), Subject: "Question", MessageID: "q@acme.com"}}}
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestApplyEvaluationIsIdempotent(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	changes := []cadence.Alert{testAlert("a1", cadence.Slipped, at), testAlert("a2", cadence.AtRisk, at)}
	events := []Event{
		{ID: "msg_1", Type: cadence.EventSlipped, CreatedAt: at, Payload: []byte(`{"type":"commitment.slipped"}`)},
		{ID: "msg_2", Type: cadence.EventAtRisk, CreatedAt: at, Payload: []byte(`{"type":"commitment.at_risk"}`)},
	}
	routes := func(typ string) []string {
		if typ == cadence.EventSlipped {
			return []string{"ops", "slack"}
		}
		return []string{"ops"}
	}
	for i := 0; i < 2; i++ {
		if err := s.ApplyEvaluation(ctx, changes, events, routes); err != nil {
			t.Fatalf("apply #%d: %v", i, err)
		}
	}
	if a, e, d := countRows(t, s, "alerts"), countRows(t, s, "events"), countRows(t, s, "deliveries"); a != 2 || e != 2 || d != 3 {
		t.Fatalf("alerts, events, deliveries = %d, %d, %d; want 2, 2, 3", a, e, d)
	}
	got, err := s.Alerts(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, changes) {
		t.Errorf("Alerts = %+v\nwant %+v", got, changes)
	}
}

func TestApplyEvaluationUpdatesAndFilters(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	a := testAlert("a1", cadence.AtRisk, at)
	if err := s.ApplyEvaluation(ctx, []cadence.Alert{a, testAlert("a2", cadence.Slipped, at)}, nil, nil); err != nil {
		t.Fatal(err)
	}
	a.State, a.ResolvedAt, a.UpdatedAt, a.Details.Resolution = cadence.Resolved, at.Add(time.Hour), at.Add(time.Hour), cadence.Satisfied
	if err := s.ApplyEvaluation(ctx, []cadence.Alert{a}, nil, nil); err != nil {
		t.Fatal(err)
	}
	open, err := s.Alerts(ctx, false)
	if err != nil || len(open) != 1 || open[0].ID != "a2" {
		t.Fatalf("open alerts = %+v, %v; want a2 only", open, err)
	}
	all, err := s.Alerts(ctx, true)
	if err != nil || len(all) != 2 || all[0].State != cadence.Resolved || all[0].Details.Resolution != cadence.Satisfied {
		t.Fatalf("all alerts = %+v, %v; want a1 resolved and a2", all, err)
	}
}

// TestApplyEvaluationIsAtomic: when any part fails, nothing is stored.
func TestApplyEvaluationIsAtomic(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	err := s.ApplyEvaluation(ctx, []cadence.Alert{testAlert("a1", cadence.Slipped, at)},
		[]Event{{ID: "msg_1", Type: "commitment.slipped", CreatedAt: at, Payload: []byte(`{}`)}, {Type: "commitment.slipped"}},
		func(string) []string { return []string{"ops"} })
	if err == nil {
		t.Fatal("apply with an event without id succeeded")
	}
	if a, e := countRows(t, s, "alerts"), countRows(t, s, "events"); a != 0 || e != 0 {
		t.Fatalf("after a failed apply: %d alerts, %d events; want none", a, e)
	}
}

func TestEarliestCountedAndHistoryStart(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	if got, err := s.EarliestCounted(ctx); err != nil || !got.IsZero() {
		t.Fatalf("empty store: %v, %v; want zero", got, err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i, row := range []struct {
		d      time.Duration
		filter cadence.Filter
	}{{48 * time.Hour, cadence.Counts}, {0, cadence.Counts}, {-50 * 365 * 24 * time.Hour, cadence.Bulk}, {24 * time.Hour, cadence.Counts}} {
		if _, err := s.db.Exec(`INSERT INTO interactions (key, kind, at, account, filter, first_seen) VALUES (?, 'email', ?, 'a', ?, ?)`,
			i, ms(at.Add(row.d)), string(row.filter), ms(at)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.EarliestCounted(ctx); err != nil || !got.Equal(at) {
		t.Fatalf("EarliestCounted = %v, %v; want %v (the bulk mail of 1976 does not count)", got, err, at)
	}
	if _, ok, err := s.HistoryStart(ctx); ok || err != nil {
		t.Fatalf("HistoryStart before it is fixed: ok %t, %v", ok, err)
	}
	for _, try := range []time.Time{at, at.Add(-time.Hour)} {
		if got, err := s.FixHistoryStart(ctx, try); err != nil || !got.Equal(at) {
			t.Fatalf("FixHistoryStart(%v) = %v, %v; want the first one, %v", try, got, err, at)
		}
	}
	if got, ok, err := s.HistoryStart(ctx); !ok || err != nil || !got.Equal(at) {
		t.Fatalf("HistoryStart = %v, %t, %v; want %v", got, ok, err, at)
	}
}

func TestResolvedSince(t *testing.T) {
	s := openTestStore(t)
	at := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	old, recent, open := testAlert("old", cadence.Resolved, at), testAlert("recent", cadence.Resolved, at), testAlert("open", cadence.Slipped, at)
	old.ResolvedAt, recent.ResolvedAt = at.Add(-48*time.Hour), at.Add(time.Hour)
	if err := s.ApplyEvaluation(t.Context(), []cadence.Alert{old, recent, open}, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.ResolvedSince(t.Context(), at.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ID+":"+string(a.State))
		if a.ID == "recent" && (!a.DueAt.Equal(recent.DueAt) || !a.OpenedAt.Equal(at) || !a.ResolvedAt.Equal(recent.ResolvedAt)) {
			t.Errorf("recent = %+v, want its due, opened and resolved times", a)
		}
	}
	if want := []string{"recent:resolved"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ResolvedSince = %v, want %v (not the open one, nor the one resolved before since)", ids, want)
	}
}
