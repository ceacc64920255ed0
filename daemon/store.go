package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
