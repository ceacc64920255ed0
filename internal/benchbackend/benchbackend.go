// Package benchbackend opens the store a bench program measures, on the
// backend its -store flag names, so that figures for SQLite and Postgres
// come from the same program side by side:
//
//	-store sqlite    (default) a SQLite store in the folder the program uses
//	-store postgres  a database named after that folder on the server that
//	                 -pg-admin reaches (a role allowed to create databases;
//	                 default $TOUCHBASE_BENCH_PG, else internal/pgtest's
//	                 cluster, which `go test ./internal/pgtest` starts)
package benchbackend

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for CREATE and DROP DATABASE

	"github.com/touchbase/touchbase/store"
)

// defaultAdmin is internal/pgtest's shared cluster.
const defaultAdmin = "postgres://touchbase@127.0.0.1:54329/postgres?sslmode=disable"

// Flags are the backend flags of a bench program.
type Flags struct {
	Backend string
	Admin   string
}

// Register adds -store and -pg-admin to fs.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	admin := os.Getenv("TOUCHBASE_BENCH_PG")
	if admin == "" {
		admin = defaultAdmin
	}
	fs.StringVar(&f.Backend, "store", "sqlite", "store backend: sqlite (in the folder) or postgres (a database named after it)")
	fs.StringVar(&f.Admin, "pg-admin", admin, "postgres: DSN of a role that may create databases (env TOUCHBASE_BENCH_PG)")
	return f
}

// Open opens (creating and migrating) the store of dir.
func (f *Flags) Open(ctx context.Context, dir string) (*store.Store, error) {
	switch f.Backend {
	case "sqlite":
		return store.Open(ctx, dir)
	case "postgres":
		db, err := f.admin()
		if err != nil {
			return nil, err
		}
		defer db.Close()
		name := dbName(dir)
		var exists bool
		if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		if !exists {
			if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
				return nil, fmt.Errorf("postgres: create database %s: %w", name, err)
			}
		}
		return store.OpenPostgres(ctx, f.dsn(name))
	}
	return nil, fmt.Errorf("-store %q: want sqlite or postgres", f.Backend)
}

// Remove deletes the store of dir (the folder, or the database), so that
// the next Open starts empty.
func (f *Flags) Remove(ctx context.Context, dir string) error {
	if f.Backend != "postgres" {
		return os.RemoveAll(dir)
	}
	db, err := f.admin()
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+dbName(dir)+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("postgres: drop database: %w", err)
	}
	return nil
}

// DSN is the DSN of dir's Postgres database, for a bench's own
// connections beside the store's (seeding, holding locks).
func (f *Flags) DSN(dir string) string { return f.dsn(dbName(dir)) }

func (f *Flags) admin() (*sql.DB, error) {
	db, err := sql.Open("pgx", f.Admin)
	if err != nil {
		return nil, fmt.Errorf("-pg-admin: %w", err)
	}
	return db, nil
}

// dsn is the admin DSN with its database replaced.
func (f *Flags) dsn(name string) string {
	u, err := url.Parse(f.Admin)
	if err != nil || u.Scheme == "" {
		return f.Admin + " dbname=" + name // key=value form
	}
	u.Path = "/" + name
	return u.String()
}

var unsafe = regexp.MustCompile(`[^a-z0-9]+`)

// dbName names the database of dir: its base name, and a hash of the
// whole path so that two folders never share one.
func dbName(dir string) string {
	abs, _ := filepath.Abs(dir)
	sum := sha256.Sum256([]byte(abs))
	base := strings.Trim(unsafe.ReplaceAllString(strings.ToLower(filepath.Base(abs)), "_"), "_")
	if len(base) > 30 {
		base = base[:30]
	}
	return "touchbase_bench_" + base + "_" + hex.EncodeToString(sum[:4])
}
