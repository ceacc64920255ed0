// Package store persists Touchbase's state: interactions and their
// participants, per-source sync state, alert states, silences and the
// webhook outbox. The database is an embedded SQLite file (WAL mode) at
// data_dir/touchbase.db (Open), or a PostgreSQL database that several
// daemons may share (OpenPostgres). One Store type serves both: the SQL is
// shared, and the few places where the engines differ ask the dialect.
//
// Every method that changes state runs in one transaction, so a crash at any
// point leaves either all or none of a change. Writes that belong together
// (interactions and the sync state that covers them, alert transitions and
// the events they produce) are exposed as single methods.
//
// Several daemons may share one store: they split the work with leases
// (AcquireLease), and a context fenced by a lease (WithLease) commits
// nothing once the lease has passed to another daemon.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// FileName is the database's name inside data_dir.
const FileName = "touchbase.db"

// Store is an open database. It is safe for concurrent use. On SQLite,
// writes are serialised on one connection, as SQLite allows one writer at
// a time, and reads that need no write go to a small pool of read-only
// connections: in WAL mode a reader sees the last commit without waiting
// for the writer, so a full load of millions of interactions, a CLI query
// or the dashboard never stalls a sync's commit (and the reverse). On
// Postgres one pool of connections serves both (rdb is db).
type Store struct {
	db   *sql.DB // the one writer; reads inside a write transaction use it too
	rdb  *sql.DB // read-only connections, for reads outside a transaction
	d    dialect
	now  func() time.Time
	snap *snapshot // an immutable read-only open's view of its file; nil otherwise

	quiet  atomic.Pointer[quiet]       // the outbox found with nothing due (quietOutbox)
	counts atomic.Pointer[queueCounts] // the last QueueCounts

	ckpt     *sql.DB       // SQLite: the checkpointer's own connection; nil otherwise
	stopCkpt chan struct{} // closed by Close
	ckptDone chan struct{} // closed when the checkpointer has stopped

	closeOnce sync.Once // Close is safe to call twice (a daemon and its test both close)
	closeErr  error
}

// readConns is the size of the SQLite read pool: the evaluation's load,
// the dashboard, the API and a dispatcher's due check at once.
const readConns = 4

// Open opens (creating if needed) the SQLite database in dir and migrates
// it to the latest schema. dir is created with mode 0750 if missing: the
// service's group (operators) may read the store. It fails with
// ErrNotWritable when this user cannot write the store (see OpenReadOnly
// for reading it).
func Open(ctx context.Context, dir string) (*Store, error) {
	return open(ctx, dir, latestVersion())
}

// open opens the database migrated to schema version target; tests use it
// to build databases at earlier versions.
func open(ctx context.Context, dir string, target int) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := checkWritable(dir); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate" +
		// Commits do not checkpoint (see checkpoint).
		"&_pragma=wal_autocheckpoint(0)" +
		// Sorts and index builds in memory, and a 32 MiB page cache: a
		// large first IMAP sync writes 15-25% faster.
		"&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32768)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and a single connection makes
	// transactions queue in Go instead of failing with SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, d: sqliteDialect, now: time.Now}
	err = s.migrate(ctx, target)
	// While another process turns a fresh file to WAL, SQLite answers
	// SQLITE_BUSY without waiting for busy_timeout: try again shortly.
	for try := 1; try < 10 && isBusy(err); try++ {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(time.Duration(try) * 20 * time.Millisecond):
			err = s.migrate(ctx, target)
		}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Opened after the migration, which made the file WAL: query_only
	// makes any write on these connections an error rather than a second
	// writer queueing behind the first.
	s.rdb, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)"+
		"&_pragma=temp_store(MEMORY)&_pragma=cache_size(-16384)")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.rdb.SetMaxOpenConns(readConns)
	s.rdb.SetMaxIdleConns(readConns)
	if s.ckpt, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"); err != nil {
		s.rdb.Close()
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.ckpt.SetMaxOpenConns(1)
	s.stopCkpt, s.ckptDone = make(chan struct{}), make(chan struct{})
	go s.checkpoint()
	return s, nil
}

// checkpointEvery is how often the WAL is copied back into the database.
const checkpointEvery = time.Second

// checkpoint copies the WAL back into the database every checkpointEvery,
// on a connection of its own, until Close. SQLite's automatic checkpoint
// runs inside the commit that crosses its threshold, and while readers
// keep the WAL from being reset it ran in commit after commit: a sync's
// commit paid for copying and syncing pages beside every long read.
// PASSIVE never waits for readers or the writer; what it cannot copy yet
// is copied by a later run.
func (s *Store) checkpoint() {
	defer close(s.ckptDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stopCkpt:
			return
		case <-t.C:
			_, _ = s.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)") // best effort: the next run retries
		}
	}
}

// isBusy says whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// Close stops the checkpointer and closes the database; the last
// connection to close checkpoints what is left.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	if s.ckpt == nil { // Postgres, or a read-only SQLite open
		if s.rdb != s.db {
			return errors.Join(s.rdb.Close(), s.db.Close())
		}
		return s.db.Close()
	}
	close(s.stopCkpt)
	<-s.ckptDone
	return errors.Join(s.ckpt.Close(), s.rdb.Close(), s.db.Close())
}

// latestVersion is the schema version this binary migrates to (the same
// on both backends: a test keeps them in step).
func latestVersion() int { return sqliteDialect.latestVersion() }

// ErrNewerSchema is returned when the database was written by a newer
// Touchbase: migrations are forward-only, so it cannot be used.
var ErrNewerSchema = errors.New("database schema is newer than this binary")

// migrate applies, each in its own transaction, the migrations after the
// database's schema version up to target.
func (s *Store) migrate(ctx context.Context, target int) error {
	current, err := s.d.schemaVersion(ctx, s.db)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > latestVersion() {
		return fmt.Errorf("%w (version %d, this binary knows %d)", ErrNewerSchema, current, latestVersion())
	}
	ms := s.d.migrations()
	if current != 0 && current < ms[0].version-1 {
		return fmt.Errorf("schema version %d: no %s migration from it (the first makes %d)", current, s.d, ms[0].version)
	}
	for _, m := range ms {
		if m.version <= current || m.version > target {
			continue
		}
		err := s.tx(ctx, func(tx *sql.Tx) error {
			// Another process (a CLI command beside the daemon, a second
			// daemon) may have migrated since the read above; once this
			// transaction holds the lock, a second read is the truth.
			if err := s.d.lockMigrations(ctx, tx); err != nil {
				return err
			}
			now, err := s.d.schemaVersion(ctx, tx)
			if err != nil {
				return err
			}
			if now >= m.version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			return s.d.setSchemaVersion(ctx, tx, m.version)
		})
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", m.version, err)
		}
	}
	return nil
}

// SchemaVersion returns the database's schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return s.d.schemaVersion(ctx, s.db)
}

// Backend names the database engine: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.String() }

// interactionTx is tx for a transaction that writes interactions or their
// sources, whose triggers write the change log: on Postgres it first takes
// the change log's lock (dialect.lockChangeLog), before it reads anything,
// so that two writers of the same interactions queue instead of deadlocking.
func (s *Store) interactionTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.d.lockChangeLog(ctx, tx); err != nil {
			return fmt.Errorf("lock the interaction change log: %w", err)
		}
		return fn(tx)
	})
}

// tx runs fn in a transaction, committing when it returns nil and, when
// ctx is fenced by a lease (WithLease), the lease is still held. On SQLite
// it is an immediate transaction (the writer's lock from the start); on
// Postgres it runs at READ COMMITTED, so a statement that must not lose
// a concurrent update says so (a conditional UPDATE, FOR UPDATE).
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := checkFence(ctx, tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ms converts a time to the stored form; the zero time is stored as 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms, in UTC.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
