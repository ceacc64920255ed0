package daemon

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// Status is the body of GET /v1/status (`touchbase status --json`). Field
// names are part of the CLI's contract: add fields, never rename.
type Status struct {
	Version      string             `json:"version"`
	PID          int                `json:"pid"`
	StartedAt    time.Time          `json:"started_at"`
	Now          time.Time          `json:"now"`
	Ready        bool               `json:"ready"`
	Config       ConfigStatus       `json:"config"`
	Sources      []SourceStatus     `json:"sources"`
	Interactions InteractionsStatus `json:"interactions"`
	Outbox       OutboxStatus       `json:"outbox"`
	Cluster      ClusterStatus      `json:"cluster"`
}

// ClusterStatus shows how several daemons sharing the configuration and
// the store split the work (cluster.enabled): who holds which lease, until
// when. Without a cluster, Daemons and Leases are empty.
type ClusterStatus struct {
	Enabled       bool          `json:"enabled"`
	Holder        string        `json:"holder"`         // the answering daemon, as leases name it
	LeaseDuration string        `json:"lease_duration"` // Go duration
	Daemons       []string      `json:"daemons"`        // the live daemons, by holder, sorted
	Leases        []LeaseStatus `json:"leases"`         // each source's and the evaluation's, by name
}

// LeaseStatus is one lease. Times are null for a lease never taken.
type LeaseStatus struct {
	Name       string     `json:"name"`
	Holder     string     `json:"holder"` // the last holder when not live; "" if never taken
	Live       bool       `json:"live"`   // held now: neither expired nor released
	This       bool       `json:"this"`   // held now by the answering daemon
	Generation int64      `json:"generation"`
	AcquiredAt *time.Time `json:"acquired_at"`
	RenewedAt  *time.Time `json:"renewed_at"`
	ExpiresAt  *time.Time `json:"expires_at"` // until when; for a released lease, when it was released
}

// ConfigStatus describes the running configuration.
type ConfigStatus struct {
	Path         string    `json:"path"`
	LoadedAt     time.Time `json:"loaded_at"`
	LogLevel     string    `json:"log_level"`
	PollInterval string    `json:"poll_interval"` // Go duration
	StaleAfter   string    `json:"stale_after"`
	Accounts     int       `json:"accounts"`
	Customers    int       `json:"customers"`
	Webhooks     int       `json:"webhooks"`
	// RejectedReload is the last reload, when it was refused: the daemon
	// runs an older configuration than the file holds. null otherwise.
	RejectedReload *RejectedReload `json:"rejected_reload"`
}

// RejectedReload is a refused reload: when, its first problem and how
// many there were (the log has them all).
type RejectedReload struct {
	At       time.Time `json:"at"`
	Error    string    `json:"error"`
	Problems int       `json:"problems"`
}

// SourceStatus is one configured source's health. Times are null until
// they first happen.
type SourceStatus struct {
	Name                string           `json:"name"`
	LastAttemptAt       *time.Time       `json:"last_attempt_at"`
	LastSuccessAt       *time.Time       `json:"last_success_at"`
	Lag                 *string          `json:"lag"` // since last success, Go duration
	FailingSince        *time.Time       `json:"failing_since"`
	ConsecutiveFailures int              `json:"consecutive_failures"`
	LastError           string           `json:"last_error"`
	Stats               map[string]int64 `json:"stats"`
	// Stale: not synced successfully within stale_after (or never), so
	// commitments that depend on it evaluate as unknown.
	Stale bool `json:"stale"`
}

// InteractionsStatus counts stored interactions: those that count and
// those filtered out, by reason (cadence.Filter).
type InteractionsStatus struct {
	Counted  int            `json:"counted"`
	Filtered map[string]int `json:"filtered"`
}

// OutboxStatus is the webhook outbox depth.
type OutboxStatus struct {
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
}

// Status reports the daemon's health from the running configuration and
// the store.
func (d *Daemon) Status(ctx context.Context) (*Status, error) {
	snap := d.state.Load()
	cfg := snap.cfg
	now := d.opts.Now()
	s := &Status{
		Version: d.opts.Version, PID: pid(), StartedAt: d.startedAt.UTC(), Now: now.UTC(), Ready: d.ready.Load(),
		Config: ConfigStatus{
			Path: cfg.Path, LoadedAt: snap.loadedAt.UTC(), LogLevel: levelName(cfg.LogLevel),
			PollInterval: cfg.Sync.PollInterval.String(), StaleAfter: staleAfter(cfg).String(),
			Accounts: len(cfg.Accounts), Customers: len(cfg.Customers), Webhooks: len(cfg.Webhooks),
			RejectedReload: d.rejected.Load(),
		},
		Interactions: InteractionsStatus{Filtered: map[string]int{}},
	}
	var err error
	if s.Sources, err = d.sourceStatuses(ctx, snap, now); err != nil {
		return nil, err
	}
	counts, err := d.store.FilterCounts(ctx)
	if err != nil {
		return nil, err
	}
	for f, n := range counts {
		if f == "" {
			s.Interactions.Counted = n
		} else {
			s.Interactions.Filtered[string(f)] = n
		}
	}
	if s.Outbox.Pending, s.Outbox.Failed, err = d.store.OutboxDepth(ctx); err != nil {
		return nil, err
	}
	if s.Cluster, err = d.clusterStatus(ctx, snap, now); err != nil {
		return nil, err
	}
	return s, nil
}

// clusterStatus lists the leases of the configured sources and of the
// evaluation, and the live daemons.
func (d *Daemon) clusterStatus(ctx context.Context, snap *snapshot, now time.Time) (ClusterStatus, error) {
	c := ClusterStatus{Enabled: snap.cfg.Cluster.Enabled, Holder: d.holder,
		LeaseDuration: snap.cfg.Cluster.LeaseDuration.String(), Daemons: []string{}, Leases: []LeaseStatus{}}
	if !c.Enabled {
		return c, nil
	}
	stored, err := d.store.Leases(ctx)
	if err != nil {
		return c, err
	}
	names := append(sourceNames(snap), evaluationLease)
	slices.Sort(names)
	for _, name := range names {
		ls := LeaseStatus{Name: name}
		if i := slices.IndexFunc(stored, func(l store.Lease) bool { return l.Name == name }); i >= 0 {
			l := stored[i]
			ls.Holder, ls.Generation, ls.Live = l.Holder, l.Generation, l.Live(now)
			ls.This = ls.Live && l.Holder == d.holder
			ls.AcquiredAt, ls.RenewedAt, ls.ExpiresAt = timePtr(l.AcquiredAt), timePtr(l.RenewedAt), timePtr(l.ExpiresAt)
		}
		c.Leases = append(c.Leases, ls)
	}
	for _, l := range stored {
		if strings.HasPrefix(l.Name, memberPrefix) && l.Live(now) {
			c.Daemons = append(c.Daemons, l.Holder)
		}
	}
	return c, nil
}

// sourceStatuses lists every configured source: those the config declares
// (imap:<account>, caldav:<account>) and those the plan runs.
func (d *Daemon) sourceStatuses(ctx context.Context, snap *snapshot, now time.Time) ([]SourceStatus, error) {
	names := sourceNames(snap)
	stored, err := d.store.Sources(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SourceStatus, 0, len(names))
	for _, name := range names {
		ss := SourceStatus{Name: name, Stale: true, Stats: map[string]int64{}}
		i := slices.IndexFunc(stored, func(s store.SourceStatus) bool { return s.Name == name })
		if i >= 0 {
			h := stored[i]
			ss.LastAttemptAt, ss.LastSuccessAt, ss.FailingSince = timePtr(h.LastAttemptAt), timePtr(h.LastSuccessAt), timePtr(h.FailingSince)
			ss.ConsecutiveFailures, ss.LastError = h.ConsecutiveFailures, h.LastError
			if h.Stats != nil {
				ss.Stats = h.Stats
			}
			if !h.LastSuccessAt.IsZero() {
				lag := now.Sub(h.LastSuccessAt).Round(time.Second).String()
				ss.Lag = &lag
				ss.Stale = now.Sub(h.LastSuccessAt) > staleAfter(snap.cfg)
			}
		}
		out = append(out, ss)
	}
	return out, nil
}

// sourceNames names, sorted, the sources the configuration declares
// (imap:<account>, caldav:<account>) and those the plan runs.
func sourceNames(snap *snapshot) []string {
	names := configuredSources(snap.cfg)
	for _, src := range snap.plan.Sources {
		names = append(names, src.Name())
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// configuredSources names the sources cfg's accounts declare.
func configuredSources(cfg *config.Config) []string {
	var names []string
	for _, a := range cfg.Accounts {
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
func staleAfter(cfg *config.Config) time.Duration {
	if cfg.Sync.StaleAfter > 0 {
		return cfg.Sync.StaleAfter
	}
	return max(3*cfg.Sync.PollInterval, time.Hour)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
