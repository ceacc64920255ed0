package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Connections to Postgres: enough for a daemon's sync loops, evaluation,
// dispatcher and API at once, few enough for several daemons on one server.
const (
	postgresMaxConns    = 10
	postgresConnMaxIdle = 5 * time.Minute
)

// OpenPostgres connects to the PostgreSQL (15 or newer) database that dsn
// names (a postgres:// URL or key=value pairs) and migrates it to the
// latest schema, as Open does a SQLite file. Several daemons may open one
// database at once: migrations take an advisory lock, so they run once.
// The DSN holds a password: errors never quote it.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	return openPostgres(ctx, dsn, postgresDialect.latestVersion())
}

func openPostgres(ctx context.Context, dsn string, target int) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message repeats the DSN (password masked, but a mistyped
		// one may hide a password elsewhere): say only what is wrong.
		return nil, errors.New("open postgres store: the DSN cannot be parsed (want a postgres:// URL or key=value pairs)")
	}
	db := sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(postgresMaxConns)
	db.SetMaxIdleConns(postgresMaxConns)
	db.SetConnMaxIdleTime(postgresConnMaxIdle)
	where := fmt.Sprintf("postgres database %s on %s", cfg.Database, cfg.Host)
	s := &Store{db: db, rdb: db, d: postgresDialect, now: time.Now}
	var version int
	if err := db.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store: %s: %w", where, err)
	}
	if version < 150000 {
		db.Close()
		return nil, fmt.Errorf("open store: %s: PostgreSQL %d.%d is too old (want 15 or newer)", where, version/10000, version%10000)
	}
	if err := s.migrate(ctx, target); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store: %s: %w", where, err)
	}
	return s, nil
}

// PostgresExists reports whether the database dsn names holds a store, at
// any schema version, without changing it.
func PostgresExists(ctx context.Context, dsn string) (bool, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return false, errors.New("the DSN cannot be parsed (want a postgres:// URL or key=value pairs)")
	}
	db := sql.OpenDB(stdlib.GetConnector(*cfg))
	defer db.Close()
	v, err := postgresDialect.schemaVersion(ctx, db)
	if err != nil {
		return false, fmt.Errorf("read schema version of postgres database %s on %s: %w", cfg.Database, cfg.Host, err)
	}
	return v > 0, nil
}

// rebindConnector makes pgx's database/sql connections take the store's
// queries as written, with ? placeholders: they are rebound to $1..$n in
// this one place, for every caller, so that no query is written twice.
type rebindConnector struct{ driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &rebindConn{conn.(*stdlib.Conn)}, nil
}

// rebindConn is pgx's connection with the queries rebound. Its other
// methods (transactions, ping, session reset) are pgx's own.
type rebindConn struct{ *stdlib.Conn }

func (c *rebindConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext returns a statement that runs through the connection's
// own statement cache: pgx prepares each query once per connection and
// keeps it, so preparing again per transaction (as the store does for
// SQLite, whose driver does not cache) would cost two round trips more.
func (c *rebindConn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	return &rebindStmt{conn: c, query: rebind(query)}, nil
}

func (c *rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) > 0 { // without arguments the query is sent as it is (migrations hold $$ bodies)
		query = rebind(query)
	}
	return c.Conn.ExecContext(ctx, query, args)
}

func (c *rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) > 0 {
		query = rebind(query)
	}
	return c.Conn.QueryContext(ctx, query, args)
}

// rebindStmt is a "prepared" statement: the rebound query, run through
// pgx's per-connection cache.
type rebindStmt struct {
	conn  *rebindConn
	query string
}

func (s *rebindStmt) Close() error  { return nil }
func (s *rebindStmt) NumInput() int { return -1 } // database/sql leaves the count to the server

func (s *rebindStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.conn.Conn.ExecContext(ctx, s.query, args)
}

func (s *rebindStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.conn.Conn.QueryContext(ctx, s.query, args)
}

func (s *rebindStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *rebindStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

// rebind turns the ? placeholders of query into $1, $2, ... It leaves
// alone what is quoted ('…', "…") and comments (-- and /* */). The store's
// queries use none of Postgres's ? operators (jsonb's ?, ?| and ?&).
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 { // unterminated: the server will say so
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1 // a doubled quote ('') reads as two quoted runs
			continue
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
			continue
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			end := strings.Index(query[i:], "*/")
			if end < 0 {
				end = len(query) - i - 2
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
