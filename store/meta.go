package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

const historyStartKey = "history_start"

// HistoryStart returns the persisted start of the observed history; ok is
// false until FixHistoryStart has run.
func (s *Store) HistoryStart(ctx context.Context) (t time.Time, ok bool, err error) {
	var v string
	err = s.rdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, historyStartKey).Scan(&v)
	if err == sql.ErrNoRows {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read history start: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read history start: malformed value %q", v)
	}
	return fromMS(n), true, nil
}

// FixHistoryStart persists t as the start of the observed history unless
// one is persisted already, and returns the one in force: the first writer
// wins, so alert identities that derive from it never move.
func (s *Store) FixHistoryStart(ctx context.Context, t time.Time) (time.Time, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
		historyStartKey, strconv.FormatInt(ms(t), 10)); err != nil {
		return time.Time{}, fmt.Errorf("write history start: %w", err)
	}
	got, _, err := s.HistoryStart(ctx)
	return got, err
}

// EarliestCounted returns the time of the earliest stored interaction that
// no source filtered (list, bulk, auto-reply, ...), or the zero time when
// there is none.
func (s *Store) EarliestCounted(ctx context.Context) (time.Time, error) {
	var v sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, `SELECT MIN(at) FROM interactions WHERE filter = ''`).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("find earliest counted interaction: %w", err)
	}
	return fromMS(v.Int64), nil
}
