package daemon

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/touchbase/touchbase/config"
)

const s, m, h = time.Second, time.Minute, time.Hour

func TestBackoff(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, 5 * s}, {2, 10 * s}, {3, 20 * s}, {4, 40 * s}, {5, 80 * s},
		{6, 160 * s}, {7, 5 * m}, {8, 5 * m}, {11, 5 * m}, {64, 5 * m}, {1000, 5 * m},
	}
	for _, tc := range tests {
		if got := backoff(tc.failures, func(d time.Duration) time.Duration { return d }); got != tc.want {
			t.Errorf("backoff(%d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
}

func TestEqualJitterStaysInRange(t *testing.T) {
	for _, d := range []time.Duration{5 * s, 5 * m, 1} {
		seen := map[time.Duration]bool{}
		for range 1000 {
			got := equalJitter(d)
			if got < d/2 || got > d {
				t.Fatalf("equalJitter(%v) = %v, want within [%v, %v]", d, got, d/2, d)
			}
			seen[got] = true
		}
		if d > 1 && len(seen) < 100 {
			t.Errorf("equalJitter(%v): %d distinct values in 1000 draws; want spread", d, len(seen))
		}
	}
}

// A failing source retries after 5 s, 10 s, 20 s; after a success it waits
// poll_interval. The store follows: failures counted, then cleared.
func TestSyncBacksOffAfterFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{name: "imap:alice", errs: []error{errFake, errFake, errFake}}
		r, st, closeStore := testRunner(t, &Plan{Sources: []Source{src}}, config.Sync{PollInterval: h})
		defer closeStore()
		start := time.Now()
		r.start(t.Context())

		time.Sleep(30 * s) // three failures so far
		synctest.Wait()
		health, err := st.Sources(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(health) != 1 || health[0].ConsecutiveFailures != 3 || !health[0].FailingSince.Equal(start.Truncate(time.Millisecond)) ||
			!strings.Contains(health[0].LastError, "connection refused") {
			t.Errorf("after 3 failures: store has %+v; want 3 failures failing since %v", health, start)
		}

		time.Sleep(2*h + 10*s) // until 2h0m40s
		<-r.stop()
		want := []time.Duration{0, 5 * s, 15 * s, 35 * s, 35*s + h, 35*s + 2*h}
		if got := src.offsets(start); !slices.Equal(got, want) {
			t.Errorf("syncs at %v, want %v", got, want)
		}
		health, err = st.Sources(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if health[0].ConsecutiveFailures != 0 || !health[0].FailingSince.IsZero() || health[0].Stats["fetched"] != 3 {
			t.Errorf("after recovery: store has %+v; want no failures and 3 fetched", health[0])
		}
	})
}

// A watcher's change notification syncs at once instead of waiting for the
// next poll, and the poll timer starts again from that sync.
func TestWatchChangeSyncsImmediately(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeWatcher{fakeSource: fakeSource{name: "imap:alice"}, changedc: make(chan func(), 1)}
		r, _, closeStore := testRunner(t, &Plan{Sources: []Source{src}}, config.Sync{PollInterval: h, Idle: true})
		defer closeStore()
		start := time.Now()
		r.start(t.Context())
		changed := <-src.changedc

		time.Sleep(10 * m)
		changed()
		synctest.Wait()
		if got, want := src.offsets(start), []time.Duration{0, 10 * m}; !slices.Equal(got, want) {
			t.Errorf("after a change at 10m: syncs at %v, want %v", got, want)
		}
		time.Sleep(h + m)
		<-r.stop()
		if got, want := src.offsets(start), []time.Duration{0, 10 * m, 70 * m}; !slices.Equal(got, want) {
			t.Errorf("syncs at %v, want %v", got, want)
		}
	})
}

// Changes reported while a sync runs merge into one more sync.
func TestWatchChangesCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		src := &fakeWatcher{fakeSource: fakeSource{name: "imap:alice", gate: gate}, changedc: make(chan func(), 1)}
		r, _, closeStore := testRunner(t, &Plan{Sources: []Source{src}}, config.Sync{PollInterval: h, Idle: true})
		defer closeStore()
		r.start(t.Context())
		changed := <-src.changedc
		synctest.Wait() // the first sync waits at the gate
		for range 5 {
			changed()
		}
		gate <- struct{}{} // first sync ends
		synctest.Wait()
		gate <- struct{}{} // the one sync the changes asked for ends
		synctest.Wait()
		if got := len(src.offsets(time.Now())); got != 2 {
			t.Errorf("%d syncs, want 2: five changes during a sync coalesce into one", got)
		}
		<-r.stop()
	})
}

// A watch that fails reconnects with the same backoff as syncs; with
// sync.idle off, Watch is never called.
func TestWatchReconnectBackoff(t *testing.T) {
	tests := []struct {
		name string
		idle bool
		want []time.Duration
	}{
		{"idle", true, []time.Duration{0, 5 * s, 15 * s, 35 * s}},
		{"idle off", false, []time.Duration{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := &fakeWatcher{fakeSource: fakeSource{name: "imap:alice"}, changedc: make(chan func(), 1),
					watchErrs: []error{errFake, errFake, errFake}}
				r, _, closeStore := testRunner(t, &Plan{Sources: []Source{src}}, config.Sync{PollInterval: h, Idle: tc.idle})
				defer closeStore()
				start := time.Now()
				r.start(t.Context())
				time.Sleep(10 * m)
				<-r.stop()
				if got := src.watchOffsets(start); !slices.Equal(got, tc.want) {
					t.Errorf("watches at %v, want %v", got, tc.want)
				}
			})
		})
	}
}

// Evaluation runs after a sync that stored something, failed, or
// succeeded after failing, and every minute, never concurrently; delivery
// follows every evaluation and every second.
func TestEvaluateAndDeliverSchedule(t *testing.T) {
	tests := []struct {
		name     string
		storedOn map[int]int64 // sync index → "stored"; polls every 30 s
		errs     []error
		want     []time.Duration
	}{
		{"stored at start", map[int]int64{0: 2}, nil, []time.Duration{0, m, 2 * m}},
		{"nothing stored", nil, nil, []time.Duration{m, 2 * m}},
		{"stored on second sync", map[int]int64{1: 1}, nil, []time.Duration{30 * s, 90 * s}},
		{"stored, then failed", map[int]int64{0: 3}, []error{errFake}, []time.Duration{0, 5 * s, 65 * s, 125 * s}},
		{"failed, nothing stored", nil, []error{errFake}, []time.Duration{0, 5 * s, 65 * s, 125 * s}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := &fakeSource{name: "caldav:alice", stored: tc.storedOn, errs: tc.errs}
				eval, deliv := &stepRecorder{}, &stepRecorder{}
				plan := &Plan{Sources: []Source{src}, Evaluate: eval.evaluate, Deliver: deliv.deliver}
				r, _, closeStore := testRunner(t, plan, config.Sync{PollInterval: 30 * s})
				defer closeStore()
				start := time.Now()
				r.start(t.Context())
				time.Sleep(145 * s)
				<-r.stop()
				if got := eval.offsets(start); !slices.Equal(got, tc.want) {
					t.Errorf("evaluations at %v, want %v", got, tc.want)
				}
				checkDeliveries(t, deliv.offsets(start), tc.want)
				if n := src.closed.Load(); n != 1 {
					t.Errorf("source closed %d times after the runner stopped, want 1", n)
				}
				if eval.maxFlight.Load() != 1 || deliv.maxFlight.Load() != 1 {
					t.Errorf("max concurrent calls: evaluate %d, deliver %d; want 1 each", eval.maxFlight.Load(), deliv.maxFlight.Load())
				}
			})
		})
	}
}

// checkDeliveries wants a delivery at each evaluation and no second
// without one.
func checkDeliveries(t *testing.T, got, evals []time.Duration) {
	t.Helper()
	for _, e := range evals {
		if !slices.Contains(got, e) {
			t.Errorf("no delivery right after the evaluation at %v", e)
		}
	}
	for sec := time.Duration(1); sec <= 145; sec++ {
		if !slices.Contains(got, sec*s) {
			t.Errorf("no delivery at %v", sec*s)
			return
		}
	}
}

// Evaluations requested while one runs wait for it: one at a time.
func TestEvaluateNeverConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srcs := []Source{}
		for _, name := range []string{"imap:a", "imap:b", "imap:c", "caldav:a"} {
			srcs = append(srcs, &fakeSource{name: name, stored: map[int]int64{0: 1, 1: 1, 2: 1, 3: 1}})
		}
		eval := &stepRecorder{holdFor: 45 * s} // longer than the poll
		r, _, closeStore := testRunner(t, &Plan{Sources: srcs, Evaluate: eval.evaluate}, config.Sync{PollInterval: 20 * s})
		defer closeStore()
		r.start(t.Context())
		time.Sleep(5 * m)
		<-r.stop()
		if n := len(eval.offsets(time.Now())); n < 5 {
			t.Errorf("%d evaluations in 5 minutes, want at least 5", n)
		}
		if eval.maxFlight.Load() != 1 {
			t.Errorf("%d evaluations overlapped, want 1 at a time", eval.maxFlight.Load())
		}
	})
}

// RunOnce syncs each source exactly once, then evaluates, then delivers;
// a failing source does not stop the later steps, and its error names it.
func TestRunOnce(t *testing.T) {
	log := &eventLog{}
	srcs := []*fakeSource{
		{name: "imap:alice", log: log},
		{name: "imap:bob", log: log, errs: []error{errFake}},
		{name: "caldav:alice", log: log},
	}
	eval := &stepRecorder{log: log, logName: "evaluate"}
	deliv := &stepRecorder{log: log, logName: "deliver"}
	plan := &Plan{Evaluate: eval.evaluate, Deliver: deliv.deliver}
	for _, src := range srcs {
		plan.Sources = append(plan.Sources, src)
	}
	r, st, closeStore := testRunner(t, plan, config.Sync{PollInterval: h})
	defer closeStore()

	res, err := r.once(t.Context())
	if err == nil || !strings.Contains(err.Error(), "imap:bob: connection refused") {
		t.Errorf("RunOnce error = %v, want it to name imap:bob's failure", err)
	}
	if want := []string{"caldav:alice", "imap:alice"}; !slices.Equal(res.Synced, want) || !slices.Equal(res.Failed, []string{"imap:bob"}) {
		t.Errorf("pass synced %q, failed %q; want %q and [imap:bob]", res.Synced, res.Failed, want)
	}
	events := log.list()
	if len(events) != 5 || events[3] != "evaluate" || events[4] != "deliver" {
		t.Fatalf("events %q: want 3 syncs, then evaluate, then deliver", events)
	}
	for _, src := range srcs {
		if n := src.closed.Load(); n != 1 {
			t.Errorf("%s closed %d times after the pass, want 1", src.name, n)
		}
	}
	syncs := slices.Sorted(slices.Values(events[:3]))
	if want := []string{"sync caldav:alice", "sync imap:alice", "sync imap:bob"}; !slices.Equal(syncs, want) {
		t.Errorf("syncs %q, want each source once: %q", syncs, want)
	}
	health, err := st.Sources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	failures := map[string]int{}
	for _, h := range health {
		failures[h.Name] = h.ConsecutiveFailures
	}
	if len(health) != 3 || failures["imap:bob"] != 1 || failures["imap:alice"] != 0 {
		t.Errorf("recorded health %+v; want 3 sources, imap:bob failing", health)
	}
}

// RunOnce reports evaluation and delivery errors too.
func TestRunOnceStepErrors(t *testing.T) {
	eval := &stepRecorder{err: errors.New("bad policy")}
	deliv := &stepRecorder{err: errors.New("endpoint down")}
	r, _, closeStore := testRunner(t, &Plan{Evaluate: eval.evaluate, Deliver: deliv.deliver}, config.Sync{})
	defer closeStore()
	_, err := r.once(context.Background())
	for _, want := range []string{"evaluate: bad policy", "deliver: endpoint down"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("RunOnce error = %v, want it to contain %q", err, want)
		}
	}
}

// The watchdog check fails when a step runs longer than it may.
func TestRunnerCheckStuckWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		src := &fakeSource{name: "imap:alice", gate: gate}
		r, _, closeStore := testRunner(t, &Plan{Sources: []Source{src}}, config.Sync{PollInterval: h})
		defer closeStore()
		r.start(t.Context())
		synctest.Wait()
		if err := r.check(time.Now().Add(syncStuckAfter - s)); err != nil {
			t.Errorf("check while syncing for less than the limit: %v", err)
		}
		err := r.check(time.Now().Add(syncStuckAfter + s))
		if err == nil || !strings.Contains(err.Error(), "imap:alice busy since") {
			t.Errorf("check with a sync stuck past the limit = %v, want an error naming it", err)
		}
		gate <- struct{}{}
		synctest.Wait()
		if err := r.check(time.Now().Add(10 * syncStuckAfter)); err != nil {
			t.Errorf("check with every loop idle: %v", err)
		}
		<-r.stop()
	})
}

// A delivery refused in a one-shot pass fails the pass, naming the
// endpoint, and the counts of every step come back.
func TestRunOnceFailedDeliveries(t *testing.T) {
	plan := &Plan{
		Evaluate: func(context.Context, time.Time) (Evaluated, error) { return Evaluated{Opened: 2, Resolved: 1}, nil },
		Deliver: func(context.Context) (Delivered, error) {
			return Delivered{Sent: 1, Failed: 2, FailedEndpoints: []string{"sink"}}, nil
		},
	}
	r, _, closeStore := testRunner(t, plan, config.Sync{})
	defer closeStore()
	res, err := r.once(t.Context())
	if err == nil || !strings.Contains(err.Error(), "2 of 3 webhook deliveries failed (endpoints sink;") {
		t.Errorf("RunOnce error = %v, want it to name the failed deliveries and endpoint sink", err)
	}
	if got, want := res.Alerts, (Evaluated{Opened: 2, Resolved: 1}); got != want {
		t.Errorf("alerts %+v, want %+v", got, want)
	}
	if got := res.Deliveries; got.Sent != 1 || got.Failed != 2 {
		t.Errorf("deliveries %+v, want 1 sent, 2 failed", got)
	}
}
