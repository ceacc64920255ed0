package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// ErrNoSilence is returned for a silence ID that does not exist.
var ErrNoSilence = errors.New("no such silence")

// AddSilence stores a silence and returns it with its generated ID
// ("sil_" and 8 hex digits). A zero CreatedAt is set to the store's clock
// and a zero StartsAt to CreatedAt. The silence must end after it starts.
func (s *Store) AddSilence(ctx context.Context, sl cadence.Silence) (cadence.Silence, error) {
	if sl.CustomerID == "" {
		return sl, fmt.Errorf("add silence: no customer")
	}
	if sl.CreatedAt.IsZero() {
		sl.CreatedAt = s.now()
	}
	if sl.StartsAt.IsZero() {
		sl.StartsAt = sl.CreatedAt
	}
	if !sl.EndsAt.After(sl.StartsAt) {
		return sl, fmt.Errorf("add silence for %s: it must end after it starts (%s)", sl.CustomerID, sl.StartsAt.Format(time.RFC3339))
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	sl.ID = "sil_" + hex.EncodeToString(b)
	sl.StartsAt, sl.EndsAt, sl.CreatedAt = sl.StartsAt.UTC().Truncate(time.Millisecond),
		sl.EndsAt.UTC().Truncate(time.Millisecond), sl.CreatedAt.UTC().Truncate(time.Millisecond)
	_, err := s.db.ExecContext(ctx, `INSERT INTO silences (id, customer_id, commitment, starts_at, ends_at, reason, created_at, author)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sl.ID, sl.CustomerID, sl.Commitment, ms(sl.StartsAt), ms(sl.EndsAt), sl.Reason, ms(sl.CreatedAt),
		sl.Author)
	if err != nil {
		return sl, fmt.Errorf("add silence for %s: %w", sl.CustomerID, err)
	}
	return sl, nil
}

// Silences returns the silences that have not ended at t (active or yet
// to start), or with all every silence; ordered by start, then
// as added (IDs are random, so they would shuffle silences starting together).
func (s *Store) Silences(ctx context.Context, t time.Time, all bool) ([]cadence.Silence, error) {
	q := `SELECT id, customer_id, commitment, starts_at, ends_at, reason, created_at, author FROM silences`
	args := []any{}
	if !all {
		q += ` WHERE ends_at > ?`
		args = append(args, ms(t))
	}
	rows, err := s.rdb.QueryContext(ctx, q+` ORDER BY starts_at, rowid`, args...)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	defer rows.Close()
	var out []cadence.Silence
	for rows.Next() {
		var sl cadence.Silence
		var starts, ends, created int64
		if err := rows.Scan(&sl.ID, &sl.CustomerID, &sl.Commitment, &starts, &ends, &sl.Reason, &created, &sl.Author); err != nil {
			return nil, fmt.Errorf("list silences: %w", err)
		}
		sl.StartsAt, sl.EndsAt, sl.CreatedAt = fromMS(starts), fromMS(ends), fromMS(created)
		out = append(out, sl)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	return out, nil
}

// ExpireSilence ends a silence at now (ends_at, and starts_at for one yet
// to start, become now) rather than deleting it, so that it
// stays in Silences(all) as a record of who muted what. ErrNoSilence when
// there is no silence with id or it has already ended.
func (s *Store) ExpireSilence(ctx context.Context, id string, at time.Time) error {
	now := ms(at.UTC().Truncate(time.Millisecond))
	res, err := s.db.ExecContext(ctx, `UPDATE silences SET ends_at = ?, starts_at = CASE WHEN starts_at < ? THEN starts_at ELSE ? END
		WHERE id = ? AND ends_at > ?`, now, now, now, id, now)
	if err != nil {
		return fmt.Errorf("expire silence %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var found int
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM silences WHERE id = ?`, id).Scan(&found); err != nil {
		return fmt.Errorf("expire silence %s: %w", id, err)
	}
	if found > 0 {
		return fmt.Errorf("expire silence %s: it has already ended: %w", id, ErrNoSilence)
	}
	return fmt.Errorf("expire silence %s: %w", id, ErrNoSilence)
}
