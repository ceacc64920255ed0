package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Claims are held in a dispatcher's name: another cannot take them until
// they end, may take them over then, and the first one's late release or
// record does not undo the second one's claim.
func TestClaimsOfTwoDispatchers(t *testing.T) { forEachStore(t, testClaimsOfTwoDispatchers) }

func testClaimsOfTwoDispatchers(t *testing.T, s *Store) {
	ctx := t.Context()
	enqueueTo(t, s, []string{"h1"}, customerEvent("a", "c1", 0))
	now := t0.Add(time.Second)
	first, err := s.ClaimDue(ctx, now, "A", []string{"h1"}, time.Minute, 10)
	if err != nil || len(first) != 1 {
		t.Fatalf("A's claim = %v, %v; want a", claimedIDs(first), err)
	}
	if got, err := s.ClaimDue(ctx, now.Add(30*time.Second), "B", []string{"h1"}, time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("B's claim during A's = %v, %v; want nothing", claimedIDs(got), err)
	}
	taken, err := s.ClaimDue(ctx, now.Add(61*time.Second), "B", []string{"h1"}, time.Minute, 10)
	if err != nil || len(taken) != 1 || taken[0].Event.ID != "a" {
		t.Fatalf("B's claim after A's ended = %v, %v; want a, same webhook-id", claimedIDs(taken), err)
	}
	if err := s.ReleaseClaims(ctx, "A", []int64{taken[0].ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimDue(ctx, now.Add(62*time.Second), "C", []string{"h1"}, time.Minute, 10); len(got) != 0 {
		t.Fatalf("A's late release freed B's claim: C claimed %v", claimedIDs(got))
	}
	late := AttemptResult{DeliveryID: taken[0].ID, At: now, Status: 500, Error: "HTTP 500", State: DeliveryPending, NextAttemptAt: now.Add(time.Hour)}
	if err := s.RecordAttempts(ctx, "A", late); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Deliveries(ctx, DeliveryFilter{ID: taken[0].ID})
	if err != nil || len(ds) != 1 || ds[0].Attempts != 1 || !ds[0].NextAttemptAt.Equal(t0) {
		t.Fatalf("after A's late record: %+v, %v; want its attempt logged and B's claim untouched (due at t0)", ds, err)
	}
	done := AttemptResult{DeliveryID: taken[0].ID, At: now.Add(62 * time.Second), Status: 204, State: DeliveryDelivered}
	if err := s.RecordAttempts(ctx, "B", done); err != nil {
		t.Fatal(err)
	}
	if ds, _ = s.Deliveries(ctx, DeliveryFilter{ID: taken[0].ID}); ds[0].State != DeliveryDelivered {
		t.Fatalf("after B's record: %s, want delivered", ds[0].State)
	}
}

// One claim takes a customer's due events together, in order; a later
// claim does not overtake one of them that another dispatcher holds.
func TestClaimKeepsOrderAcrossDispatchers(t *testing.T) {
	forEachStore(t, testClaimKeepsOrderAcrossDispatchers)
}

func testClaimKeepsOrderAcrossDispatchers(t *testing.T, s *Store) {
	ctx := t.Context()
	enqueueTo(t, s, []string{"h1"}, customerEvent("a", "c1", 0), customerEvent("b", "c1", time.Second))
	both, err := s.ClaimDue(ctx, t0.Add(time.Minute), "A", []string{"h1"}, time.Minute, 10)
	if err != nil || !slices.Equal(claimedIDs(both), []string{"a@h1", "b@h1"}) {
		t.Fatalf("claim = %v, %v; want a then b", claimedIDs(both), err)
	}
	if err := s.ReleaseClaims(ctx, "A", []int64{both[1].ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimDue(ctx, t0.Add(time.Minute), "B", []string{"h1"}, time.Minute, 10); len(got) != 0 {
		t.Fatalf("B claimed %v while A holds the customer's earlier event", claimedIDs(got))
	}
}

// Two stores on one file, as two processes have: however their claims
// interleave, every delivery is claimed by exactly one of them.
func TestConcurrentClaimsNeverShareADelivery(t *testing.T) {
	forEachBackend(t, testConcurrentClaimsNeverShareADelivery)
}

func testConcurrentClaimsNeverShareADelivery(t *testing.T, bk backend) {
	dir := bk.where(t)
	var stores []*Store
	for range 2 {
		s, err := bk.openAt(t.Context(), dir, latestVersion())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	var evs []Event
	for i := range 300 {
		evs = append(evs, customerEvent(fmt.Sprintf("e%03d", i), fmt.Sprintf("c%03d", i), 0))
	}
	enqueueTo(t, stores[0], []string{"h1"}, evs...)
	var (
		mu    sync.Mutex
		owner = map[int64]string{}
		dup   []int64
		wg    sync.WaitGroup
	)
	for i, s := range stores {
		for w := range 2 {
			name := fmt.Sprintf("p%d.%d", i, w)
			wg.Go(func() {
				for {
					got, err := s.ClaimDue(context.Background(), t0.Add(time.Minute), name, []string{"h1"}, time.Hour, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, c := range got {
						if _, taken := owner[c.ID]; taken {
							dup = append(dup, c.ID)
						}
						owner[c.ID] = name
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(dup) > 0 || len(owner) != len(evs) {
		t.Fatalf("%d deliveries claimed, %d twice (%v); want %d, each once", len(owner), len(dup), dup, len(evs))
	}
}

// A pass with nothing due reads and does not wait for the write lock:
// with another transaction holding it, ClaimDue still answers at once.
func TestClaimWithNothingDueTakesNoWriteLock(t *testing.T) {
	s := openSQLiteTest(t)
	enqueueTo(t, s, []string{"h1"}, customerEvent("a", "c1", time.Hour))
	conn, err := s.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(t.Context(), nil) // holds the one writer connection and SQLite's lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	got, err := s.ClaimDue(ctx, t0.Add(time.Minute), "A", []string{"h1"}, time.Minute, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("ClaimDue with nothing due, writer busy = %v, %v; want nothing, without waiting", claimedIDs(got), err)
	}
}

// A store that found nothing due answers later passes from the outbox's
// version, and still sees at once what another process enqueues, and
// what becomes due with time.
func TestNothingDueIsRememberedUntilTheOutboxMoves(t *testing.T) {
	forEachBackend(t, testNothingDueIsRememberedUntilTheOutboxMoves)
}

func testNothingDueIsRememberedUntilTheOutboxMoves(t *testing.T, bk backend) {
	dir := bk.where(t)
	a, err := bk.openAt(t.Context(), dir, latestVersion())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := bk.openAt(t.Context(), dir, latestVersion())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	enqueueTo(t, a, []string{"h1"}, customerEvent("a", "c1", 0), customerEvent("a2", "c1", time.Second))
	backOff(t, a, "a", "h1", t0.Add(time.Hour))
	now := t0.Add(time.Minute)
	for i := range 2 {
		if got, err := a.ClaimDue(ctx, now, "A", []string{"h1"}, time.Minute, 10); err != nil || len(got) != 0 {
			t.Fatalf("pass %d: claimed %v, %v; want nothing (a backs off, a2 waits behind it)", i, claimedIDs(got), err)
		}
	}
	if c, err := a.QueueCounts(ctx); err != nil || c["h1"].Pending != 2 {
		t.Fatalf("queue counts = %v, %v; want 2 pending", c, err)
	}
	enqueueTo(t, b, []string{"h1"}, customerEvent("b", "c2", 0))
	if c, err := a.QueueCounts(ctx); err != nil || c["h1"].Pending != 3 {
		t.Fatalf("queue counts after another process enqueued = %v, %v; want 3 pending", c, err)
	}
	got, err := a.ClaimDue(ctx, now, "A", []string{"h1"}, time.Minute, 10)
	if err != nil || !slices.Equal(claimedIDs(got), []string{"b@h1"}) {
		t.Fatalf("after another process enqueued b: claimed %v, %v; want b", claimedIDs(got), err)
	}
	got, err = a.ClaimDue(ctx, t0.Add(time.Hour), "A", []string{"h1"}, time.Minute, 10)
	if err != nil || !slices.Equal(claimedIDs(got), []string{"a@h1", "b@h1", "a2@h1"}) {
		t.Fatalf("an hour later: claimed %v, %v; want a, b (its claim ended) and a2", claimedIDs(got), err)
	}
}

// The due query finds what a due delivery waits behind through the order
// index, one seek per delivery, never by scanning the endpoint's pending
// deliveries: at 10,000 waiting that was seconds per pass.
func TestDueQueryPlan(t *testing.T) {
	s := openSQLiteTest(t)
	rows, err := s.rdb.Query(`EXPLAIN QUERY PLAN SELECT 1 FROM deliveries d WHERE `+dueWhere(1)+` LIMIT 1`,
		dueArgs(t0, []string{"h1"})...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if !slices.ContainsFunc(plan, func(s string) bool { return strings.Contains(s, "deliveries_order (endpoint=? AND order_key=?)") }) ||
		!slices.ContainsFunc(plan, func(s string) bool { return strings.Contains(s, "deliveries_due (state=? AND next_attempt_at<?)") }) {
		t.Errorf("due query plan %q; want deliveries_due for the due ones and deliveries_order for what they wait behind", plan)
	}
}
