package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// Prune deletes, batch by batch, what is finished before each cutoff and
// nothing else: pending deliveries, recent ones, open and recent alerts,
// recent interactions and events still referred to stay.
func TestPrune(t *testing.T) { forEachStore(t, testPrune) }

func testPrune(t *testing.T, s *Store) {
	ctx := t.Context()
	old, recent := t0.Add(-100*24*time.Hour), t0.Add(-time.Hour)
	var evs []Event
	for i := range 7 {
		evs = append(evs, customerEvent(fmt.Sprintf("e%d", i), "c1", -101*24*time.Hour))
	}
	enqueueTo(t, s, []string{"h1"}, evs...)
	finish := func(ev, state string, at time.Time) {
		r := AttemptResult{DeliveryID: deliveryID(t, s, ev, "h1"), At: at, Status: 204, State: state}
		if state == DeliveryFailed {
			r.Status, r.Error = 500, "HTTP 500"
		}
		if err := s.RecordAttempts(ctx, "", r); err != nil {
			t.Fatal(err)
		}
	}
	finish("e0", DeliveryDelivered, old)
	finish("e1", DeliveryDelivered, old)
	finish("e2", DeliveryDelivered, old)
	finish("e3", DeliveryDelivered, recent)
	finish("e4", DeliveryFailed, old)
	finish("e5", DeliveryFailed, t0.Add(-40*24*time.Hour))
	// e6 stays pending.
	alerts := []cadence.Alert{
		{ID: "gone", CustomerID: "c1", Commitment: "weekly", Period: "w1", State: cadence.Resolved, DueAt: old, OpenedAt: old, UpdatedAt: old, ResolvedAt: old},
		{ID: "due-late", CustomerID: "c1", Commitment: "weekly", Period: "w2", State: cadence.Resolved, DueAt: recent, OpenedAt: old, UpdatedAt: old, ResolvedAt: old},
		{ID: "open", CustomerID: "c1", Commitment: "weekly", Period: "w3", State: cadence.Slipped, DueAt: old, OpenedAt: old, UpdatedAt: old},
		{ID: "recent", CustomerID: "c1", Commitment: "weekly", Period: "w4", State: cadence.Resolved, DueAt: old, OpenedAt: old, UpdatedAt: recent, ResolvedAt: recent},
	}
	if err := s.ApplyEvaluation(ctx, alerts, nil, nil); err != nil {
		t.Fatal(err)
	}
	var mails []cadence.Interaction
	for i := range 5 {
		at := old
		if i >= 3 {
			at = recent
		}
		mails = append(mails, cadence.Interaction{Key: fmt.Sprintf("m%d", i), Kind: cadence.Email, At: at, Sender: "a@c1.example", Account: "alice"})
	}
	if _, err := s.SaveMail(ctx, "alice", "INBOX", mails, FolderState{UIDValidity: 1, UIDNext: 6}); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	got, err := s.Prune(ctx, Cutoffs{Delivered: t0.Add(-30 * day), Failed: t0.Add(-90 * day),
		ResolvedAlerts: t0.Add(-30 * day), AlertsDueBefore: t0.Add(-30 * day), Interactions: t0.Add(-30 * day)}, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := Pruned{Deliveries: 4, Events: 4, Alerts: 1, Interactions: 3}
	if got != want {
		t.Errorf("pruned %+v, want %+v", got, want)
	}
	ds, err := s.Deliveries(ctx, DeliveryFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, d := range ds {
		left = append(left, d.EventID)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"e3", "e5", "e6"}) {
		t.Errorf("deliveries left %v, want e3 (recent), e5 (failed 40 days ago), e6 (pending)", left)
	}
	var attempts, events int
	if err := s.rdb.QueryRow(`SELECT (SELECT COUNT(*) FROM delivery_attempts), (SELECT COUNT(*) FROM events)`).Scan(&attempts, &events); err != nil {
		t.Fatal(err)
	}
	if attempts != 2 || events != 3 {
		t.Errorf("%d attempts and %d events left, want 2 (e3, e5) and 3", attempts, events)
	}
	as, err := s.Alerts(ctx, true)
	if err != nil || len(as) != 3 {
		t.Errorf("alerts left %+v, %v; want due-late, open and recent", as, err)
	}
	ins, err := s.Interactions(ctx, time.Time{})
	if err != nil || len(ins) != 2 {
		t.Errorf("interactions left %d, %v; want the 2 recent", len(ins), err)
	}
	stats, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stats {
		if st.Table == "interactions" && (st.Rows != 2 || !st.Oldest.Equal(recent)) {
			t.Errorf("interactions stats %+v, want 2 rows, oldest %s", st, recent)
		}
	}
}
