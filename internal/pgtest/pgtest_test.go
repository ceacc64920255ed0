package pgtest

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestDSN: each test gets a database of its own, empty, on a server that
// really answers, and it is gone after the test.
func TestDSN(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		dsn := DSN(t)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var version int
		if err := db.QueryRow(`SELECT current_database(), current_setting('server_version_num')::int`).Scan(&name, &version); err != nil {
			t.Fatal(err)
		}
		if version < 150000 {
			t.Errorf("server version %d, want PostgreSQL 15 or newer", version)
		}
		var tables int
		if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
			t.Errorf("new database has %d tables (%v), want none", tables, err)
		}
	})
	db, err := sql.Open("pgx", Admin(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var left int
	if err := db.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&left); err != nil || left != 0 || name == "" {
		t.Errorf("database %q still there after its test (%d, %v)", name, left, err)
	}
}

// recorder is a test whose Skipf and Fatalf are recorded.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

// TestMissingServer: without PostgreSQL a test is skipped with a loud
// message, and under CI it fails, so CI cannot pass by skipping.
func TestMissingServer(t *testing.T) {
	t.Setenv("TOUCHBASE_PGTEST_DSN", "")
	t.Setenv("TOUCHBASE_PG_BIN", t.TempDir())
	_, err := up()
	if err == nil || !strings.Contains(err.Error(), "no PostgreSQL server programs") {
		t.Fatalf("up without server programs: %v; want them missing", err)
	}
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := &recorder{TB: t}
		missing(r, errors.New("none here"))
		if ci == "true" && (r.failed == "" || r.skipped != "") {
			t.Errorf("under CI: failed %q, skipped %q; want a failure", r.failed, r.skipped)
		}
		if ci == "" && (r.skipped == "" || !strings.Contains(r.skipped, "SKIPPING POSTGRES TEST") || r.failed != "") {
			t.Errorf("outside CI: failed %q, skipped %q; want a loud skip", r.failed, r.skipped)
		}
	}
}
