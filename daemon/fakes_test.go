package daemon

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// fakeSource records when Sync was called and returns scripted results.
type fakeSource struct {
	name   string
	errs   []error       // result of call i; nil beyond the end
	stored map[int]int64 // "stored" stat of call i, failed or not
	gate   chan struct{} // when set, each Sync waits for one receive
	// onSync, when set, is called with each Sync's context first; Sync
	// then fails if the context ended.
	onSync func(ctx context.Context)
	log    *eventLog // when set, records "sync <name>"
	mu     sync.Mutex
	calls  []time.Time
	closed atomic.Int32 // Close calls
}

func (f *fakeSource) Name() string { return f.name }

func (f *fakeSource) Close() error {
	f.closed.Add(1)
	return nil
}

func (f *fakeSource) Sync(ctx context.Context) (map[string]int64, error) {
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, time.Now())
	f.mu.Unlock()
	if f.log != nil {
		f.log.add("sync " + f.name)
	}
	if f.onSync != nil {
		f.onSync(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if n < len(f.errs) && f.errs[n] != nil {
		// What a real source stored before failing, like a batch written
		// before the connection dropped.
		return map[string]int64{"stored": f.stored[n]}, f.errs[n]
	}
	return map[string]int64{"fetched": 1, "stored": f.stored[n]}, nil
}

// offsets returns the calls' times relative to start.
func (f *fakeSource) offsets(start time.Time) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return offsets(f.calls, start)
}

// fakeWatcher is a fakeSource that can push changes. Each Watch call hands
// its changed func to the test on changedc, then fails at once with the
// scripted error or, beyond the script, blocks until ctx ends.
type fakeWatcher struct {
	fakeSource
	watchErrs []error
	changedc  chan func()
	wmu       sync.Mutex
	watches   []time.Time
}

func (f *fakeWatcher) Watch(ctx context.Context, changed func()) error {
	f.wmu.Lock()
	n := len(f.watches)
	f.watches = append(f.watches, time.Now())
	f.wmu.Unlock()
	if n < len(f.watchErrs) {
		return f.watchErrs[n]
	}
	select {
	case f.changedc <- changed:
	default:
	}
	<-ctx.Done()
	return nil
}

func (f *fakeWatcher) watchOffsets(start time.Time) []time.Duration {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	return offsets(f.watches, start)
}

// eventLog is an ordered record of what the fakes did.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(e string) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// stepRecorder is a fake Evaluate or Deliver: it records call times and
// the highest number of calls that overlapped.
type stepRecorder struct {
	mu        sync.Mutex
	calls     []time.Time
	inFlight  atomic.Int32
	maxFlight atomic.Int32
	log       *eventLog
	logName   string
	err       error
	holdFor   time.Duration // each call takes this long (fake time)
}

func (s *stepRecorder) call() error {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxFlight.Load()
		if n <= m || s.maxFlight.CompareAndSwap(m, n) {
			break
		}
	}
	s.mu.Lock()
	s.calls = append(s.calls, time.Now())
	s.mu.Unlock()
	if s.log != nil {
		s.log.add(s.logName)
	}
	if s.holdFor > 0 {
		time.Sleep(s.holdFor)
	}
	return s.err
}

func (s *stepRecorder) evaluate(ctx context.Context, now time.Time) (Evaluated, error) {
	return Evaluated{}, s.call()
}
func (s *stepRecorder) deliver(ctx context.Context) (Delivered, error) { return Delivered{}, s.call() }

func (s *stepRecorder) offsets(start time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return offsets(s.calls, start)
}

func offsets(ts []time.Time, start time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Sub(start)
	}
	return out
}

var errFake = errors.New("connection refused")

// testRunner builds a runner over a fresh store, with jitter off so delays
// are exact. Call it inside the synctest bubble; close the store with the
// returned func before the bubble ends.
func testRunner(t *testing.T, plan *Plan, sync config.Sync) (*runner, *store.Store, func()) {
	t.Helper()
	st, err := store.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t)
	m, err := newMetrics(prometheus.NewRegistry(), "test", st, log)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(plan, &config.Config{Sync: sync}, st, m, log, time.Now)
	r.jitter = func(d time.Duration) time.Duration { return d }
	return r, st, func() { st.Close() }
}
