package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TableStats describes one table for `touchbase store stats`.
type TableStats struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
	// Bytes is the size of the table and its indexes; nil when the
	// database cannot tell (SQLite without the dbstat table).
	Bytes *int64 `json:"bytes"`
	// Oldest is the time of the oldest row kept, for tables whose rows
	// have one (zero when empty or timeless); OldestColumn names it.
	Oldest       time.Time `json:"oldest,omitzero"`
	OldestColumn string    `json:"oldest_column,omitempty"`
}

// statTables are the tables Stats reports, each with the column that
// dates its rows ("" for none).
var statTables = []struct{ table, column string }{
	{"interactions", "at"},
	{"interaction_sources", ""},
	{"interaction_changes", ""},
	{"events", "created_at"},
	{"deliveries", "created_at"},
	{"delivery_attempts", "at"},
	{"alerts", "opened_at"},
	{"silences", "created_at"},
	{"sources", ""},
	{"source_failures", "announced_at"},
	{"imap_folders", ""},
	{"caldav_calendars", ""},
	{"caldav_objects", ""},
	{"endpoints", ""},
	{"meta", ""},
}

// Stats returns each table's row count, size where the database can tell,
// and the time of its oldest row. It reads every table: for an operator's
// command, not for every pass.
func (s *Store) Stats(ctx context.Context) ([]TableStats, error) {
	sizes, err := s.tableSizes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TableStats, 0, len(statTables))
	for _, t := range statTables {
		ts := TableStats{Table: t.table, OldestColumn: t.column}
		q := `SELECT COUNT(*), 0 FROM ` + t.table
		if t.column != "" {
			q = `SELECT COUNT(*), COALESCE(MIN(CASE WHEN ` + t.column + ` > 0 THEN ` + t.column + ` END), 0) FROM ` + t.table
		}
		var oldest int64
		if err := s.rdb.QueryRowContext(ctx, q).Scan(&ts.Rows, &oldest); err != nil {
			return nil, fmt.Errorf("count %s: %w", t.table, err)
		}
		ts.Oldest = fromMS(oldest)
		if n, ok := sizes[t.table]; ok {
			ts.Bytes = &n
		}
		out = append(out, ts)
	}
	return out, nil
}

// tableSizes sums the pages of each table and its indexes from SQLite's
// dbstat table; an empty map when the build has none.
func (s *Store) tableSizes(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	rows, err := s.rdb.QueryContext(ctx, `SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat d
		JOIN sqlite_schema m ON m.name = d.name GROUP BY m.tbl_name`)
	if err != nil {
		return out, nil // no dbstat in this build: counts only
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n sql.NullInt64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("read table sizes: %w", err)
		}
		out[name] = n.Int64
	}
	if err := rows.Err(); err != nil {
		return map[string]int64{}, nil
	}
	return out, nil
}
