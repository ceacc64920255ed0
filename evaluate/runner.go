// Package evaluate connects the store and the cadence engine: it loads
// what an evaluation needs (customers from the configuration, interactions,
// silences, open alerts, source health), runs cadence.Evaluate, and records
// the alert transitions and their webhook events in one transaction. It also
// answers the CLI's read-only queries (customers, customer, alerts,
// suggest, silences) with JSON-tagged views and table renderers.
package evaluate

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// minWindow is how far back interactions are loaded at least: a year of
// `per: year` and rolling windows, plus a margin.
const minWindow = 400 * 24 * time.Hour

// Runner evaluates the commitments of one configuration.
type Runner struct {
	cfg *config.Config
	st  *store.Store
	log *zap.Logger
	dir *cadence.Directory
	// Now is the wall clock, used for source health (a forecast with
	// --at still judges staleness now) and when a query gets no time.
	Now func() time.Time
}

// New builds a Runner for cfg. It does no I/O.
func New(cfg *config.Config, st *store.Store, log *zap.Logger) *Runner {
	var accounts []string
	for _, a := range cfg.Accounts {
		accounts = append(accounts, a.Email)
	}
	return &Runner{cfg: cfg, st: st, log: log, Now: time.Now,
		dir: cadence.NewDirectory(cfg.InternalDomains, accounts, cfg.Customers)}
}

// Run evaluates every commitment as of now and records the alert
// transitions and the events they produce (routed to the webhooks that
// want them) in one transaction. Running it twice with the same store and
// now changes nothing the second time. The daemon calls it after every
// sync pass and on a timer; `run --once` calls it once.
func (r *Runner) Run(ctx context.Context, now time.Time) error {
	in, err := r.load(ctx, now, now)
	if err != nil {
		return err
	}
	res := cadence.Evaluate(in)
	events := make([]store.Event, len(res.Events))
	for i, ev := range res.Events {
		events[i] = store.Event{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt, Payload: ev.Payload}
	}
	if err := r.st.ApplyEvaluation(ctx, res.Changes, events, r.routes); err != nil {
		return err
	}
	for _, a := range res.Changes {
		r.log.Info("alert", zap.String("customer", a.CustomerID), zap.String("commitment", a.Commitment),
			zap.String("state", string(a.State)), zap.String("alert_id", a.ID))
	}
	r.log.Debug("evaluated", zap.Int("customers", len(res.Customers)), zap.Int("changes", len(res.Changes)),
		zap.Int("events", len(res.Events)), zap.Bool("mail_stale", in.Stale.Mail), zap.Bool("calendar_stale", in.Stale.Calendar))
	return nil
}

// routes names the webhooks that want an event type, in configuration order.
func (r *Runner) routes(eventType string) []string {
	var names []string
	for _, h := range r.cfg.Webhooks {
		if h.Wants(eventType) {
			names = append(names, h.Name)
		}
	}
	return names
}

// load reads the evaluation input as of at; wall is the real time, for
// source health.
func (r *Runner) load(ctx context.Context, at, wall time.Time) (cadence.Input, error) {
	in := cadence.Input{Now: at, Customers: r.cfg.Customers, Alerting: r.cfg.Alerting}
	var err error
	if in.HistoryStart, err = r.historyStart(ctx, at); err != nil {
		return in, err
	}
	ins, err := r.st.Interactions(ctx, at.Add(-r.window()))
	if err != nil {
		return in, err
	}
	in.Contacts = r.dir.Group(ins, nil)
	if in.Silences, err = r.st.Silences(ctx, at, false); err != nil {
		return in, err
	}
	if in.Alerts, err = r.st.Alerts(ctx, false); err != nil {
		return in, err
	}
	if in.Stale, err = r.stale(ctx, wall); err != nil {
		return in, err
	}
	return in, nil
}

// historyStart is the earliest stored interaction: stable while the daemon
// runs, as alert identities depend on it. With nothing stored yet it is
// the start of the backfill, by day.
func (r *Runner) historyStart(ctx context.Context, at time.Time) (time.Time, error) {
	t, err := r.st.EarliestInteraction(ctx)
	if err != nil || !t.IsZero() {
		return t, err
	}
	backfill := r.cfg.Sync.Backfill
	if backfill.IsZero() {
		backfill = cadence.Span{Unit: cadence.Day, N: 365}
	}
	return backfill.Before(at, time.UTC).Truncate(24 * time.Hour), nil
}

// window is how far back interactions are loaded: the backfill, at least
// minWindow, and twice the longest commitment span.
func (r *Runner) window() time.Duration {
	w := max(r.cfg.Sync.Backfill.Approx(), minWindow)
	for _, c := range r.cfg.Customers {
		for _, cm := range c.Commitments {
			for _, sp := range []cadence.Span{cm.Every, cm.Within, cm.Window, cm.Before} {
				w = max(w, 2*sp.Approx())
			}
		}
	}
	return w
}

// stale decides which kinds of sources are stale at wall: a kind is stale
// when it has configured sources and none synced successfully within
// sync.stale_after.
func (r *Runner) stale(ctx context.Context, wall time.Time) (cadence.Stale, error) {
	health, err := r.st.Sources(ctx)
	if err != nil {
		return cadence.Stale{}, fmt.Errorf("read source health: %w", err)
	}
	lastOK := map[string]time.Time{}
	for _, h := range health {
		lastOK[h.Name] = h.LastSuccessAt
	}
	after := r.staleAfter()
	fresh := func(name string) bool {
		t := lastOK[name]
		return !t.IsZero() && wall.Sub(t) <= after
	}
	var mail, cal, mailFresh, calFresh int
	for _, a := range r.cfg.Accounts {
		if a.IMAP != nil {
			mail++
			if fresh("imap:" + a.Name) {
				mailFresh++
			}
		}
		if a.CalDAV != nil {
			cal++
			if fresh("caldav:" + a.Name) {
				calFresh++
			}
		}
	}
	return cadence.Stale{Mail: mail > 0 && mailFresh == 0, Calendar: cal > 0 && calFresh == 0}, nil
}

// staleAfter is sync.stale_after, or its documented default when unset.
func (r *Runner) staleAfter() time.Duration {
	if r.cfg.Sync.StaleAfter > 0 {
		return r.cfg.Sync.StaleAfter
	}
	return max(3*r.cfg.Sync.PollInterval, time.Hour)
}
