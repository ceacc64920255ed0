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
	backoffMin    = 5 * time.Second // first retry after a failed sync or watch
	backoffMax    = 5 * time.Minute
	evaluateEvery = time.Minute
	deliverEvery  = time.Second
	// changeCheckEvery is how often, in a cluster, the evaluation lease's
	// holder looks for what other daemons changed (store.EvaluationMark).
	changeCheckEvery = time.Second
	defaultPoll      = 5 * time.Minute
	watchHealthy     = time.Minute      // a watch that lasted this long resets its backoff
	recordTimeout    = 10 * time.Second // writing a finished sync's outcome
	syncStuckAfter   = 2 * time.Hour    // a first backfill of a large mailbox is slow
	stepStuckAfter   = 10 * time.Minute // one evaluation or delivery pass
	shutdownWait     = 8 * time.Second  // SIGTERM must exit within 10 s
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

	// leases is the cluster's lessor when cluster.enabled: then a source
	// is synced, and evaluation run, only under its lease. nil otherwise.
	leases *lessor

	evalReq    chan struct{} // coalesced: capacity 1
	deliverReq chan struct{}
	workers    []*worker
	cancel     context.CancelFunc
	done       chan struct{}
}

func (d *Daemon) newRunner(snap *snapshot) *runner {
	r := newRunner(snap.plan, snap.cfg, d.store, d.metrics, d.log, d.opts.Now)
	if c := snap.cfg.Cluster; c.Enabled {
		r.leases = newLessor(d.store, d.holder, c.LeaseDuration, len(snap.plan.Sources), d.metrics, d.log, d.opts.Now)
	}
	return r
}

func newRunner(plan *Plan, cfg *config.Config, st Store, m *metrics, log *zap.Logger, now func() time.Time) *runner {
	m.present(plan.Sources)
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
	if r.leases != nil {
		wg.Go(func() { r.leases.memberLoop(ctx) })
	}
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
		r.closeSource(src)
	}
}

// closeSource releases what src keeps between passes; a later Sync opens
// it again. In a cluster, a daemon that no longer holds a source's lease
// closes it, so as not to keep a connection another daemon now uses.
func (r *runner) closeSource(src Source) {
	if c, ok := src.(io.Closer); ok {
		if err := c.Close(); err != nil {
			r.log.Debug("close source", zap.String(keySource, src.Name()), zap.Error(err))
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
	// Skipped names, in a cluster, the sources (and "evaluation") whose
	// lease another daemon held: that daemon does their work. Sorted.
	Skipped    []string
	Alerts     Evaluated
	Deliveries Delivered
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
			sctx, release, err := r.onceLease(ctx, src.Name(), kindSource)
			if sctx == nil && err == nil {
				mu.Lock()
				res.Skipped = append(res.Skipped, src.Name())
				mu.Unlock()
				return
			}
			var stats map[string]int64
			if err == nil {
				stats, err = r.syncOnce(sctx, src, nil)
				release()
			}
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
	switch ectx, release, err := r.onceLease(ctx, evaluationLease, kindEvaluation); {
	case err != nil:
		errs = append(errs, fmt.Errorf("evaluate: %w", err))
	case ectx == nil:
		res.Skipped = append(res.Skipped, evaluationLease)
	default:
		if res.Alerts, err = r.evaluate(ectx, nil); err != nil {
			errs = append(errs, err)
		}
		release()
	}
	slices.Sort(res.Skipped)
	var err error
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

// onceLease takes, in a cluster, the lease name for one step of a one-shot
// pass, and returns the context to do the step under and the func that
// gives the lease back after it. The context is nil (and err too) when
// another daemon holds the lease: that daemon does the step. Outside a
// cluster it returns ctx and a no-op.
func (r *runner) onceLease(ctx context.Context, name, kind string) (context.Context, func(), error) {
	if r.leases == nil {
		return ctx, func() {}, nil
	}
	h, cur, err := r.leases.takeAny(ctx, name, kind)
	if err != nil {
		return nil, nil, fmt.Errorf("take lease %s: %w", name, err)
	}
	if h == nil {
		r.log.Info("skipped: another daemon holds the lease", zap.String(keyLease, name),
			zap.String(keyHolder, cur.Holder), zap.Time(keyUntil, cur.ExpiresAt))
		return nil, nil, nil
	}
	return h.ctx, h.release, nil
}

// syncLoop syncs src now, then again after poll_interval on success or a
// growing backoff on failure, and at once when its watcher reports a change.
// In a cluster it syncs only while this daemon holds the source's lease
// (and watches only then); otherwise it waits to take it.
func (r *runner) syncLoop(ctx context.Context, wg *sync.WaitGroup, src Source, w *worker) {
	trigger := make(chan struct{}, 1)
	wt, watches := src.(Watcher)
	watches = watches && r.cfg.Sync.Idle
	if watches && r.leases == nil {
		wg.Go(func() { r.watchLoop(ctx, src.Name(), wt, trigger) })
	}
	poll := r.cfg.Sync.PollInterval
	if poll <= 0 {
		poll = defaultPoll
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lease *held // in a cluster: the source's lease while this daemon holds it
	defer func() {
		if lease != nil {
			lease.release()
		}
	}()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-trigger:
		}
		sctx := ctx
		if r.leases != nil {
			var fresh bool
			var wait time.Duration
			if lease, fresh, wait = r.holdSource(ctx, src, lease); lease == nil {
				timer.Reset(min(poll, wait))
				continue
			}
			if fresh && watches {
				lctx := lease.ctx
				wg.Go(func() { r.watchLoop(lctx, src.Name(), wt, trigger) })
			}
			sctx = lease.ctx
		}
		delay := poll
		if _, err := r.syncOnce(sctx, src, w); err != nil {
			if ctx.Err() != nil {
				return
			}
			if lease != nil && (lease.lost() || errors.Is(err, store.ErrLeaseLost)) {
				lease.lose(err) // the next round waits for the new holder's lease
				r.closeSource(src)
				timer.Reset(0)
				continue
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
		if lease != nil && r.leases.shed(src.Name()) {
			// More than this daemon's share: hand this source to another.
			lease.release()
			lease = nil
			r.closeSource(src)
		}
		timer.Reset(delay)
	}
}

// holdSource returns src's lease when this daemon holds it or could take
// it (fresh: just taken), or else nil and how long to wait.
func (r *runner) holdSource(ctx context.Context, src Source, cur *held) (h *held, fresh bool, wait time.Duration) {
	if cur != nil && !cur.lost() {
		return cur, false, 0
	}
	if cur != nil { // lost between passes
		cur.release()
		r.closeSource(src)
	}
	name := src.Name()
	h, wait, err := r.leases.take(ctx, name, kindSource)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("take lease", zap.String(keyLease, name), zap.Error(err))
		}
		return nil, false, wait
	}
	return h, h != nil, wait
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
	if errors.Is(err, store.ErrLeaseLost) {
		// Another daemon holds the source now and records its passes.
		return stats, err
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
// then asks for a delivery pass. In a cluster only the holder of the
// evaluation lease evaluates, and as the syncs are spread over the daemons
// it also looks every second whether any daemon changed what it reads.
func (r *runner) evaluateLoop(ctx context.Context, w *worker) {
	timer := time.NewTimer(evaluateEvery)
	defer timer.Stop()
	var (
		check <-chan time.Time
		lease *held      // in a cluster: the evaluation lease while this daemon holds it
		seen  store.Mark // the store's mark when the last evaluation started
	)
	if r.leases != nil {
		ticker := time.NewTicker(changeCheckEvery)
		defer ticker.Stop()
		check = ticker.C
		defer func() {
			if lease != nil {
				lease.release()
			}
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.evalReq:
		case <-check:
			if lease != nil && !lease.lost() && !r.changedSince(ctx, seen) {
				continue
			}
		}
		ectx := ctx
		if r.leases != nil {
			if lease = r.holdEvaluation(ctx, lease); lease == nil {
				continue
			}
			ectx = lease.ctx
			mark, err := r.st.EvaluationMark(ctx)
			if err != nil {
				r.log.Warn("read what changed", zap.Error(err))
			}
			seen = mark
		}
		if _, err := r.evaluate(ectx, w); err != nil && ctx.Err() == nil {
			if lease != nil && (lease.lost() || errors.Is(err, store.ErrLeaseLost)) {
				lease.lose(err)
				continue
			}
			r.log.Error("evaluate", zap.Error(err))
		}
		signal(r.deliverReq)
		timer.Reset(evaluateEvery)
	}
}

// holdEvaluation returns the evaluation lease when this daemon holds it or
// could take it, nil otherwise.
func (r *runner) holdEvaluation(ctx context.Context, cur *held) *held {
	if cur != nil && !cur.lost() {
		return cur
	}
	if cur != nil {
		cur.release()
	}
	h, _, err := r.leases.take(ctx, evaluationLease, kindEvaluation)
	if err != nil && ctx.Err() == nil {
		r.log.Warn("take lease", zap.String(keyLease, evaluationLease), zap.Error(err))
	}
	return h
}

// changedSince reports whether any daemon changed what evaluation reads
// (interactions, a source's first sync or failures) since mark; a failed
// read counts as a change.
func (r *runner) changedSince(ctx context.Context, mark store.Mark) bool {
	now, err := r.st.EvaluationMark(ctx)
	return err != nil || now != mark
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
		if !errors.Is(err, store.ErrLeaseLost) && ctx.Err() == nil {
			r.m.evalFailures.Inc()
		}
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
