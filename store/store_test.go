package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/internal/pgtest"
)

// backend is a database engine the store's contract tests run against.
type backend struct {
	name string
	// open returns a new, empty store at the latest schema version,
	// closed when t ends.
	open func(t *testing.T) *Store
	// where returns a new, empty place for a store: a folder, or the DSN
	// of a new database on the test PostgreSQL; openAt opens the store
	// there, migrated to schema version target. For the tests of opening
	// and migrating.
	where  func(t *testing.T) string
	openAt func(ctx context.Context, where string, target int) (*Store, error)
}

// backends are the engines every contract test runs against: SQLite in a
// temporary folder, and PostgreSQL 15 (internal/pgtest: skipped when it
// is missing, failed under CI).
var backends = []backend{
	{name: "sqlite", open: openSQLiteTest, where: func(t *testing.T) string { return t.TempDir() }, openAt: open},
	{name: "postgres", open: openPostgresTest, where: func(t *testing.T) string { return pgtest.DSN(t) }, openAt: openPostgres},
}

func openSQLiteTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pgPool holds migrated Postgres databases that tests have finished
// with, emptied for the next test: a new database costs a CREATE DATABASE
// and a migration, seconds on a busy machine; emptying one, a TRUNCATE.
// TestMain drops them.
var pgPool struct {
	sync.Mutex
	free  []string
	drops []func() error
}

func openPostgresTest(t *testing.T) *Store {
	t.Helper()
	pgPool.Lock()
	var dsn string
	if n := len(pgPool.free); n > 0 {
		dsn, pgPool.free = pgPool.free[n-1], pgPool.free[:n-1]
	}
	pgPool.Unlock()
	if dsn == "" {
		var drop func() error
		dsn, drop = pgtest.NewDatabase(t, "store_pool")
		pgPool.Lock()
		pgPool.drops = append(pgPool.drops, drop)
		pgPool.Unlock()
	}
	s, err := OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := emptyPostgres(s)
		s.Close()
		if err != nil {
			t.Errorf("empty the database for the next test: %v", err)
			return
		}
		pgPool.Lock()
		pgPool.free = append(pgPool.free, dsn)
		pgPool.Unlock()
	})
	return s
}

// emptyPostgres leaves s's database as a new one: every table empty and
// every identity restarted. A test that changed the schema keeps it.
func emptyPostgres(s *Store) error {
	ctx := context.Background()
	if v, err := s.SchemaVersion(ctx); err != nil || v != latestVersion() {
		return fmt.Errorf("schema version %d (%v) after the test", v, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT tablename FROM pg_tables
		WHERE schemaname = current_schema() AND tablename NOT IN ('schema_version', 'outbox_version')`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `TRUNCATE `+strings.Join(tables, ", ")+` RESTART IDENTITY`)
	return err
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, drop := range pgPool.drops {
		if err := drop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// forEachBackend runs test once per backend, as subtests named after them.
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// forEachStore runs test with a new store of each backend.
func forEachStore(t *testing.T, test func(t *testing.T, s *Store)) {
	forEachBackend(t, func(t *testing.T, b backend) { test(t, b.open(t)) })
}

func TestOpenMigratesAndReopens(t *testing.T) { forEachBackend(t, testOpenMigratesAndReopens) }

func testOpenMigratesAndReopens(t *testing.T, b backend) {
	where := b.where(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		s, err := b.openAt(ctx, where, latestVersion())
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil || v != latestVersion() {
			t.Fatalf("open #%d: schema version %d, %v; want %d", i, v, err, latestVersion())
		}
		if s.Backend() != b.name {
			t.Errorf("Backend() = %q, want %q", s.Backend(), b.name)
		}
		if b.name == "sqlite" {
			var mode string
			if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
				t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
			}
		}
		s.Close()
	}
}

// TestConcurrentFirstOpen: a CLI command and the daemon (or, on Postgres,
// several daemons) opening a fresh store at the same moment all end with
// a migrated store; none fails on a migration another applied first.
func TestConcurrentFirstOpen(t *testing.T) { forEachBackend(t, testConcurrentFirstOpen) }

func testConcurrentFirstOpen(t *testing.T, b backend) {
	rounds := 10
	if b.name == "postgres" {
		rounds = 3 // a new database is slow to make, and the lock leaves less to chance
	}
	for round := 0; round < rounds; round++ {
		where := b.where(t)
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				s, err := b.openAt(t.Context(), where, latestVersion())
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: concurrent open: %v", round, err)
			}
		}
	}
}

// TestMigrateFromEveryVersion builds the database at each earlier schema
// version the backend has (0 is an empty database; Postgres starts at the
// version its first migration makes), writes an interaction where the
// schema has one, and checks Open brings it to the latest version without
// losing it.
func TestMigrateFromEveryVersion(t *testing.T) { forEachBackend(t, testMigrateFromEveryVersion) }

func testMigrateFromEveryVersion(t *testing.T, b backend) {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	froms := []int{0}
	migrations := dialectOf(b).migrations()
	for _, m := range migrations[:len(migrations)-1] {
		froms = append(froms, m.version)
	}
	for _, from := range froms {
		where := b.where(t)
		s, err := b.openAt(ctx, where, from)
		if err != nil {
			t.Fatalf("open at version %d: %v", from, err)
		}
		want := 0
		if from >= 1 {
			if _, err := s.db.Exec(`INSERT INTO interactions (key, kind, at, account, first_seen) VALUES ('mid:x', 'email', ?, 'a', ?)`, ms(at), ms(at)); err != nil {
				t.Fatal(err)
			}
			want = 1
		}
		s.Close()
		s, err = b.openAt(ctx, where, latestVersion())
		if err != nil {
			t.Fatalf("migrate from %d: %v", from, err)
		}
		if v, _ := s.SchemaVersion(ctx); v != latestVersion() {
			t.Errorf("from %d: version %d, want %d", from, v, latestVersion())
		}
		got, err := s.Interactions(ctx, time.Time{})
		if err != nil || len(got) != want {
			t.Errorf("from %d: %d interactions (%v), want %d", from, len(got), err, want)
		}
		checkChangeLog(t, s, from, want)
		s.Close()
	}
}

func dialectOf(b backend) dialect {
	if b.name == "postgres" {
		return postgresDialect
	}
	return sqliteDialect
}

// checkChangeLog: rows from before the change log (v2) are loaded in full;
// a change after the migration is in the log.
func checkChangeLog(t *testing.T, s *Store, from, want int) {
	t.Helper()
	ctx := t.Context()
	loaded := 0
	pos, err := s.LoadInteractions(ctx, time.Time{}, func(int64, *cadence.Interaction) { loaded++ })
	if err != nil || loaded != want {
		t.Errorf("from %d: loaded %d interactions (%v), want %d", from, loaded, err, want)
	}
	if _, err := s.db.Exec(`INSERT INTO interactions (key, kind, at, account, first_seen) VALUES ('mid:after', 'email', 1, 'a', 1)`); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if _, err := s.ScanChanges(ctx, pos, func(_ int64, in *cadence.Interaction) { keys = append(keys, in.Key) }); err != nil || len(keys) != 1 || keys[0] != "mid:after" {
		t.Errorf("from %d: changes after the migration %q, %v; want the new interaction", from, keys, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) { forEachBackend(t, testNewerSchemaRefused) }

func testNewerSchemaRefused(t *testing.T, b backend) {
	where := b.where(t)
	s, err := b.openAt(t.Context(), where, latestVersion())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.d.setSchemaVersion(t.Context(), s.db, 999); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := b.openAt(t.Context(), where, latestVersion()); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("open of a newer schema: %v; want ErrNewerSchema", err)
	}
}

func TestUpsertInteractionDedupes(t *testing.T) { forEachStore(t, testUpsertInteractionDedupes) }

func testUpsertInteractionDedupes(t *testing.T, s *Store) {
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	in := cadence.Interaction{Key: cadence.MailKey("a@x"), Kind: cadence.Email, At: at, Account: "alice",
		Subject: "Status", Sender: "bob@acme.com",
		Participants: []cadence.Participant{{Address: "bob@acme.com", Role: cadence.From}, {Address: "alice@us.com", Role: cadence.To}}}
	for _, loc := range []string{"imap:INBOX", "imap:Archive", "imap:INBOX"} {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			_, _, err := upsertInteraction(ctx, tx, in, loc, false, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Interactions(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Participants) != 2 || !got[0].At.Equal(at) || got[0].Subject != "Status" {
		t.Fatalf("got %+v; want one interaction with 2 participants", got)
	}
}
