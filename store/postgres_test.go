package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/internal/pgtest"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?' || ? FROM "we?ird" WHERE x = ?`, `SELECT '?' || $1 FROM "we?ird" WHERE x = $2`},
		{`SELECT 'it''s?' , ?`, `SELECT 'it''s?' , $1`},
		{"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{`SELECT ? /* a ? here */ , ?`, `SELECT $1 /* a ? here */ , $2`},
		{`SELECT 'open ?`, `SELECT 'open ?`},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSchemasMatch keeps the Postgres migrations in step with SQLite's:
// both reach the same latest version, and the databases they make have
// the same tables, columns, indexes and triggers. (Postgres has its
// schema_version table, and silences' rowid as a column.) A SQLite
// migration without its Postgres counterpart fails here.
func TestSchemasMatch(t *testing.T) {
	if l, p := sqliteDialect.latestVersion(), postgresDialect.latestVersion(); l != p {
		t.Fatalf("latest schema version: sqlite %d, postgres %d; every SQLite migration needs its migrations/postgres file", l, p)
	}
	lite, pg := openSQLiteTest(t), openPostgresTest(t)
	got := describePostgres(t, pg)
	want := describeSQLite(t, lite)
	if !slices.Equal(got, want) {
		t.Errorf("schemas differ\npostgres: %q\nsqlite:   %q", got, want)
	}
}

// describeSQLite lists "table(columns)", "index name" and "trigger name".
func describeSQLite(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	for _, table := range strings.Split(queryString(t, s, `SELECT `+s.d.groupConcat("name", "','")+
		` FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`), ",") {
		cols := queryString(t, s, `SELECT `+s.d.groupConcat("name", "','", "name")+` FROM pragma_table_info(?)`, table)
		out = append(out, table+"("+cols+")")
	}
	rows := queryStrings(t, s, `SELECT type || ' ' || name FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL`)
	return sorted(append(out, rows...))
}

func describePostgres(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	for _, table := range queryStrings(t, s, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
		AND tablename <> 'schema_version'`) {
		cols := queryString(t, s, `SELECT `+s.d.groupConcat("column_name", "','", "column_name")+`
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?
			AND NOT (table_name = 'silences' AND column_name = 'rowid')`, table)
		out = append(out, table+"("+cols+")")
	}
	// Indexes made by CREATE INDEX, not those behind keys and constraints.
	idx := queryStrings(t, s, `SELECT 'index ' || indexname FROM pg_indexes i WHERE schemaname = current_schema()
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`)
	trg := queryStrings(t, s, `SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal`)
	return sorted(append(append(out, idx...), trg...))
}

func queryString(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	var v sql.NullString
	if err := s.db.QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v.String
}

func queryStrings(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func sorted(xs []string) []string { slices.Sort(xs); return xs }

// TestChangeLogCommitOrder: on Postgres, a writer that commits first but
// was handed a later seq must not let a reader skip the earlier one. A
// transaction holds an interaction uncommitted while a second writer
// tries to store another; a reader between them sees neither, and after
// both commit it sees both. Without the change log's lock the second
// would commit first with the higher seq, the reader would move past it,
// and the first one's change would never be read.
func TestChangeLogCommitOrder(t *testing.T) {
	s := openPostgresTest(t)
	ctx := t.Context()
	pos, err := s.LoadInteractions(ctx, time.Time{}, func(int64, *cadence.Interaction) {})
	if err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO interactions (key, kind, at, account, first_seen) VALUES (?, 'email', 1, 'a', 1)`
	first, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	if _, err := first.ExecContext(ctx, insert, "mid:first"); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		_, err := s.db.ExecContext(context.WithoutCancel(ctx), insert, "mid:second")
		second <- err
	}()
	// The second writer either waits for the lock, as it must, or (without
	// the lock) has committed: the reader runs once it is one or the other.
	var secondDone error
	waitFor(t, "the second writer to wait or commit", func() bool {
		select {
		case secondDone = <-second:
			second <- secondDone
			return true
		default:
		}
		return queryString(t, s, `SELECT COUNT(*)::text FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`) != "0"
	})
	var read []string
	record := func(_ int64, in *cadence.Interaction) { read = append(read, in.Key) }
	if pos, err = s.ScanChanges(ctx, pos, record); err != nil {
		t.Fatal(err)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if _, err = s.ScanChanges(ctx, pos, record); err != nil {
		t.Fatal(err)
	}
	if slices.Sort(read); !slices.Equal(read, []string{"mid:first", "mid:second"}) {
		t.Errorf("the reader read %q; want both interactions, each once", read)
	}
}

// waitFor polls cond until it holds; a minute without is a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}

// TestConcurrentClaims: dispatchers of several daemons (stores of their
// own on one Postgres database) claiming at once take each due delivery
// once between them.
func TestConcurrentClaims(t *testing.T) {
	dsn := pgtest.DSN(t)
	var stores []*Store
	for range 4 {
		s, err := OpenPostgres(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var events []Event
	for i := range 200 {
		events = append(events, Event{ID: fmt.Sprintf("ev%03d", i), Type: "webhook.test", CreatedAt: t0, Payload: []byte(`{}`)})
	}
	enqueueTo(t, stores[0], []string{"a", "b"}, events...)
	var mu sync.Mutex
	claims := map[int64]int{}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for {
				cs, err := s.ClaimDue(t.Context(), t0, fmt.Sprintf("d%d", i), []string{"a", "b"}, time.Hour, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					claims[c.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claims) != 400 {
		t.Errorf("%d deliveries claimed, want all 400", len(claims))
	}
	for _, id := range slices.Sorted(maps.Keys(claims)) {
		if claims[id] != 1 {
			t.Errorf("delivery %d claimed %d times", id, claims[id])
		}
	}
}

// TestOpenPostgresHidesTheDSN: a DSN that does not parse, or names a
// server that does not answer, fails without its password in the error.
func TestOpenPostgresHidesTheDSN(t *testing.T) {
	const password = "LEAKED-PASSWORD-4711"
	for _, dsn := range []string{
		"postgres://touchbase:" + password + "@127.0.0.1:1/touchbase?connect_timeout=5",
		"postgres://touchbase:" + password + "@127.0.0.1:54x2/touchbase",
		"host=127.0.0.1 port=1 user=touchbase password=" + password + " connect_timeout=5",
		"postgres://touchbase@127.0.0.1:1/touchbase?password=" + password + "&connect_timeout=5",
	} {
		s, err := OpenPostgres(t.Context(), dsn)
		if err == nil {
			s.Close()
			t.Errorf("OpenPostgres succeeded on a closed port")
			continue
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("error quotes the password: %v", err)
		}
		if _, err := PostgresExists(t.Context(), dsn); err == nil || strings.Contains(err.Error(), password) {
			t.Errorf("PostgresExists: %v; want an error without the password", err)
		}
	}
}
