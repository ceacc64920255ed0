package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"sort"
	"strings"
)

// dialect is what differs between the SQL of the two backends. Queries are
// written once, in the SQL both engines share, with ? placeholders (the
// Postgres connection rebinds them to $1..$n: see postgres.go). The few
// constructs they do not share are built by these methods; everything else
// was rewritten portably: INSERT … ON CONFLICT DO NOTHING instead of
// INSERT OR IGNORE, RETURNING id instead of LastInsertId, CASE instead of
// SQLite's two-argument MIN.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

//go:embed migrations/*.sql
var sqliteMigrations embed.FS

//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

type migration struct {
	version int
	sql     string
}

// migrations returns the dialect's migrations in version order. SQLite's
// run from version 1; Postgres's first file creates the schema at its
// version from an empty database (see its header), and each later one
// has the number of the SQLite migration it ports.
func (d dialect) migrations() []migration {
	files, dir := sqliteMigrations, "migrations"
	if d == postgresDialect {
		files, dir = postgresMigrations, "migrations/postgres"
	}
	entries, err := files.ReadDir(dir)
	if err != nil {
		panic(err) // embedded at build time
	}
	var ms []migration
	for _, e := range entries {
		var v int
		if _, err := fmt.Sscanf(e.Name(), "%04d_", &v); err != nil {
			panic(fmt.Sprintf("migration %s/%s: name must start with a 4-digit version", dir, e.Name()))
		}
		b, _ := files.ReadFile(dir + "/" + e.Name())
		ms = append(ms, migration{version: v, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if first := ms[0].version; m.version != first+i || (d == sqliteDialect && first != 1) {
			panic(fmt.Sprintf("%s migrations must be numbered without gaps (and from 1 for SQLite), got %d at %d", dir, m.version, i))
		}
	}
	return ms
}

func (d dialect) latestVersion() int {
	ms := d.migrations()
	return ms[len(ms)-1].version
}

// querier is a *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// schemaVersion reads the schema version: SQLite's user_version, or the
// one row of Postgres's schema_version table (0 while there is none).
func (d dialect) schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if d == sqliteDialect {
		err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
		return v, err
	}
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	return v, err
}

// setSchemaVersion records version in tx.
func (d dialect) setSchemaVersion(ctx context.Context, tx querier, version int) error {
	if d == sqliteDialect {
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version))
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, version)
	return err
}

// Advisory lock keys on Postgres: (lockSpace, key). The space keeps them
// apart from other applications' locks in the same database.
const (
	lockSpace      = 29794 // "tb"
	lockMigrations = 1
	lockChangeLog  = 2 // taken by the log's triggers too: 0006_init.sql
)

// lockMigrations makes tx the only migrating transaction until it ends.
// On SQLite the immediate transaction holds the write lock already; on
// Postgres two daemons starting at once take an advisory lock, and the
// second finds the schema migrated when it gets it.
func (d dialect) lockMigrations(ctx context.Context, tx querier) error {
	if d == sqliteDialect {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?, ?)`, lockSpace, lockMigrations); err != nil {
		return fmt.Errorf("lock migrations: %w", err)
	}
	_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`)
	return err
}

// lockChangeLog makes tx the only writer of the interaction change log
// until it ends (see 0006_init.sql for why Postgres needs it). SQLite's
// immediate transaction is the only writer already.
func (d dialect) lockChangeLog(ctx context.Context, tx querier) error {
	if d == sqliteDialect {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?, ?)`, lockSpace, lockChangeLog)
	return err
}

// chr is the one-character string with code point n.
func (d dialect) chr(n int) string {
	if d == postgresDialect {
		return fmt.Sprintf("chr(%d)", n)
	}
	return fmt.Sprintf("char(%d)", n)
}

// groupConcat is the aggregate joining expr's values with sep (an SQL
// expression), in the order of the orderBy expressions, if any.
func (d dialect) groupConcat(expr, sep string, orderBy ...string) string {
	f := "group_concat("
	if d == postgresDialect {
		f = "string_agg("
	}
	if len(orderBy) > 0 {
		sep += " ORDER BY " + strings.Join(orderBy, ", ")
	}
	return f + expr + ", " + sep + ")"
}

// strpos is the 1-based position of needle in s, 0 when absent.
func (d dialect) strpos(s, needle string) string {
	if d == postgresDialect {
		return "strpos(" + s + ", " + needle + ")"
	}
	return "instr(" + s + ", " + needle + ")"
}

// jsonText is the text at path (object keys) in the JSON document doc,
// NULL when doc is not JSON or holds nothing there.
func (d dialect) jsonText(doc string, path ...string) string {
	if d == postgresDialect {
		return "touchbase_json_text(" + doc + ", '{" + strings.Join(path, ",") + "}')"
	}
	return "(CASE WHEN json_valid(" + doc + ") THEN json_extract(" + doc + ", '$." + strings.Join(path, ".") + "') END)"
}

// forUpdate locks the rows a SELECT reads until the transaction ends, on
// Postgres; SQLite's immediate transaction holds the database already.
func (d dialect) forUpdate() string {
	if d == postgresDialect {
		return " FOR UPDATE"
	}
	return ""
}
