package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"
)

// Run serves the API, runs the plan and tells systemd READY=1, then keeps
// running (pinging the watchdog when systemd enabled it) until ctx ends.
// Then it tells systemd STOPPING=1, stops the loops (waiting at most 8 s
// for syncs in flight to finish their writes), closes the listeners and
// returns. It returns an error only when it could not start, or when loops
// were still busy at the deadline.
func (d *Daemon) Run(ctx context.Context) error {
	srv, err := d.serve()
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.runCtx = ctx
	d.startPlan(ctx, d.state.Load())
	d.mu.Unlock()
	d.ready.Store(true)
	d.notify(stateReady)
	cfg := d.Config()
	d.log.Info("daemon ready", zap.String(keyConfig, cfg.Path), zap.Int(keySources, len(d.state.Load().plan.Sources)),
		zap.String(keyHolder, d.holder), zap.Bool(keyCluster, cfg.Cluster.Enabled))

	d.watchdog(ctx)

	d.ready.Store(false)
	d.notify(stateStopping)
	d.log.Info("stopping")
	d.mu.Lock()
	done := d.runner.stop()
	d.runner, d.runCtx = nil, nil
	d.current.Store(nil)
	d.mu.Unlock()
	var stopErr error
	timer := time.NewTimer(shutdownWait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		stopErr = fmt.Errorf("stop: loops still busy after %s", shutdownWait)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	srv.shutdown(sctx)
	if stopErr == nil {
		d.log.Info("stopped")
	}
	return stopErr
}

// watchdog blocks until ctx ends. When systemd set WATCHDOG_USEC it pings
// every half interval, but only after checking that no loop is stuck and
// that the store answers: a wedged daemon stops pinging and gets restarted.
func (d *Daemon) watchdog(ctx context.Context) {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		d.log.Warn("watchdog settings", zap.Error(err))
	}
	if interval <= 0 {
		<-ctx.Done()
		return
	}
	ticker := time.NewTicker(interval / 2)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := d.healthy(ctx, interval/2); err != nil {
				if ctx.Err() == nil {
					d.log.Error("unhealthy, not pinging the watchdog", zap.Error(err))
				}
				continue
			}
			d.notify(stateWatchdog)
		}
	}
}

// healthy checks the running loops and that the store answers within timeout.
func (d *Daemon) healthy(ctx context.Context, timeout time.Duration) error {
	if r := d.current.Load(); r != nil {
		if err := r.check(d.opts.Now()); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, _, err := d.store.OutboxDepth(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// RunOnce is one full pass — sync every source once, evaluate, deliver —
// with the same steps the daemon's loops run. Every step runs even when an
// earlier one failed; the errors are returned joined, with what the pass
// did. A webhook delivery that failed in the pass is one of the errors.
func (d *Daemon) RunOnce(ctx context.Context) (PassResult, error) {
	res, err := d.newRunner(d.state.Load()).once(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		d.log.Error("run failed", zap.Strings(keyProblems, problems(err)))
	}
	return res, err
}
