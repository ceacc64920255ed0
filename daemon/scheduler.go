package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// changeStats are the Sync stats that mean the store changed, so
// commitments need evaluating again.
var changeStats = []string{"stored", "updated", "deleted"}

// Scheduling constants.
const (
	backoffMin     = 5 * time.Second // first retry after a failed sync or watch
	backoffMax     = 5 * time.Minute
	evaluateEvery  = time.Minute
	deliverEvery   = time.Second
	defaultPoll    = 5 * time.Minute
	watchHealthy   = time.Minute      // a watch that lasted this long resets its backoff
	recordTimeout  = 10 * time.Second // writing a finished sync's outcome
	syncStuckAfter = 2 * time.Hour    // a first backfill of a large mailbox is slow
	stepStuckAfter = 10 * time.Minute // one evaluation or delivery pass
	shutdownWait   = 8 * time.Second  // SIGTERM must exit within 10 s
	// Retention runs a while after start (not among the first syncs),
	// then a few times a day, deleting in batches with pauses between.
	retainFirst      = 10 * time.Minute
	retainEvery      = 6 * time.Hour
	retainBatch      = 1000
	retainPause      = 20 * time.Millisecond
	retainStuckAfter = time.Hour
)

// runner runs one Plan: a sync loop per source (plus a watch loop for
// watchers when sync.idle is on), one evaluation loop and one delivery
// loop. Evaluation and delivery each run in a single goroutine, so they
// never run concurrently with themselves.
type runner struct {
	plan   *Plan
	cfg    *config.Config
	st     Store
	m      *metrics
	log    *zap.Logger
	now    func() time.Time
	jitter func(time.Duration) time.Duration

	evalReq    chan struct{} // coalesced: capacity 1
	deliverReq chan struct{}
	workers    []*worker
	cancel     context.CancelFunc
	done       chan struct{}
}

func (d *Daemon) newRunner(snap *snapshot) *runner {
	return newRunner(snap.plan, snap.cfg, d.store, d.metrics, d.log, d.opts.Now)
}

func newRunner(plan *Plan, cfg *config.Config, st Store, m *metrics, log *zap.Logger, now func() time.Time) *runner {
	return &runner{
		plan: plan, cfg: cfg, st: st, m: m, log: log, now: now,
		jitter:     equalJitter,
		evalReq:    make(chan struct{}, 1),
		deliverReq: make(chan struct{}, 1),
	}
}

// start starts the loops; they run until stop or until ctx ends.
func (r *runner) start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	var wg sync.WaitGroup
	for _, src := range r.plan.Sources {
		w := r.worker(src.Name(), syncStuckAfter)
		wg.Go(func() { r.syncLoop(ctx, &wg, src, w) })
	}
	if r.plan.Evaluate != nil {
		w := r.worker("evaluate", stepStuckAfter)
		wg.Go(func() { r.evaluateLoop(ctx, w) })
	}
	if r.plan.Deliver != nil {
		w := r.worker("deliver", stepStuckAfter)
		wg.Go(func() { r.deliverLoop(ctx, w) })
	}
	w := r.worker("retention", retainStuckAfter)
	wg.Go(func() { r.retainLoop(ctx, w) })
	go func() {
		wg.Wait()
		r.closeSources()
		close(r.done)
	}()
}

// closeSources releases what the plan's sources keep between passes (an
// IMAP connection kept for the next poll): after a reload or at shutdown
// nobody will use it again.
func (r *runner) closeSources() {
	for _, src := range r.plan.Sources {
		if c, ok := src.(io.Closer); ok {
			if err := c.Close(); err != nil {
				r.log.Debug("close source", zap.String(keySource, src.Name()), zap.Error(err))
			}
		}
	}
}

// stop cancels the loops and returns a channel closed once they all ended.
func (r *runner) stop() <-chan struct{} {
	r.cancel()
	return r.done
}

// PassResult is what one RunOnce pass did.
type PassResult struct {
	Synced, Failed []string                    // source names, sorted
	Stats          map[string]map[string]int64 // each source's counters for this pass ("stored", ...)
	Alerts         Evaluated
	Deliveries     Delivered
}

// once syncs every source once (concurrently), then evaluates, then
// delivers: the steps of the loops, run one time each. It returns what
// the pass did and every step's error, joined; later steps run even when a
// sync failed. A delivery a receiver refused is an error here, unlike in
// the loops (where the outbox retries it): a one-shot pass has no later.
func (r *runner) once(ctx context.Context) (PassResult, error) {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		res  = PassResult{Stats: map[string]map[string]int64{}}
	)
	for _, src := range r.plan.Sources {
		wg.Go(func() {
			stats, err := r.syncOnce(ctx, src, nil)
			mu.Lock()
			defer mu.Unlock()
			res.Stats[src.Name()] = stats
			if err != nil {
				res.Failed = append(res.Failed, src.Name())
				errs = append(errs, fmt.Errorf("%s: %w", src.Name(), err))
				return
			}
			res.Synced = append(res.Synced, src.Name())
		})
	}
	wg.Wait()
	slices.Sort(res.Synced)
	slices.Sort(res.Failed)
	r.closeSources()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	var err error
	if res.Alerts, err = r.evaluate(ctx, nil); err != nil {
		errs = append(errs, err)
	}
	if res.Deliveries, err = r.deliver(ctx, nil); err != nil {
		errs = append(errs, err)
	}
	if err := r.retain(ctx, nil); err != nil {
		errs = append(errs, err)
	}
	if dl := res.Deliveries; dl.Failed > 0 {
		errs = append(errs, fmt.Errorf("deliver: %d of %d webhook deliveries failed (endpoints %s; see `touchbase webhooks deliveries`)",
			dl.Failed, dl.Failed+dl.Sent, strings.Join(dl.FailedEndpoints, ", ")))
	}
	return res, errors.Join(errs...)
}

// syncLoop syncs src now, then again after poll_interval on success or a
// growing backoff on failure, and at once when its watcher reports a change.
func (r *runner) syncLoop(ctx context.Context, wg *sync.WaitGroup, src Source, w *worker) {
	trigger := make(chan struct{}, 1)
	if wt, ok := src.(Watcher); ok && r.cfg.Sync.Idle {
		wg.Go(func() { r.watchLoop(ctx, src.Name(), wt, trigger) })
	}
	poll := r.cfg.Sync.PollInterval
	if poll <= 0 {
		poll = defaultPoll
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-trigger:
		}
		delay := poll
		if _, err := r.syncOnce(ctx, src, w); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			delay = backoff(failures, r.jitter)
			r.log.Warn("sync failed", zap.String(keySource, src.Name()), zap.Error(err),
				zap.Int(keyFailures, failures), zap.Duration(keyRetryIn, delay))
		} else {
			if failures > 0 {
				signal(r.evalReq) // recovered: evaluation announces it (sync.recovered)
			}
			failures = 0
		}
		timer.Reset(delay)
	}
}

// watchLoop keeps src's watch running, reconnecting with backoff, and
// turns its change notifications into (coalesced) sync triggers.
func (r *runner) watchLoop(ctx context.Context, name string, w Watcher, trigger chan<- struct{}) {
	changed := func() {
		select {
		case trigger <- struct{}{}:
		default: // a sync is already pending
		}
	}
	failures := 0
	for {
		started := r.now()
		err := w.Watch(ctx, changed)
		if ctx.Err() != nil {
			return
		}
		if r.now().Sub(started) >= watchHealthy {
			failures = 0
		}
		failures++
		delay := backoff(failures, r.jitter)
		r.log.Warn("watch ended, reconnecting", zap.String(keySource, name), zap.Error(err), zap.Duration(keyRetryIn, delay))
		if !sleep(ctx, delay) {
			return
		}
	}
}

// syncOnce runs one Sync of src, records its outcome and returns the
// pass's stats. A pass cut short because ctx ended is not recorded: it is
// not the source's failure.
func (r *runner) syncOnce(ctx context.Context, src Source, w *worker) (map[string]int64, error) {
	name := src.Name()
	started := r.now()
	w.busy(started)
	defer w.idle()
	stats, err := src.Sync(ctx)
	if err != nil && ctx.Err() != nil {
		return stats, ctx.Err()
	}
	// The pass is over: record it even if ctx ends right now.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	r.m.syncs.WithLabelValues(name).Inc()
	// A pass that stored something (a failed pass may have stored whole
	// batches, each with the sync state covering it) changes what
	// commitments see; a failure changes the source's health, which
	// evaluation judges and announces (sync.failing): evaluate either.
	// (A success after failures asks too: see syncLoop.)
	if err != nil || slices.ContainsFunc(changeStats, func(k string) bool { return stats[k] > 0 }) {
		defer signal(r.evalReq)
	}
	if err != nil {
		r.m.syncFailures.WithLabelValues(name).Inc()
		if rerr := r.st.RecordSyncFailure(rctx, name, started, err.Error(), stats); rerr != nil {
			r.log.Error("record sync failure", zap.String(keySource, name), zap.Error(rerr))
		}
		return stats, err
	}
	r.m.lastSuccess.WithLabelValues(name).Set(float64(started.Unix()))
	if rerr := r.st.RecordSyncSuccess(rctx, name, started, stats); rerr != nil {
		r.log.Error("record sync", zap.String(keySource, name), zap.Error(rerr))
	}
	r.log.Debug("synced", zap.String(keySource, name), zap.Any(keyStats, stats),
		zap.Duration(keyDuration, r.now().Sub(started)))
	return stats, nil
}

// evaluateLoop evaluates every minute and whenever a sync stored something,
// then asks for a delivery pass.
func (r *runner) evaluateLoop(ctx context.Context, w *worker) {
	timer := time.NewTimer(evaluateEvery)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.evalReq:
		}
		if _, err := r.evaluate(ctx, w); err != nil && ctx.Err() == nil {
			r.log.Error("evaluate", zap.Error(err))
		}
		signal(r.deliverReq)
		timer.Reset(evaluateEvery)
	}
}

func (r *runner) evaluate(ctx context.Context, w *worker) (Evaluated, error) {
	if r.plan.Evaluate == nil {
		return Evaluated{}, nil
	}
	now := r.now()
	w.busy(now)
	defer w.idle()
	ev, err := r.plan.Evaluate(ctx, now)
	r.m.evalDuration.Observe(r.now().Sub(now).Seconds())
	if err != nil {
		r.m.evalFailures.Inc()
		return ev, fmt.Errorf("evaluate: %w", err)
	}
	return ev, nil
}

// deliverLoop delivers every second and after each evaluation.
func (r *runner) deliverLoop(ctx context.Context, w *worker) {
	ticker := time.NewTicker(deliverEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-r.deliverReq:
		}
		if _, err := r.deliver(ctx, w); err != nil && ctx.Err() == nil {
			r.log.Error("deliver", zap.Error(err))
		}
	}
}

func (r *runner) deliver(ctx context.Context, w *worker) (Delivered, error) {
	if r.plan.Deliver == nil {
		return Delivered{}, nil
	}
	w.busy(r.now())
	defer w.idle()
	dl, err := r.plan.Deliver(ctx)
	if err != nil {
		return dl, fmt.Errorf("deliver: %w", err)
	}
	return dl, nil
}

// retainLoop applies the retention some time after start, then every
// retainEvery.
func (r *runner) retainLoop(ctx context.Context, w *worker) {
	timer := time.NewTimer(retainFirst)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if err := r.retain(ctx, w); err != nil && ctx.Err() == nil {
			r.log.Error("retention", zap.Error(err))
		}
		timer.Reset(retainEvery)
	}
}

// retain deletes what the configuration's retention lets go (see
// store.Prune), in batches of retainBatch rows.
func (r *runner) retain(ctx context.Context, w *worker) error {
	now := r.now()
	w.busy(now)
	defer w.idle()
	p, err := r.st.Prune(ctx, retentionCutoffs(r.cfg, now), retainBatch, retainPause)
	if p != (store.Pruned{}) {
		r.log.Info("retention applied", zap.Int64("deliveries", p.Deliveries), zap.Int64("events", p.Events),
			zap.Int64("alerts", p.Alerts), zap.Int64("interactions", p.Interactions),
			zap.Duration(keyDuration, r.now().Sub(now)))
	}
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	return nil
}

// retentionCutoffs turns cfg's retention into the times before which rows
// go as of now. Interactions and resolved alerts stay as long as
// evaluation reads back, whatever the configuration says.
func retentionCutoffs(cfg *config.Config, now time.Time) store.Cutoffs {
	r := cfg.Retention
	return store.Cutoffs{
		Delivered:       now.Add(-r.Delivered),
		Failed:          now.Add(-r.Failed),
		ResolvedAlerts:  now.Add(-r.ResolvedAlerts),
		AlertsDueBefore: now.Add(-cfg.HistoryWindow()),
		Interactions:    now.Add(-cfg.InteractionsKept()),
	}
}

// check reports a worker stuck in one step for longer than it may take;
// the watchdog stops pinging then, so systemd restarts the daemon.
func (r *runner) check(now time.Time) error {
	for _, w := range r.workers {
		if since := w.since.Load(); since != 0 && now.Sub(time.Unix(0, since)) > w.limit {
			return fmt.Errorf("%s busy since %s", w.name, time.Unix(0, since).UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// worker tracks when a loop's current step started, for check.
type worker struct {
	name  string
	limit time.Duration
	since atomic.Int64 // unix nanoseconds; 0 while idle
}

func (r *runner) worker(name string, limit time.Duration) *worker {
	w := &worker{name: name, limit: limit}
	r.workers = append(r.workers, w)
	return w
}

// busy and idle accept a nil worker (RunOnce tracks none).
func (w *worker) busy(t time.Time) {
	if w != nil {
		w.since.Store(t.UnixNano())
	}
}

func (w *worker) idle() {
	if w != nil {
		w.since.Store(0)
	}
}

// backoff is the delay after the n-th consecutive failure (n ≥ 1): 5 s
// doubling up to 5 min, passed through jitter.
func backoff(n int, jitter func(time.Duration) time.Duration) time.Duration {
	d := backoffMax
	if n <= 10 {
		d = min(backoffMin<<(n-1), backoffMax)
	}
	return jitter(d)
}

// equalJitter picks a delay in [d/2, d]: sources failing together spread
// out, and none retries sooner than half the step.
func equalJitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// signal asks a loop for a pass without blocking; pending requests merge.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// sleep waits d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
