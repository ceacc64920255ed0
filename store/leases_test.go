package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// TestLeaseLifecycle walks one lease through the hands of two daemons:
// each step is an acquisition, renewal or release at a time, with who
// must hold it afterwards and at which generation.
func TestLeaseLifecycle(t *testing.T) { forEachStore(t, testLeaseLifecycle) }

func testLeaseLifecycle(t *testing.T, s *Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	const ttl = 30 * time.Second
	held := map[string]Lease{} // each holder's last lease, for renew and release
	for _, step := range []struct {
		name   string
		op     string // acquire, renew, release
		holder string
		at     time.Duration // after t0
		wantOK bool          // acquired or renewed
		// the lease in force afterwards
		wantHolder string
		wantGen    int64
		wantExpiry time.Duration
	}{
		{"a takes the free lease", "acquire", "a", 0, true, "a", 1, ttl},
		{"b cannot take a live lease", "acquire", "b", 10 * time.Second, false, "a", 1, ttl},
		{"a renews", "renew", "a", 20 * time.Second, true, "a", 1, 50 * time.Second},
		{"a acquiring again keeps its generation", "acquire", "a", 25 * time.Second, true, "a", 1, 55 * time.Second},
		{"b still cannot", "acquire", "b", 54 * time.Second, false, "a", 1, 55 * time.Second},
		{"b takes it once expired", "acquire", "b", 55 * time.Second, true, "b", 2, 85 * time.Second},
		{"a's renewal finds it lost", "renew", "a", 56 * time.Second, false, "b", 2, 85 * time.Second},
		{"a's release of the lost lease does nothing", "release", "a", 57 * time.Second, false, "b", 2, 85 * time.Second},
		{"b releases", "release", "b", 60 * time.Second, false, "b", 2, 60 * time.Second},
		{"a takes the released lease at once", "acquire", "a", 60 * time.Second, true, "a", 3, 90 * time.Second},
		{"a lets it expire and takes it again: a new generation", "acquire", "a", 95 * time.Second, true, "a", 4, 125 * time.Second},
		{"an expired lease nobody took can still be renewed", "renew", "a", 130 * time.Second, true, "a", 4, 160 * time.Second},
	} {
		now := t0.Add(step.at)
		var ok bool
		switch step.op {
		case "acquire":
			l, got, err := s.AcquireLease(ctx, "imap:anna", step.holder, now, ttl)
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if ok = got; ok {
				held[step.holder] = l
			}
		case "renew":
			l, err := s.RenewLease(ctx, held[step.holder], now, ttl)
			if err != nil && !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("%s: %v", step.name, err)
			}
			if ok = err == nil; ok {
				held[step.holder] = l
			}
		case "release":
			if err := s.ReleaseLease(ctx, held[step.holder], now); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		}
		got, found, err := s.GetLease(ctx, "imap:anna")
		if err != nil || !found {
			t.Fatalf("%s: GetLease: %v, found %t", step.name, err, found)
		}
		if ok != step.wantOK || got.Holder != step.wantHolder || got.Generation != step.wantGen ||
			!got.ExpiresAt.Equal(t0.Add(step.wantExpiry)) {
			t.Errorf("%s: ok %t, lease %s gen %d until +%s; want ok %t, %s gen %d until +%s", step.name,
				ok, got.Holder, got.Generation, got.ExpiresAt.Sub(t0), step.wantOK, step.wantHolder, step.wantGen, step.wantExpiry)
		}
	}
}

// TestAcquireLeaseRace: daemons in separate processes (here: separate
// connections to one file) try to take the same free lease at once;
// exactly one gets it.
func TestAcquireLeaseRace(t *testing.T) { forEachBackend(t, testAcquireLeaseRace) }

func testAcquireLeaseRace(t *testing.T, b backend) {
	where := b.where(t)
	const daemons = 4
	stores := make([]*Store, daemons)
	for i := range stores {
		s, err := b.openAt(t.Context(), where, latestVersion())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	for round := range 20 {
		name := fmt.Sprintf("caldav:round%d", round)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
		)
		for i, s := range stores {
			wg.Go(func() {
				holder := fmt.Sprintf("d%d", i)
				_, ok, err := s.AcquireLease(t.Context(), name, holder, now, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					winners = append(winners, holder)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		l, _, _ := stores[0].GetLease(t.Context(), name)
		if len(winners) != 1 || l.Holder != winners[0] || l.Generation != 1 {
			t.Fatalf("round %d: winners %v, lease held by %s gen %d; want exactly one winner holding generation 1",
				round, winners, l.Holder, l.Generation)
		}
	}
}

// TestWithLeaseFencesCommits: a sync that began under a lease commits
// while its generation holds it, and once another daemon took the lease
// over its batch is rolled back whole, the sync state included.
func TestWithLeaseFencesCommits(t *testing.T) { forEachStore(t, testWithLeaseFencesCommits) }

func testWithLeaseFencesCommits(t *testing.T, s *Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	mine, ok, err := s.AcquireLease(ctx, "imap:bob", "a", t0, time.Second)
	if err != nil || !ok {
		t.Fatalf("acquire: %v, ok %t", err, ok)
	}
	fenced := WithLease(ctx, mine)
	first := mail("1@acme.test", t0, cadence.Counts, "ann@acme.test")
	if _, err := s.SaveMail(fenced, "bob", "INBOX", []cadence.Interaction{first}, FolderState{UIDValidity: 1, UIDNext: 2}); err != nil {
		t.Fatalf("save under the lease held: %v", err)
	}
	if err := s.RecordSyncSuccess(fenced, "imap:bob", t0, nil); err != nil {
		t.Fatalf("record under the lease held: %v", err)
	}

	// b takes the lease over after it expired; a's next batch must fail.
	if _, ok, err := s.AcquireLease(ctx, "imap:bob", "b", t0.Add(2*time.Second), time.Second); err != nil || !ok {
		t.Fatalf("takeover: %v, ok %t", err, ok)
	}
	second := mail("2@acme.test", t0, cadence.Counts, "ann@acme.test")
	_, err = s.SaveMail(fenced, "bob", "INBOX", []cadence.Interaction{second}, FolderState{UIDValidity: 1, UIDNext: 3})
	if !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("save under a lost lease: %v, want ErrLeaseLost", err)
	}
	if err := s.RecordSyncFailure(fenced, "imap:bob", t0.Add(3*time.Second), "late", nil); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("record under a lost lease: %v, want ErrLeaseLost", err)
	}
	ins, err := s.Interactions(ctx, time.Time{})
	if err != nil || len(ins) != 1 || ins[0].Key != first.Key {
		t.Errorf("interactions %v (%v); want only the first mail", ins, err)
	}
	if st, _, _ := s.FolderState(ctx, "bob", "INBOX"); st.UIDNext != 2 {
		t.Errorf("folder state UIDNext %d; want 2: the lost batch's checkpoint must not land", st.UIDNext)
	}
	srcs, err := s.Sources(ctx)
	if err != nil || len(srcs) != 1 || srcs[0].ConsecutiveFailures != 0 {
		t.Errorf("sources %+v (%v); want the success recorded under the lease, not the late failure", srcs, err)
	}
	// Without a fence nothing changes for anybody.
	if _, err := s.SaveMail(ctx, "bob", "INBOX", []cadence.Interaction{second}, FolderState{UIDValidity: 1, UIDNext: 3}); err != nil {
		t.Errorf("unfenced save: %v", err)
	}
}

func TestLeasesListAndDelete(t *testing.T) { forEachStore(t, testLeasesListAndDelete) }

func testLeasesListAndDelete(t *testing.T, s *Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	for _, l := range []struct {
		name string
		at   time.Duration
	}{{"daemon:old", -48 * time.Hour}, {"daemon:new", 0}, {"evaluation", -48 * time.Hour}} {
		if _, _, err := s.AcquireLease(ctx, l.name, "h", t0.Add(l.at), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteLeases(ctx, "daemon:", t0.Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Errorf("DeleteLeases: %d, %v; want 1 (daemon:old)", n, err)
	}
	ls, err := s.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.Name)
	}
	if fmt.Sprint(names) != "[daemon:new evaluation]" {
		t.Errorf("leases %v; want [daemon:new evaluation] (an old lease of another name stays)", names)
	}
}

// EvaluationMark moves when interactions change, when a source completes
// its first sync and when one fails; a routine successful sync leaves it.
func TestEvaluationMark(t *testing.T) { forEachStore(t, testEvaluationMark) }

func testEvaluationMark(t *testing.T, s *Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	mark := func() Mark {
		m, err := s.EvaluationMark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	prev := mark()
	for _, step := range []struct {
		name  string
		do    func() error
		moves bool
	}{
		{"first sync", func() error { return s.RecordSyncSuccess(ctx, "imap:bob", t0, nil) }, true},
		{"routine sync", func() error { return s.RecordSyncSuccess(ctx, "imap:bob", t0.Add(time.Minute), nil) }, false},
		{"mail stored", func() error {
			_, err := s.SaveMail(ctx, "bob", "INBOX", []cadence.Interaction{mail("1@acme.test", t0, cadence.Counts, "ann@acme.test")},
				FolderState{UIDValidity: 1, UIDNext: 2})
			return err
		}, true},
		{"failure", func() error { return s.RecordSyncFailure(ctx, "imap:bob", t0.Add(2*time.Minute), "refused", nil) }, true},
		{"recovery", func() error { return s.RecordSyncSuccess(ctx, "imap:bob", t0.Add(3*time.Minute), nil) }, true},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		now := mark()
		if (now != prev) != step.moves {
			t.Errorf("%s: mark %+v after %+v; want moved %t", step.name, now, prev, step.moves)
		}
		prev = now
	}
}
