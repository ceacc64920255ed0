package evaluate

import (
	"context"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// Store is what evaluation and its queries read and write (*store.Store
// implements it; see there for each method's contract).
type Store interface {
	// Interactions, kept in memory and read again as they change.
	LoadInteractions(ctx context.Context, since time.Time, fn func(id int64, in *cadence.Interaction)) (int64, error)
	ScanChanges(ctx context.Context, after int64, fn func(id int64, in *cadence.Interaction)) (int64, error)
	PruneChanges(ctx context.Context, through int64) (int64, error)
	Interactions(ctx context.Context, since time.Time) ([]cadence.Interaction, error)
	EarliestCounted(ctx context.Context) (time.Time, error)
	HistoryStart(ctx context.Context) (time.Time, bool, error)
	FixHistoryStart(ctx context.Context, t time.Time) (time.Time, error)

	// Source health and its announced failures.
	Sources(ctx context.Context) ([]store.SourceStatus, error)
	SourceFailures(ctx context.Context) (map[string]store.SourceFailure, error)
	ApplyHealth(ctx context.Context, ch store.HealthChange, routes func(eventType string) []string) error

	// Alerts and silences.
	Alerts(ctx context.Context, all bool) ([]cadence.Alert, error)
	OpenAlerts(ctx context.Context) ([]cadence.Alert, error)
	ResolvedSince(ctx context.Context, since time.Time) ([]cadence.Alert, error)
	ResolvedEpisodes(ctx context.Context) (map[string]int, error)
	ApplyEvaluation(ctx context.Context, changes []cadence.Alert, events []store.Event, routes func(eventType string) []string) error
	Silences(ctx context.Context, t time.Time, all bool) ([]cadence.Silence, error)
	AddSilence(ctx context.Context, sl cadence.Silence) (cadence.Silence, error)
	ExpireSilence(ctx context.Context, id string, at time.Time) error
}

var _ Store = (*store.Store)(nil)
