package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// SourceStatus is the health of one sync source.
type SourceStatus struct {
	Name                string           `json:"name"` // "imap:<account>" or "caldav:<account>"
	LastAttemptAt       time.Time        `json:"last_attempt_at"`
	LastSuccessAt       time.Time        `json:"last_success_at"`
	FailingSince        time.Time        `json:"failing_since,omitzero"`
	ConsecutiveFailures int              `json:"consecutive_failures"`
	LastError           string           `json:"last_error,omitempty"`
	Stats               map[string]int64 `json:"stats,omitempty"`
}

// RecordSyncSuccess marks source as synced at t, clears its failure state and
// adds stats (counters such as "fetched", "skipped_malformed") to its totals.
func (s *Store) RecordSyncSuccess(ctx context.Context, source string, t time.Time, stats map[string]int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.recordSyncSuccess(ctx, tx, source, t, stats)
	})
}

func (s *Store) recordSyncSuccess(ctx context.Context, tx *sql.Tx, source string, t time.Time, stats map[string]int64) error {
	total, err := s.addedStats(ctx, tx, source, stats)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO sources (name, last_attempt_at, last_success_at, failing_since, consecutive_failures, last_error, stats)
		VALUES (?, ?, ?, 0, 0, '', ?)
		ON CONFLICT (name) DO UPDATE SET last_attempt_at = excluded.last_attempt_at, last_success_at = excluded.last_success_at,
		failing_since = 0, consecutive_failures = 0, last_error = '', stats = excluded.stats`,
		source, ms(t), ms(t), total)
	if err != nil {
		return fmt.Errorf("record sync of %s: %w", source, err)
	}
	return nil
}

// RecordSyncFailure marks a failed attempt of source at t and adds the
// stats of what the pass did store before it failed (nil for none) to the
// source's totals. errText must not contain secrets; callers pass the
// wrapped error's text.
func (s *Store) RecordSyncFailure(ctx context.Context, source string, t time.Time, errText string, stats map[string]int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		total, err := s.addedStats(ctx, tx, source, stats)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sources (name, last_attempt_at, failing_since, consecutive_failures, last_error, stats)
			VALUES (?, ?, ?, 1, ?, ?)
			ON CONFLICT (name) DO UPDATE SET last_attempt_at = excluded.last_attempt_at,
			failing_since = CASE WHEN sources.failing_since = 0 THEN excluded.failing_since ELSE sources.failing_since END,
			consecutive_failures = sources.consecutive_failures + 1, last_error = excluded.last_error, stats = excluded.stats`,
			source, ms(t), ms(t), errText, total)
		if err != nil {
			return fmt.Errorf("record sync failure of %s: %w", source, err)
		}
		return nil
	})
}

// addedStats returns source's stored totals plus stats, as stored (JSON).
// The row stays locked until tx ends, so that a concurrent writer (on
// Postgres) adds to these totals rather than to the ones read before.
func (s *Store) addedStats(ctx context.Context, tx *sql.Tx, source string, stats map[string]int64) (string, error) {
	total, err := sourceStats(ctx, tx, source, s.d.forUpdate())
	if err != nil {
		return "", err
	}
	for k, v := range stats {
		total[k] += v
	}
	b, err := json.Marshal(total)
	return string(b), err
}

func sourceStats(ctx context.Context, tx *sql.Tx, source, lock string) (map[string]int64, error) {
	var raw string
	err := tx.QueryRowContext(ctx, `SELECT stats FROM sources WHERE name = ?`+lock, source).Scan(&raw)
	stats := map[string]int64{}
	if err == sql.ErrNoRows {
		return stats, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read stats of %s: %w", source, err)
	}
	if err := json.Unmarshal([]byte(raw), &stats); err != nil {
		return nil, fmt.Errorf("read stats of %s: %w", source, err)
	}
	return stats, nil
}

// Sources returns the health of every source that has ever synced, by name.
func (s *Store) Sources(ctx context.Context) ([]SourceStatus, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT name, last_attempt_at, last_success_at, failing_since,
		consecutive_failures, last_error, stats FROM sources ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	defer rows.Close()
	var out []SourceStatus
	for rows.Next() {
		var (
			st                   SourceStatus
			attempt, ok, failing int64
			stats                string
		)
		if err := rows.Scan(&st.Name, &attempt, &ok, &failing, &st.ConsecutiveFailures, &st.LastError, &stats); err != nil {
			return nil, fmt.Errorf("list sources: %w", err)
		}
		st.LastAttemptAt, st.LastSuccessAt, st.FailingSince = fromMS(attempt), fromMS(ok), fromMS(failing)
		_ = json.Unmarshal([]byte(stats), &st.Stats)
		out = append(out, st)
	}
	return out, rows.Err()
}
