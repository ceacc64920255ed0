package daemon

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// The cluster tests' settings: leases of 3 s, polls every second.
const (
	testTTL  = 3 * time.Second
	testPoll = time.Second
)

// member is one daemon of a test cluster: its runner, with its own
// connection to the shared store and its own fake sources of the shared
// names, as a separate process would have.
type member struct {
	holder  string
	r       *runner
	st      *store.Store
	reg     *prometheus.Registry
	sources map[string]*fakeSource
	eval    *stepRecorder
}

// newMember builds a cluster member over the store in dir. Call it inside
// the synctest bubble; the store is closed at the end of the test.
func newMember(t *testing.T, dir, holder string, names []string) *member {
	t.Helper()
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := zaptest.NewLogger(t).Named(holder)
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, "test", st, log)
	if err != nil {
		t.Fatal(err)
	}
	d := &member{holder: holder, st: st, reg: reg, sources: map[string]*fakeSource{}, eval: &stepRecorder{}}
	plan := &Plan{Evaluate: d.eval.evaluate}
	for _, n := range names {
		src := &fakeSource{name: n}
		d.sources[n] = src
		plan.Sources = append(plan.Sources, src)
	}
	cfg := &config.Config{Sync: config.Sync{PollInterval: testPoll},
		Cluster: config.Cluster{Enabled: true, LeaseDuration: testTTL}}
	d.r = newRunner(plan, cfg, st, m, log, time.Now)
	d.r.jitter = func(d time.Duration) time.Duration { return d }
	d.r.leases = newLessor(st, holder, testTTL, len(names), m, log, time.Now)
	return d
}

// syncedIn returns the sources d synced in [from, to).
func (d *member) syncedIn(from, to time.Time) []string {
	var out []string
	for name, src := range d.sources {
		src.mu.Lock()
		if slices.ContainsFunc(src.calls, func(c time.Time) bool { return !c.Before(from) && c.Before(to) }) {
			out = append(out, name)
		}
		src.mu.Unlock()
	}
	slices.Sort(out)
	return out
}

// callsSince counts rec's calls at or after t.
func callsSince(rec *stepRecorder, t time.Time) int {
	n := 0
	for _, d := range rec.offsets(t) {
		if d >= 0 {
			n++
		}
	}
	return n
}

// leasesHeld reads d's touchbase_leases_held gauge of kind from /metrics'
// registry.
func (d *member) leasesHeld(t *testing.T, kind string) float64 {
	t.Helper()
	mfs, err := d.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "touchbase_leases_held" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no touchbase_leases_held{kind=%q}", kind)
	return 0
}

// die stops d as a crash would: it loses the store first, so it can
// neither release its leases nor commit anything; they expire.
func (d *member) die() {
	d.st.Close()
	<-d.r.stop()
}

var testSources = []string{"caldav:anna", "caldav:ben", "imap:anna", "imap:ben"}

// Two daemons share four sources: after the first took them all, it hands
// half over, each source is then synced by one daemon only, and only one
// daemon evaluates. The store's leases say who.
func TestClusterSharesTheWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		a := newMember(t, dir, "host-a:1:aaaaaa", testSources)
		b := newMember(t, dir, "host-b:2:bbbbbb", testSources)
		begin := time.Now()
		a.r.start(t.Context())
		time.Sleep(testPoll / 2)
		b.r.start(t.Context())
		time.Sleep(10 * testTTL)
		from := time.Now()
		time.Sleep(5 * testPoll)
		to := time.Now()
		byA, byB := a.syncedIn(from, to), b.syncedIn(from, to)
		leases, err := a.st.Leases(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		<-a.r.stop()
		<-b.r.stop()

		if len(byA) != 2 || len(byB) != 2 || slices.ContainsFunc(byA, func(n string) bool { return slices.Contains(byB, n) }) {
			t.Errorf("in the last %s a synced %v, b synced %v; want two sources each, none by both", to.Sub(from), byA, byB)
		}
		if na, nb := callsSince(a.eval, begin), callsSince(b.eval, begin); (na == 0) == (nb == 0) {
			t.Errorf("a evaluated %d times, b %d times; want exactly one of them evaluating", na, nb)
		}
		holders := map[string]string{}
		for _, l := range leases {
			holders[l.Name] = l.Holder
		}
		for _, n := range byA {
			if holders[n] != a.holder {
				t.Errorf("%s synced by a, but its lease is %s's", n, holders[n])
			}
		}
		for _, n := range byB {
			if holders[n] != b.holder {
				t.Errorf("%s synced by b, but its lease is %s's", n, holders[n])
			}
		}
	})
}

// A daemon that dies keeps its leases until they expire; then the other
// one takes its sources and the evaluation, within the lease duration
// plus one poll.
func TestClusterTakesOverFromADeadDaemon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		a := newMember(t, dir, "host-a:1:aaaaaa", testSources)
		b := newMember(t, dir, "host-b:2:bbbbbb", testSources)
		a.r.start(t.Context())
		synctest.Wait()
		b.r.start(t.Context())
		time.Sleep(10 * testTTL)
		before := time.Now()
		time.Sleep(2 * testPoll)
		orphans := a.syncedIn(before, time.Now())
		if len(orphans) == 0 {
			t.Fatal("a synced nothing before it died")
		}
		aEvaluated := callsSince(a.eval, before) > 0

		a.die()
		died := time.Now()
		time.Sleep(testTTL + 2*testPoll)
		// Taken over no later than expiry (renewed up to a third of the
		// lease before the death) plus one poll and the waiting spread.
		deadline := died.Add(testTTL + testPoll + testTTL/10 + time.Millisecond)
		for _, n := range orphans {
			src := b.sources[n]
			src.mu.Lock()
			i := slices.IndexFunc(src.calls, func(c time.Time) bool { return c.After(died) })
			var at time.Time
			if i >= 0 {
				at = src.calls[i]
			}
			src.mu.Unlock()
			if i < 0 {
				t.Errorf("%s: never synced by b after a died", n)
				continue
			}
			if at.After(deadline) {
				t.Errorf("%s: b took over %s after a died; want within %s", n, at.Sub(died), deadline.Sub(died))
			}
		}
		if aEvaluated && callsSince(b.eval, died) == 0 {
			t.Error("a evaluated before it died, and b never evaluated after")
		}
		if got := b.leasesHeld(t, kindSource); got != float64(len(testSources)) {
			t.Errorf("b's touchbase_leases_held{kind=source} = %v, want %d", got, len(testSources))
		}
		<-b.r.stop()
		if got := b.leasesHeld(t, kindSource); got != 0 {
			t.Errorf("after stop, touchbase_leases_held{kind=source} = %v, want 0", got)
		}
	})
}

// A daemon that stops releases its leases: the other takes over at its
// next attempt, without waiting for them to expire.
func TestClusterStopReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		a := newMember(t, dir, "host-a:1:aaaaaa", testSources[:1])
		b := newMember(t, dir, "host-b:2:bbbbbb", testSources[:1])
		a.r.start(t.Context())
		synctest.Wait()
		b.r.start(t.Context())
		time.Sleep(testTTL + testPoll/2)
		held, _, err := a.st.GetLease(t.Context(), testSources[0])
		if err != nil || held.Holder != a.holder {
			t.Fatalf("before a stopped: lease %+v (%v); want a's", held, err)
		}
		stopped := time.Now()
		<-a.r.stop()
		time.Sleep(testPoll)
		l, _, err := b.st.GetLease(t.Context(), testSources[0])
		if err != nil || l.Holder != b.holder || !l.AcquiredAt.Before(held.ExpiresAt) {
			t.Errorf("%s after a stopped: lease %+v (%v); want b's, taken before a's would have expired (%s)",
				testPoll, l, err, held.ExpiresAt.Sub(stopped))
		}
		if got := b.syncedIn(stopped, time.Now()); len(got) != 1 {
			t.Errorf("b synced %v since a stopped; want the released source", got)
		}
		<-b.r.stop()
	})
}

// A sync whose lease passes to another daemon while it runs stops: its
// context ends, nothing it commits lands, no failure is recorded, and the
// daemon waits for the lease instead of syncing on.
func TestLostLeaseStopsTheSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		a := newMember(t, dir, "host-a:1:aaaaaa", testSources[:1])
		src := a.sources[testSources[0]]
		committed := make(chan error, 1)
		src.onSync = func(ctx context.Context) {
			<-ctx.Done() // the lease is lost while the pass runs
			// A write that ignores the cancellation still carries the fence.
			committed <- a.st.RecordSyncSuccess(context.WithoutCancel(ctx), "late-commit", time.Now(), nil)
		}
		a.r.start(t.Context())
		synctest.Wait() // the first sync runs on

		// The lease is taken from a: as if a had stalled past its expiry.
		l, _, err := a.st.GetLease(t.Context(), testSources[0])
		if err != nil {
			t.Fatal(err)
		}
		must(t, a.st.ReleaseLease(t.Context(), l, time.Now()))
		if _, ok, err := a.st.AcquireLease(t.Context(), l.Name, "thief", time.Now(), time.Hour); err != nil || !ok {
			t.Fatalf("thief: %v, %t", err, ok)
		}
		select {
		case err := <-committed:
			if !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("a commit under the lost lease: %v, want ErrLeaseLost", err)
			}
		case <-time.After(testTTL):
			t.Fatalf("the sync ran on for %s after its lease was lost", testTTL)
		}
		calls := len(src.offsets(time.Now()))
		time.Sleep(5 * testPoll)
		if got := len(src.offsets(time.Now())); got != calls {
			t.Errorf("%d more syncs while another daemon held the lease; want none", got-calls)
		}
		health, err := a.st.Sources(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(health) != 0 {
			t.Errorf("health recorded %+v; want nothing: the pass was the lease's loss, not the source's failure", health)
		}
		<-a.r.stop()
	})
}

// In a cluster, run --once syncs the sources nobody holds and skips those
// another daemon works on, evaluation included, and gives its leases back.
func TestRunOnceInACluster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		a := newMember(t, dir, "once:1:aaaaaa", testSources)
		now := time.Now()
		for _, n := range []string{"imap:ben", evaluationLease} {
			if _, ok, err := a.st.AcquireLease(t.Context(), n, "daemon-b", now, time.Hour); err != nil || !ok {
				t.Fatalf("%s: %v, %t", n, err, ok)
			}
		}
		res, err := a.r.once(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"caldav:anna", "caldav:ben", "imap:anna"}; !slices.Equal(res.Synced, want) ||
			!slices.Equal(res.Skipped, []string{evaluationLease, "imap:ben"}) {
			t.Errorf("synced %v, skipped %v; want %v and [evaluation imap:ben]", res.Synced, res.Skipped, want)
		}
		if n := callsSince(a.eval, now); n != 0 {
			t.Errorf("evaluated %d times; want none: daemon-b holds the evaluation", n)
		}
		leases, err := a.st.Leases(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leases {
			if l.Holder == a.holder && l.Live(time.Now()) {
				t.Errorf("%s still held after the pass", l.Name)
			}
		}
	})
}

// A daemon that has its share of sources leaves a free source to one that
// has not, unless nobody took it for two lease durations; one below its
// share takes it at once. A live lease of another daemon is never taken.
func TestTakeLeavesFreeSourcesToOthers(t *testing.T) {
	st, err := store.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	l, _, err := st.AcquireLease(t.Context(), "imap:anna", "gone", t0, testTTL)
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.ReleaseLease(t.Context(), l, t0))
	if _, _, err := st.AcquireLease(t.Context(), "imap:ben", "other", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		lease     string
		holding   int // sources held of 2, with 2 daemons: a share of 1
		after     time.Duration
		wantTaken bool
	}{
		{"below its share: takes the free source", "imap:anna", 0, 0, true},
		{"at its share: leaves it", "imap:anna", 1, testTTL, false},
		{"at its share, free for two lease durations: takes it", "imap:anna", 1, 2 * testTTL, true},
		{"another daemon's live lease: never", "imap:ben", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := func() time.Time { return t0.Add(tc.after) }
			m, err := newMetrics(prometheus.NewRegistry(), "test", st, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			ls := newLessor(st, "me", testTTL, 2, m, zaptest.NewLogger(t), now)
			ls.members = 2
			for i := range tc.holding {
				ls.held[string(rune('a'+i))] = true
			}
			h, wait, err := ls.take(t.Context(), tc.lease, kindSource)
			if err != nil {
				t.Fatal(err)
			}
			if (h != nil) != tc.wantTaken || (h == nil && wait <= 0) {
				t.Errorf("taken %t (wait %s), want taken %t and a wait otherwise", h != nil, wait, tc.wantTaken)
			}
			if h != nil {
				h.release()
			}
		})
	}
}

// The evaluation lease's holder evaluates what another daemon synced
// within a second, not at its next minute: here a source's first sync.
func TestClusterEvaluatesWhatOthersSynced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		a := newMember(t, dir, "host-a:1:aaaaaa", nil)
		a.r.start(t.Context())
		time.Sleep(10 * time.Second) // a holds the evaluation, evaluates at once, then waits
		b := newMember(t, dir, "host-b:2:bbbbbb", testSources[:1])
		started := time.Now()
		b.r.start(t.Context())
		time.Sleep(2 * changeCheckEvery)
		if n := callsSince(a.eval, started); n == 0 {
			t.Errorf("a did not evaluate within %s of b's first sync", 2*changeCheckEvery)
		}
		if n := callsSince(b.eval, started); n != 0 {
			t.Errorf("b evaluated %d times; want none: a holds the evaluation", n)
		}
		time.Sleep(10 * time.Second)
		if n := callsSince(a.eval, started.Add(3*changeCheckEvery)); n != 0 {
			t.Errorf("a evaluated %d times more while b's syncs changed nothing", n)
		}
		<-b.r.stop()
		<-a.r.stop()
	})
}
