package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)

// customerEvent is a commitment event of customer cust created at t0+offset.
func customerEvent(id, cust string, offset time.Duration) Event {
	return Event{ID: id, Type: "commitment.slipped", CreatedAt: t0.Add(offset),
		Payload: fmt.Appendf(nil, `{"type":"commitment.slipped","data":{"customer":{"id":%q}}}`, cust)}
}

func enqueueTo(t *testing.T, s *Store, endpoints []string, evs ...Event) {
	t.Helper()
	if err := s.Enqueue(t.Context(), evs, func(string) []string { return endpoints }); err != nil {
		t.Fatal(err)
	}
}

func claimedIDs(cs []Claimed) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Event.ID+"@"+c.Endpoint)
	}
	return out
}

func TestClaimDue(t *testing.T) { forEachBackend(t, testClaimDue) }

func testClaimDue(t *testing.T, b backend) {
	tests := []struct {
		name      string
		events    []Event
		setup     func(t *testing.T, s *Store) // before the claim at t0+1m
		endpoints []string
		want      []string
	}{
		{
			name:      "oldest first, every endpoint asked for",
			events:    []Event{customerEvent("b", "c2", 2*time.Second), customerEvent("a", "c1", time.Second)},
			endpoints: []string{"h1", "h2"},
			want:      []string{"a@h1", "a@h2", "b@h1", "b@h2"},
		},
		{
			name:      "unconfigured endpoint is left pending",
			events:    []Event{customerEvent("a", "c1", 0)},
			endpoints: []string{"h2"},
			want:      []string{"a@h2"},
		},
		{
			name:   "disabled endpoint is skipped",
			events: []Event{customerEvent("a", "c1", 0)},
			setup: func(t *testing.T, s *Store) {
				if err := s.DisableEndpoint(t.Context(), "h1", t0, "gone"); err != nil {
					t.Fatal(err)
				}
			},
			endpoints: []string{"h1", "h2"},
			want:      []string{"a@h2"},
		},
		{
			name:   "not yet due",
			events: []Event{customerEvent("a", "c1", 2*time.Minute)},
			want:   nil,
		},
		{
			name: "a customer's later event waits behind its backing-off one; others do not",
			events: []Event{customerEvent("a", "c1", 0), customerEvent("b", "c1", time.Second),
				customerEvent("c", "c2", 2*time.Second), {ID: "d", Type: "webhook.test", CreatedAt: t0, Payload: []byte(`{}`)}},
			setup: func(t *testing.T, s *Store) {
				backOff(t, s, "a", "h1", t0.Add(time.Hour))
			},
			endpoints: []string{"h1"},
			want:      []string{"d@h1", "c@h1"},
		},
		{
			name:   "invalid JSON payload is claimed, unordered",
			events: []Event{{ID: "x", Type: "webhook.test", CreatedAt: t0, Payload: []byte(`{not json`)}},
			want:   []string{"x@h1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := b.open(t)
			enqueueTo(t, s, []string{"h1", "h2"}, tc.events...)
			if tc.setup != nil {
				tc.setup(t, s)
			}
			eps := tc.endpoints
			if eps == nil {
				eps = []string{"h1"}
			}
			got, err := s.ClaimDue(t.Context(), t0.Add(time.Minute), "d1", eps, time.Minute, 100)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(claimedIDs(got), tc.want) {
				t.Errorf("claimed %v, want %v", claimedIDs(got), tc.want)
			}
		})
	}
}

// backOff records a failed attempt of event's delivery to ep, due again at next.
func backOff(t *testing.T, s *Store, event, ep string, next time.Time) int64 {
	t.Helper()
	id := deliveryID(t, s, event, ep)
	err := s.RecordAttempts(t.Context(), "", AttemptResult{DeliveryID: id, At: t0, Status: 500, Error: "HTTP 500",
		State: DeliveryPending, NextAttemptAt: next})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func deliveryID(t *testing.T, s *Store, event, ep string) int64 {
	t.Helper()
	var id int64
	if err := s.db.QueryRow(`SELECT id FROM deliveries WHERE event_id = ? AND endpoint = ?`, event, ep).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestClaimIsALease(t *testing.T) { forEachStore(t, testClaimIsALease) }

func testClaimIsALease(t *testing.T, s *Store) {
	ctx := t.Context()
	enqueueTo(t, s, []string{"h1"}, customerEvent("a", "c1", 0))
	now := t0.Add(time.Second)
	first, err := s.ClaimDue(ctx, now, "d1", []string{"h1"}, time.Minute, 10)
	if err != nil || len(first) != 1 || first[0].OrderKey != "c1" {
		t.Fatalf("first claim = %+v, %v; want delivery a with order key c1", first, err)
	}
	again, err := s.ClaimDue(ctx, now.Add(59*time.Second), "d1", []string{"h1"}, time.Minute, 10)
	if err != nil || len(again) != 0 {
		t.Fatalf("claim within the lease = %v, %v; want nothing", claimedIDs(again), err)
	}
	after, err := s.ClaimDue(ctx, now.Add(61*time.Second), "d1", []string{"h1"}, time.Minute, 10)
	if err != nil || len(after) != 1 || after[0].Event.ID != "a" {
		t.Fatalf("claim after the lease = %v, %v; want a again (same event id)", claimedIDs(after), err)
	}
	if err := s.ReleaseClaims(ctx, "d1", []int64{after[0].ID}); err != nil {
		t.Fatal(err)
	}
	released, err := s.ClaimDue(ctx, now.Add(62*time.Second), "d1", []string{"h1"}, time.Minute, 10)
	if err != nil || len(released) != 1 {
		t.Fatalf("claim after release = %v, %v; want a", claimedIDs(released), err)
	}
}

func TestRecordAttemptAndRedeliver(t *testing.T) { forEachStore(t, testRecordAttemptAndRedeliver) }

func testRecordAttemptAndRedeliver(t *testing.T, s *Store) {
	ctx := t.Context()
	enqueueTo(t, s, []string{"h1"}, customerEvent("a", "c1", 0))
	id := deliveryID(t, s, "a", "h1")
	steps := []AttemptResult{
		{DeliveryID: id, At: t0, Status: 0, Error: "connection refused", State: DeliveryPending, NextAttemptAt: t0.Add(5 * time.Second)},
		{DeliveryID: id, At: t0.Add(5 * time.Second), Status: 500, Error: "HTTP 500", State: DeliveryFailed},
	}
	for _, r := range steps {
		if err := s.RecordAttempts(ctx, "", r); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.Deliveries(ctx, DeliveryFilter{ID: id})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries = %v, %v", ds, err)
	}
	d := ds[0]
	if d.State != DeliveryFailed || d.Attempts != 2 || d.LastStatus != 500 || !d.NextAttemptAt.IsZero() ||
		d.Log[0].N != 1 || d.Log[0].Error != "connection refused" || d.Log[1].Status != 500 {
		t.Fatalf("after two attempts: %+v", d)
	}
	if err := s.Redeliver(ctx, id, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ds, _ = s.Deliveries(ctx, DeliveryFilter{ID: id})
	redo := ds[0]
	if redo.State != DeliveryPending || redo.EventID != "a" || redo.Attempts != 2 || !redo.NextAttemptAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after redeliver: %+v; want pending, same event, log kept, due now", redo)
	}
	got, err := s.ClaimDue(ctx, t0.Add(time.Hour), "d1", []string{"h1"}, time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Attempts != 0 {
		t.Fatalf("claim after redeliver = %+v, %v; want a fresh round (0 attempts)", got, err)
	}
	err = s.RecordAttempts(ctx, "d1", AttemptResult{DeliveryID: id, At: t0.Add(time.Hour), Duration: time.Second, Status: 204, State: DeliveryDelivered})
	if err != nil {
		t.Fatal(err)
	}
	ds, _ = s.Deliveries(ctx, DeliveryFilter{ID: id})
	if ds[0].State != DeliveryDelivered || ds[0].Attempts != 3 || ds[0].Log[2].N != 3 ||
		!ds[0].DeliveredAt.Equal(t0.Add(time.Hour+time.Second)) {
		t.Fatalf("after delivery: %+v", ds[0])
	}
	if err := s.Redeliver(ctx, 999, t0); !errors.Is(err, ErrNoDelivery) {
		t.Fatalf("redeliver unknown = %v, want ErrNoDelivery", err)
	}
}

func TestEnqueueClaimed(t *testing.T) { forEachStore(t, testEnqueueClaimed) }

func testEnqueueClaimed(t *testing.T, s *Store) {
	ctx := t.Context()
	ev := Event{ID: "t1", Type: "webhook.test", CreatedAt: t0, Payload: []byte(`{}`)}
	c, err := s.EnqueueClaimed(ctx, ev, "h1", "d1", t0, time.Minute)
	if err != nil || c.ID == 0 || c.Endpoint != "h1" {
		t.Fatalf("EnqueueClaimed = %+v, %v", c, err)
	}
	if got, _ := s.ClaimDue(ctx, t0, "d1", []string{"h1"}, time.Minute, 10); len(got) != 0 {
		t.Fatalf("a claimed test delivery was claimed again: %v", claimedIDs(got))
	}
	if err := s.RecordAttempts(ctx, "d1", AttemptResult{DeliveryID: c.ID, At: t0, Status: 200, State: DeliveryDelivered}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnqueueClaimed(ctx, ev, "h1", "d1", t0, time.Minute); err == nil {
		t.Fatal("EnqueueClaimed of a delivered event succeeded; want an error")
	}
}

func TestCountsAndSummary(t *testing.T) { forEachStore(t, testCountsAndSummary) }

func testCountsAndSummary(t *testing.T, s *Store) {
	ctx := t.Context()
	enqueueTo(t, s, []string{"h1", "h2"}, customerEvent("a", "c1", 0), customerEvent("b", "c2", 0), customerEvent("c", "c3", 0))
	record := func(ev, ep string, r AttemptResult) {
		r.DeliveryID = deliveryID(t, s, ev, ep)
		if err := s.RecordAttempts(ctx, "", r); err != nil {
			t.Fatal(err)
		}
	}
	record("a", "h1", AttemptResult{At: t0, Status: 200, State: DeliveryDelivered})
	record("b", "h1", AttemptResult{At: t0.Add(time.Minute), Status: 410, Error: "gone", State: DeliveryFailed})
	record("a", "h2", AttemptResult{At: t0, Status: 503, Error: "HTTP 503", State: DeliveryPending, NextAttemptAt: t0.Add(time.Hour)})

	got, err := s.EndpointSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]EndpointCounts{
		"h1": {Pending: 1, Failed: 1, LastDeliveredAt: t0, LastAttemptAt: t0.Add(time.Minute), LastStatus: 410, LastError: "gone"},
		"h2": {Pending: 3, LastAttemptAt: t0, LastStatus: 503, LastError: "HTTP 503"},
	}
	for ep, w := range want {
		g := got[ep]
		if g.Pending != w.Pending || g.Failed != w.Failed || !g.LastDeliveredAt.Equal(w.LastDeliveredAt) ||
			!g.LastAttemptAt.Equal(w.LastAttemptAt) || g.LastStatus != w.LastStatus || g.LastError != w.LastError {
			t.Errorf("%s: got %+v, want %+v", ep, g, w)
		}
	}
	ds, err := s.Deliveries(ctx, DeliveryFilter{Endpoint: "h1", State: DeliveryPending})
	if err != nil || len(ds) != 1 || ds[0].EventID != "c" {
		t.Errorf("pending deliveries of h1 = %+v, %v; want c only", ds, err)
	}
}

func TestEventsOfType(t *testing.T) { forEachStore(t, testEventsOfType) }

func testEventsOfType(t *testing.T, s *Store) {
	enqueueTo(t, s, nil, customerEvent("b", "c1", time.Second), customerEvent("a", "c1", 0),
		Event{ID: "x", Type: "sync.failing", CreatedAt: t0, Payload: []byte(`{}`)})
	got, err := s.Events(t.Context(), "commitment.slipped")
	if err != nil || len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" || string(got[0].Payload) == "" {
		t.Fatalf("Events = %+v, %v; want a then b with payloads", got, err)
	}
}

func TestAlertDeliveries(t *testing.T) { forEachStore(t, testAlertDeliveries) }

func testAlertDeliveries(t *testing.T, s *Store) {
	ctx := t.Context()
	alertEvent := func(id, alert string, offset time.Duration) Event {
		return Event{ID: id, Type: "commitment.slipped", CreatedAt: t0.Add(offset),
			Payload: fmt.Appendf(nil, `{"type":"commitment.slipped","data":{"alert_id":%q}}`, alert)}
	}
	enqueueTo(t, s, []string{"h1", "h2"}, alertEvent("e1", "a1", 0), alertEvent("e2", "a1", time.Second),
		alertEvent("e3", "a2", 0), Event{ID: "bad", Type: "commitment.slipped", CreatedAt: t0, Payload: []byte(`{`)})
	cl, err := s.ClaimDue(ctx, t0.Add(time.Minute), "d1", []string{"h1"}, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cl {
		if c.Event.ID == "e1" {
			if err := s.RecordAttempts(ctx, "d1", AttemptResult{DeliveryID: c.ID, At: t0, State: DeliveryDelivered, Status: 204}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := s.AlertDeliveries(ctx, []string{"a1", "none"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, d := range got["a1"] {
		keys = append(keys, fmt.Sprintf("%s@%s:%s/%d", d.EventID, d.Endpoint, d.State, d.Attempts))
	}
	want := []string{"e2@h2:pending/0", "e2@h1:pending/0", "e1@h2:pending/0", "e1@h1:delivered/1"}
	if len(got) != 1 || !slices.Equal(keys, want) {
		t.Errorf("AlertDeliveries(a1, none) = %d alerts, a1 %v; want only a1 with %v", len(got), keys, want)
	}
}
