// Package evaluate connects the store and the cadence engine: it loads
// what an evaluation needs (customers from the configuration, interactions,
// silences, open alerts, source health), runs cadence.Evaluate, and records
// the alert transitions and their webhook events in one transaction. It also
// answers the CLI's read-only queries (customers, customer, alerts,
// suggest, unmatched, silences) with JSON-tagged views; cmd/touchbase
// renders them as tables.
//
// A Runner keeps the interactions in memory, compact (cadence.Book), and
// after its first load reads only those changed since (the store's change
// log), so a pass over millions of interactions costs what changed plus
// the evaluation itself.
package evaluate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// Runner evaluates the commitments of one configuration.
type Runner struct {
	cfg *config.Config
	st  Store
	log *zap.Logger
	dir *cadence.Directory
	// Now is the wall clock, used for source health (a forecast with
	// --at still judges staleness now) and when a query gets no time.
	Now func() time.Time

	mu       sync.Mutex // serialises reading changes into book
	book     *cadence.Book
	hist     *cadence.History // the book's last commit
	ledger   *ledger          // what book was made of, for a new directory
	seq      int64            // the change-log position hist is current as of
	prunedAt int64            // the position the change log was last pruned to
	prev     *Runner          // the previous configuration's, to take over (Inherit)

	fixedStart atomic.Pointer[time.Time] // the history start once the store holds it
}

// New builds a Runner for cfg. It does no I/O.
func New(cfg *config.Config, st Store, log *zap.Logger) *Runner {
	var accounts []string
	for _, a := range cfg.Accounts {
		accounts = append(accounts, a.Email)
	}
	return &Runner{cfg: cfg, st: st, log: log, Now: time.Now,
		dir: cadence.NewDirectory(cfg.InternalDomains, accounts, cfg.Customers)}
}

// Inherit makes r take over, on its first pass, the interactions prev
// keeps in memory, classified again with r's customer directory: after a
// reload (SIGHUP) the daemon reads what changed since prev's last pass,
// not every interaction of the window. prev must not run passes after
// that first pass (the daemon stops the old plan before starting the
// new); a query on prev then loads what it needs from the store.
func (r *Runner) Inherit(prev *Runner) {
	if prev != r {
		r.prev = prev
	}
}

// Run evaluates every commitment as of now and records the alert
// transitions and the events they produce (routed to the webhooks that
// want them) in one transaction. Running it twice with the same store and
// now changes nothing the second time. The daemon calls it after every
// sync pass and on a timer; `run --once` calls it once.
//
// The Runner keeps the interactions in memory between calls: the first
// loads them all, later ones read only what changed since (see
// store.ScanChanges). Run also moves the kept window forward to now.
func (r *Runner) Run(ctx context.Context, now time.Time) error {
	_, err := r.Pass(ctx, now)
	return err
}

// Transitions counts the alerts one pass opened (fired while not open
// before: new, or a resolved one firing again) and resolved.
type Transitions struct {
	Opened, Resolved int
}

// Pass is Run returning what the pass changed, for `run --once` to report.
func (r *Runner) Pass(ctx context.Context, now time.Time) (Transitions, error) {
	var t Transitions
	in, health, err := r.loadWithHealth(ctx, now, now, true)
	if err != nil {
		return t, err
	}
	open := make(map[string]bool, len(in.Alerts))
	for _, a := range in.Alerts {
		open[a.ID] = true
	}
	res := cadence.Evaluate(in)
	events := make([]store.Event, len(res.Events))
	for i, ev := range res.Events {
		events[i] = store.Event{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt, Payload: ev.Payload}
	}
	if err := r.st.ApplyEvaluation(ctx, res.Changes, events, r.routes); err != nil {
		return t, err
	}
	if err := r.announceHealth(ctx, health, now); err != nil {
		return t, err
	}
	for _, a := range res.Changes {
		switch {
		case a.State == cadence.Resolved:
			t.Resolved++
		case !open[a.ID]:
			t.Opened++
		}
		r.log.Info("alert", zap.String("customer", a.CustomerID), zap.String("commitment", a.Commitment),
			zap.String("state", string(a.State)), zap.String("alert_id", a.ID))
	}
	r.log.Debug("evaluated", zap.Int("customers", len(res.Customers)), zap.Int("changes", len(res.Changes)),
		zap.Int("events", len(res.Events)), zap.Int("stale_sources", len(in.Stale)))
	return t, nil
}

// announceHealth announces the sources failing for sync.stale_after as
// of now (sync.failing) and the end of announced failures
// (sync.recovered): source health is evaluation's to judge, and the
// dispatcher only delivers what it decides.
func (r *Runner) announceHealth(ctx context.Context, health []store.SourceStatus, now time.Time) error {
	open, err := r.st.SourceFailures(ctx)
	if err != nil {
		return err
	}
	hs := make([]cadence.SourceHealth, len(health))
	for i, h := range health {
		hs[i] = cadence.SourceHealth{Name: h.Name, LastSuccessAt: h.LastSuccessAt, FailingSince: h.FailingSince,
			ConsecutiveFailures: h.ConsecutiveFailures, LastError: h.LastError}
	}
	announced := make(map[string]cadence.SourceFailure, len(open))
	for name, f := range open {
		announced[name] = cadence.SourceFailure{Source: f.Source, FailingSince: f.FailingSince, EventID: f.EventID}
	}
	ch, err := cadence.SourceEvents(hs, announced, r.staleAfter(), now)
	if err != nil {
		return err
	}
	change := store.HealthChange{Closed: ch.Closed}
	for _, f := range ch.Opened {
		change.Opened = append(change.Opened, store.SourceFailure{Source: f.Source, FailingSince: f.FailingSince,
			EventID: f.EventID, AnnouncedAt: now})
	}
	for _, ev := range ch.Events {
		change.Events = append(change.Events, store.Event{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt, Payload: ev.Payload})
	}
	if err := r.st.ApplyHealth(ctx, change, r.routes); err != nil {
		return err
	}
	for _, ev := range ch.Events {
		r.log.Info("sync health changed", zap.String("type", ev.Type), zap.String("event_id", ev.ID))
	}
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
// source health. A pass (Run) moves the window of interactions the Runner
// keeps to at; a query does not, so that a forecast with a later at does
// not drop what the next pass needs.
func (r *Runner) load(ctx context.Context, at, wall time.Time, pass bool) (cadence.Input, error) {
	in, _, err := r.loadWithHealth(ctx, at, wall, pass)
	return in, err
}

// loadWithHealth is load returning the source health it read too.
func (r *Runner) loadWithHealth(ctx context.Context, at, wall time.Time, pass bool) (cadence.Input, []store.SourceStatus, error) {
	in := cadence.Input{Now: at, Customers: r.cfg.Customers, Alerting: r.cfg.Alerting}
	// Source health first: a source that finished its sync after this
	// read is judged stale, so the interactions read next hold at least
	// what every source judged fresh had stored. Read the other way round,
	// a sync finishing in between looks fresh with half its mail loaded.
	health, err := r.st.Sources(ctx)
	if err != nil {
		return in, nil, fmt.Errorf("read source health: %w", err)
	}
	in.Stale = r.stale(health, wall)
	if in.HistoryStart, err = r.historyStart(ctx, health, wall, pass); err != nil {
		return in, nil, err
	}
	if in.History, err = r.history(ctx, at.Add(-r.window()), pass); err != nil {
		return in, nil, err
	}
	if in.Silences, err = r.st.Silences(ctx, at, false); err != nil {
		return in, nil, err
	}
	if in.Alerts, err = r.st.OpenAlerts(ctx); err != nil {
		return in, nil, err
	}
	if in.Episodes, err = r.st.ResolvedEpisodes(ctx); err != nil {
		return in, nil, err
	}
	return in, health, nil
}

// history returns the counted interactions from from on, reading only
// what changed since the last call. A pass keeps nothing before from from
// then on; a query for an earlier window than the Runner keeps loads it
// separately.
func (r *Runner) history(ctx context.Context, from time.Time, pass bool) (*cadence.History, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.book == nil && r.prev != nil {
		if err := r.adopt(); err != nil {
			r.log.Warn("take over the interactions kept before the reload; loading them", zap.Error(err))
		}
	}
	switch {
	case r.book == nil || (pass && !r.hist.Covers(from)):
		if err := r.reload(ctx, from); err != nil {
			return nil, err
		}
	case !r.hist.Covers(from):
		_, book, err := r.loadAll(ctx, from, nil)
		if err != nil {
			return nil, err
		}
		return book.Commit(from), nil
	default:
		if err := r.readChanges(ctx); err != nil {
			r.book, r.hist = nil, nil // rebuilt from scratch next time
			return nil, err
		}
	}
	if pass {
		r.hist = r.book.Commit(from)
		r.prune(ctx)
	}
	return r.hist.Since(from), nil
}

// adopt takes over prev's interactions (see Inherit): its ledger,
// classified again into a new Book, and its change-log position. prev
// keeps nothing. r.mu is held.
func (r *Runner) adopt() error {
	prev := r.prev
	r.prev = nil
	prev.mu.Lock()
	led, hist, seq, pruned := prev.ledger, prev.hist, prev.seq, prev.prunedAt
	prev.ledger, prev.book, prev.hist = nil, nil, nil
	prev.mu.Unlock()
	if led == nil || hist == nil {
		return nil // prev never loaded: nothing to take over
	}
	start, from := time.Now(), hist.From()
	book := cadence.NewBook(r.dir, from)
	if err := led.each(from, func(id int64, in *cadence.Interaction) { book.Put(id, in) }); err != nil {
		return err
	}
	r.ledger, r.book, r.hist, r.seq, r.prunedAt = led, book, book.Commit(from), seq, pruned
	r.log.Info("interactions classified again for the new configuration", zap.Int("interactions", len(led.rows)),
		zap.Duration("took", time.Since(start)))
	return nil
}

// reload replaces the kept interactions with those stored from from on.
func (r *Runner) reload(ctx context.Context, from time.Time) error {
	r.book, r.hist, r.ledger = nil, nil, nil
	led := newLedger()
	seq, book, err := r.loadAll(ctx, from, led)
	if err != nil {
		return err
	}
	r.seq, r.book, r.hist, r.ledger = seq, book, book.Commit(from), led
	return nil
}

// loadAll loads a new Book with the interactions stored from from on and
// returns it with the change-log position it is current as of; led, when
// not nil, records them too.
func (r *Runner) loadAll(ctx context.Context, from time.Time, led *ledger) (int64, *cadence.Book, error) {
	start := time.Now()
	book := cadence.NewBook(r.dir, from)
	n := 0
	seq, err := r.st.LoadInteractions(ctx, from, func(id int64, in *cadence.Interaction) {
		book.Put(id, in)
		if led != nil {
			led.put(id, in)
		}
		n++
	})
	if err != nil {
		return 0, nil, err
	}
	r.log.Debug("loaded interactions", zap.Int("interactions", n), zap.Time("from", from),
		zap.Duration("took", time.Since(start)))
	return seq, book, nil
}

// readChanges applies the interactions changed since r.seq to the book,
// or reloads everything when the change log no longer reaches back.
func (r *Runner) readChanges(ctx context.Context) error {
	n := 0
	seq, err := r.st.ScanChanges(ctx, r.seq, func(id int64, in *cadence.Interaction) {
		if in == nil {
			r.book.Delete(id)
			r.ledger.delete(id)
		} else {
			r.book.Put(id, in)
			r.ledger.put(id, in)
		}
		n++
	})
	switch {
	case errors.Is(err, store.ErrChangesPruned):
		r.log.Info("interaction change log pruned past what was read; loading everything", zap.Int64("seq", r.seq))
		return r.reload(ctx, r.hist.From())
	case err != nil:
		return err
	}
	if n > 0 {
		r.hist = r.book.Commit(time.Time{}) // keeps the window; a pass moves it
		r.log.Debug("read interaction changes", zap.Int("interactions", n), zap.Int64("seq", seq))
	}
	r.seq = seq
	return nil
}

// pruneEvery is how many change-log rows a pass lets accumulate before it
// deletes those it has read: often enough that the log stays small, rarely
// enough that a quiet pass writes nothing.
const pruneEvery = 10_000

// prune deletes the change-log rows read, once there are pruneEvery. A
// failure only leaves them for the next pass.
func (r *Runner) prune(ctx context.Context) {
	if r.seq-r.prunedAt < pruneEvery {
		return
	}
	if _, err := r.st.PruneChanges(ctx, r.seq); err != nil {
		r.log.Warn("prune interaction change log", zap.Error(err))
		return
	}
	r.prunedAt = r.seq
}

// historyStart is the start of the observed history, part of the identity
// of alerts whose period counts from it: it must not move. Once every
// configured source has completed a first sync it is fixed in the store:
// the earliest interaction that no source filtered, but no earlier than
// the backfill reaches (a spam mail dated 1970 must not re-key every
// alert). Until then it is computed the same way, unpersisted; the
// sources that have not synced yet leave every commitment that needs them
// unknown meanwhile, so no alert carries it. Only a pass fixes it.
func (r *Runner) historyStart(ctx context.Context, health []store.SourceStatus, wall time.Time, pass bool) (time.Time, error) {
	if t := r.fixedStart.Load(); t != nil {
		return *t, nil // fixed for good: no read per pass
	}
	if t, ok, err := r.st.HistoryStart(ctx); err != nil || ok {
		if ok {
			r.fixedStart.Store(&t)
		}
		return t, err
	}
	backfill := r.cfg.Sync.Backfill
	if backfill.IsZero() {
		backfill = cadence.Span{Unit: cadence.Day, N: 365}
	}
	start := backfill.Before(wall, time.UTC).Truncate(24 * time.Hour)
	earliest, err := r.st.EarliestCounted(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if earliest.After(start) {
		start = earliest
	}
	if !pass || !r.firstSyncsDone(health) {
		return start, nil // a query writes nothing
	}
	fixed, err := r.st.FixHistoryStart(ctx, start)
	if err == nil {
		r.fixedStart.Store(&fixed)
	}
	return fixed, err
}

// firstSyncsDone reports whether every configured source has synced
// successfully at least once.
func (r *Runner) firstSyncsDone(health []store.SourceStatus) bool {
	done := map[string]bool{}
	for _, h := range health {
		done[h.Name] = !h.LastSuccessAt.IsZero()
	}
	for _, name := range r.sourceNames() {
		if !done[name] {
			return false
		}
	}
	return true
}

// window is how far back interactions are loaded: config.HistoryWindow,
// which retention never deletes into.
func (r *Runner) window() time.Duration { return r.cfg.HistoryWindow() }

// stale lists the configured sources that have not synced successfully
// within sync.stale_after as of wall (SPEC: unknown "while a source it
// depends on is stale"). Which customers they leave unknown is
// cadence's decision: those whose interactions they carried, or everyone
// when one never completed a first sync.
func (r *Runner) stale(health []store.SourceStatus, wall time.Time) cadence.Stale {
	lastOK := map[string]time.Time{}
	for _, h := range health {
		lastOK[h.Name] = h.LastSuccessAt
	}
	after := r.staleAfter()
	var out cadence.Stale
	for _, name := range r.sourceNames() {
		kind := cadence.Email
		if strings.HasPrefix(name, "caldav:") {
			kind = cadence.Meeting
		}
		if t := lastOK[name]; t.IsZero() || wall.Sub(t) > after {
			out = append(out, cadence.StaleSource{Name: name, Kind: kind, LastSuccessAt: t})
		}
	}
	return out
}

// sourceNames are the configured sources' names, as in source health.
func (r *Runner) sourceNames() []string {
	var names []string
	for _, a := range r.cfg.Accounts {
		if a.IMAP != nil {
			names = append(names, "imap:"+a.Name)
		}
		if a.CalDAV != nil {
			names = append(names, "caldav:"+a.Name)
		}
	}
	return names
}

// staleAfter is sync.stale_after, or its documented default when unset.
func (r *Runner) staleAfter() time.Duration {
	if r.cfg.Sync.StaleAfter > 0 {
		return r.cfg.Sync.StaleAfter
	}
	return max(3*r.cfg.Sync.PollInterval, time.Hour)
}
