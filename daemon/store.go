package daemon

import (
	"context"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// Store is what the daemon's own loops, status and metrics need of the
// store (*store.Store implements it). The daemon opens the store and
// hands it to Options.Build, which wires the adapters, each of which
// declares what it needs in turn.
type Store interface {
	RecordSyncSuccess(ctx context.Context, source string, t time.Time, stats map[string]int64) error
	RecordSyncFailure(ctx context.Context, source string, t time.Time, errText string, stats map[string]int64) error
	Sources(ctx context.Context) ([]store.SourceStatus, error)
	FilterCounts(ctx context.Context) (map[cadence.Filter]int, error)
	OutboxDepth(ctx context.Context) (pending, failed int, err error)
	Prune(ctx context.Context, c store.Cutoffs, batch int, pause time.Duration) (store.Pruned, error)
}

var _ Store = (*store.Store)(nil)
