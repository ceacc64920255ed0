package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CopyOptions tunes CopyTo.
type CopyOptions struct {
	// Replace empties a target that holds rows already; without it such a
	// target is refused (ErrTargetNotEmpty).
	Replace bool
	// BatchRows is the number of rows per INSERT (default 500, fewer for a
	// wide table: a statement takes at most 65535 parameters).
	BatchRows int
	// Progress, when set, is told each table as it is done.
	Progress func(table string, rows int64)
}

// CopyReport says what CopyTo copied: rows by table, in copy order.
type CopyReport struct {
	Tables   []TableCount
	Duration time.Duration
}

// TableCount is one table's row count, the same in source and target.
type TableCount struct {
	Table string
	Rows  int64
}

// ErrTargetNotEmpty is returned by CopyTo for a target holding rows
// already, unless CopyOptions.Replace is set.
var ErrTargetNotEmpty = errors.New("target store is not empty")

// CopyTo copies every row of s, a SQLite store, into dst, a Postgres store
// at the same schema version, table by table in batches, in one
// transaction of dst: either all of it is copied or nothing is. It reads s
// in one read transaction, a consistent snapshot that does not stop a
// daemon writing to it (but what it writes later is not copied: stop the
// daemon first). Before committing it checks that every table holds as
// many rows in dst as in s.
//
// Rows keep their IDs; dst's identity sequences continue after them, and
// its triggers are disabled while rows go in (the change log is copied as
// it is). The tables and columns copied are those of dst's schema, which
// must have the same tables as s's.
func (s *Store) CopyTo(ctx context.Context, dst *Store, opts CopyOptions) (CopyReport, error) {
	start := time.Now()
	if s.d != sqliteDialect || dst.d != postgresDialect {
		return CopyReport{}, fmt.Errorf("copy store: from %s to %s: only a SQLite store can be copied, into Postgres", s.d, dst.d)
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = 500
	}
	from, err := s.SchemaVersion(ctx)
	to, err2 := dst.SchemaVersion(ctx)
	if err := errors.Join(err, err2); err != nil {
		return CopyReport{}, fmt.Errorf("copy store: %w", err)
	}
	if from != to {
		return CopyReport{}, fmt.Errorf("copy store: schema versions differ (source %d, target %d)", from, to)
	}
	// The source snapshot: a deferred transaction on a connection of its
	// own (database/sql would begin an immediate one, which takes the
	// writer's lock from a running daemon).
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return CopyReport{}, fmt.Errorf("copy store: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return CopyReport{}, fmt.Errorf("copy store: begin reading: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	var report CopyReport
	err = dst.tx(ctx, func(tx *sql.Tx) error {
		report.Tables, err = copyTables(ctx, conn, tx, opts)
		return err
	})
	if err != nil {
		return CopyReport{}, fmt.Errorf("copy store: %w", err)
	}
	report.Duration = time.Since(start)
	return report, nil
}

// copyTables copies every table of the target's schema inside tx.
func copyTables(ctx context.Context, src *sql.Conn, tx *sql.Tx, opts CopyOptions) ([]TableCount, error) {
	tables, err := targetTables(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := sameTables(ctx, src, tables); err != nil {
		return nil, err
	}
	if err := emptyTarget(ctx, tx, tables, opts.Replace); err != nil {
		return nil, err
	}
	var out []TableCount
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+t.name+` DISABLE TRIGGER USER`); err != nil {
			return nil, fmt.Errorf("disable triggers of %s: %w", t.name, err)
		}
		n, err := copyTable(ctx, src, tx, t, opts.BatchRows)
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", t.name, err)
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+t.name+` ENABLE TRIGGER USER`); err != nil {
			return nil, fmt.Errorf("enable triggers of %s: %w", t.name, err)
		}
		for _, col := range t.identity {
			// Next value after the copied ones (1 for an empty table).
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+t.name+`', '`+col+`'),
				COALESCE(MAX(`+col+`), 1), MAX(`+col+`) IS NOT NULL) FROM `+t.name); err != nil {
				return nil, fmt.Errorf("continue the identity of %s.%s: %w", t.name, col, err)
			}
		}
		if err := sameCount(ctx, src, tx, t.name, n); err != nil {
			return nil, err
		}
		out = append(out, TableCount{Table: t.name, Rows: n})
		if opts.Progress != nil {
			opts.Progress(t.name, n)
		}
	}
	return out, nil
}

// copyTable streams t's rows from src into tx in multi-row INSERTs.
func copyTable(ctx context.Context, src *sql.Conn, tx *sql.Tx, t table, batchRows int) (int64, error) {
	perStmt := max(1, min(batchRows, 65535/len(t.columns)))
	// The target's columns by name: silences.rowid is SQLite's implicit
	// rowid there.
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(t.columns, ", ")+` FROM `+t.name)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	prefix := `INSERT INTO ` + t.name + ` (` + strings.Join(t.columns, ", ") + `) VALUES `
	batch := make([]any, 0, perStmt*len(t.columns))
	var n int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, prefix+rowsOf(len(t.columns), len(batch)/len(t.columns)), batch...)
		batch = batch[:0]
		return err
	}
	for rows.Next() {
		vals := make([]any, len(t.columns))
		ptrs := make([]any, len(t.columns))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		batch = append(batch, vals...)
		n++
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// table is a target table: its columns, and those that are identities.
type table struct {
	name     string
	columns  []string
	identity []string
}

// targetTables lists the target's tables with their columns, parents
// before the tables whose foreign keys name them: all but schema_version
// and outbox_version, the target's own counters (a dispatcher's cache of
// the outbox version lives in one process, so a new count is as good).
func targetTables(ctx context.Context, tx *sql.Tx) ([]table, error) {
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name, is_identity FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name NOT IN ('schema_version', 'outbox_version')
		AND table_name IN (SELECT tablename FROM pg_tables WHERE schemaname = current_schema())
		ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("list target tables: %w", err)
	}
	var tables []table
	for rows.Next() {
		var name, col, identity string
		if err := rows.Scan(&name, &col, &identity); err != nil {
			rows.Close()
			return nil, err
		}
		if len(tables) == 0 || tables[len(tables)-1].name != name {
			tables = append(tables, table{name: name})
		}
		t := &tables[len(tables)-1]
		t.columns = append(t.columns, col)
		if identity == "YES" {
			t.identity = append(t.identity, col)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	rows, err = tx.QueryContext(ctx, `SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
		WHERE contype = 'f' AND connamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, fmt.Errorf("list target foreign keys: %w", err)
	}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			rows.Close()
			return nil, err
		}
		parents[child] = append(parents[child], parent)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return parentsFirst(tables, parents), nil
}

// parentsFirst orders tables so that each comes after those it references.
func parentsFirst(tables []table, parents map[string][]string) []table {
	var out []table
	done := map[string]bool{}
	var visit func(t table)
	visit = func(t table) {
		if done[t.name] {
			return
		}
		done[t.name] = true
		for _, p := range parents[t.name] {
			if i := slices.IndexFunc(tables, func(x table) bool { return x.name == p }); i >= 0 {
				visit(tables[i])
			}
		}
		out = append(out, t)
	}
	for _, t := range tables {
		visit(t)
	}
	return out
}

// sameTables checks that the source has exactly the target's tables.
func sameTables(ctx context.Context, src *sql.Conn, tables []table) error {
	rows, err := src.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		AND name <> 'outbox_version' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("list source tables: %w", err)
	}
	defer rows.Close()
	var have []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		have = append(have, name)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	want := make([]string, len(tables))
	for i, t := range tables {
		want[i] = t.name
	}
	slices.Sort(want)
	if !slices.Equal(have, want) {
		return fmt.Errorf("the source's tables %v are not the target's %v", have, want)
	}
	return nil
}

// emptyTarget refuses a target holding rows, or with replace empties it.
func emptyTarget(ctx context.Context, tx *sql.Tx, tables []table, replace bool) error {
	var names []string
	for _, t := range tables {
		var any bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.name+`)`).Scan(&any); err != nil {
			return fmt.Errorf("look into %s: %w", t.name, err)
		}
		if any {
			names = append(names, t.name)
		}
	}
	switch {
	case len(names) == 0:
		return nil
	case !replace:
		return fmt.Errorf("%w: %s hold rows", ErrTargetNotEmpty, strings.Join(names, ", "))
	}
	all := make([]string, len(tables))
	for i, t := range tables {
		all[i] = t.name
	}
	if _, err := tx.ExecContext(ctx, `TRUNCATE `+strings.Join(all, ", ")+` RESTART IDENTITY`); err != nil {
		return fmt.Errorf("empty the target: %w", err)
	}
	return nil
}

// sameCount checks that table holds n rows in the source and in tx.
func sameCount(ctx context.Context, src *sql.Conn, tx *sql.Tx, table string, n int64) error {
	var inSrc, inDst int64
	if err := src.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&inSrc); err != nil {
		return fmt.Errorf("count %s in the source: %w", table, err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&inDst); err != nil {
		return fmt.Errorf("count %s in the target: %w", table, err)
	}
	if inSrc != n || inDst != n {
		return fmt.Errorf("%s: %d rows in the source, %d read, %d in the target", table, inSrc, n, inDst)
	}
	return nil
}
