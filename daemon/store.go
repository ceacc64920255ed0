package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// OpenStore opens, and migrates, the store the configuration names: the
// SQLite file in data_dir, or the PostgreSQL database of the DSN in
// postgres.dsn_file. Errors name the configuration key, never the DSN.
func OpenStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	if cfg.Store != config.StorePostgres {
		return store.Open(ctx, cfg.DataDir)
	}
	dsn, err := postgresDSN(ctx, cfg)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres.dsn_file %s: %w", cfg.Postgres.DSNFile, err)
	}
	return st, nil
}

// StoreLocation describes where the configured store is, for messages: the
// SQLite file, or the file holding the Postgres DSN.
func StoreLocation(cfg *config.Config) string {
	if cfg.Store == config.StorePostgres {
		return "the postgres database of " + cfg.Postgres.DSNFile
	}
	return filepath.Join(cfg.DataDir, store.FileName)
}

// StoreExists reports whether the configured store was made (by a daemon
// or `run --once`): the CLI reads stores, it does not create them.
func StoreExists(ctx context.Context, cfg *config.Config) (bool, error) {
	if cfg.Store != config.StorePostgres {
		_, err := os.Stat(filepath.Join(cfg.DataDir, store.FileName))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	dsn, err := postgresDSN(ctx, cfg)
	if err != nil {
		return false, err
	}
	ok, err := store.PostgresExists(ctx, dsn)
	if err != nil {
		return false, fmt.Errorf("postgres.dsn_file %s: %w", cfg.Postgres.DSNFile, err)
	}
	return ok, nil
}

func postgresDSN(ctx context.Context, cfg *config.Config) (string, error) {
	dsn, err := cfg.Postgres.DSN.Value(ctx)
	if err != nil {
		return "", fmt.Errorf("postgres.dsn_file %s: %w", cfg.Postgres.DSNFile, err)
	}
	return dsn, nil
}

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
	OpenAlerts(ctx context.Context) ([]cadence.Alert, error)
	EvaluationMark(ctx context.Context) (store.Mark, error)

	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (store.Lease, bool, error)
	RenewLease(ctx context.Context, l store.Lease, now time.Time, ttl time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, l store.Lease, now time.Time) error
	GetLease(ctx context.Context, name string) (store.Lease, bool, error)
	Leases(ctx context.Context) ([]store.Lease, error)
	DeleteLeases(ctx context.Context, prefix string, t time.Time) (int64, error)
}

var _ Store = (*store.Store)(nil)
