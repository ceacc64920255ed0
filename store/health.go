package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SourceFailure is a source's failure that a sync.failing event announced
// and no sync.recovered event has closed yet.
type SourceFailure struct {
	Source       string // "imap:<account>" or "caldav:<account>"
	FailingSince time.Time
	EventID      string // the sync.failing event's ID
	AnnouncedAt  time.Time
}

// SourceFailures returns the announced, unrecovered failures by source.
func (s *Store) SourceFailures(ctx context.Context) (map[string]SourceFailure, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT source, failing_since, event_id, announced_at FROM source_failures`)
	if err != nil {
		return nil, fmt.Errorf("list source failures: %w", err)
	}
	defer rows.Close()
	out := map[string]SourceFailure{}
	for rows.Next() {
		var f SourceFailure
		var since, announced int64
		if err := rows.Scan(&f.Source, &since, &f.EventID, &announced); err != nil {
			return nil, fmt.Errorf("list source failures: %w", err)
		}
		f.FailingSince, f.AnnouncedAt = fromMS(since), fromMS(announced)
		out[f.Source] = f
	}
	return out, rows.Err()
}

// HealthChange is what an evaluation decided about the sources' health:
// failures it announces and sources whose announced failure it closes,
// with the sync.* events that say so.
type HealthChange struct {
	Opened []SourceFailure
	Closed []string // sources
	Events []Event
}

// ApplyHealth records a HealthChange in one transaction: the closed
// failures go, the opened ones are stored (replacing an older one of the
// same source) and the events are enqueued, each for the endpoints routes
// returns for its type. Event IDs derive from the source and the failure,
// so applying the same change twice enqueues nothing new.
func (s *Store) ApplyHealth(ctx context.Context, ch HealthChange, routes func(eventType string) []string) error {
	if len(ch.Opened) == 0 && len(ch.Closed) == 0 && len(ch.Events) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, src := range ch.Closed {
			if _, err := tx.ExecContext(ctx, `DELETE FROM source_failures WHERE source = ?`, src); err != nil {
				return fmt.Errorf("close failure of %s: %w", src, err)
			}
		}
		for _, f := range ch.Opened {
			_, err := tx.ExecContext(ctx, `INSERT INTO source_failures (source, failing_since, event_id, announced_at)
				VALUES (?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET failing_since = excluded.failing_since,
				event_id = excluded.event_id, announced_at = excluded.announced_at`,
				f.Source, ms(f.FailingSince), f.EventID, ms(f.AnnouncedAt))
			if err != nil {
				return fmt.Errorf("open failure of %s: %w", f.Source, err)
			}
		}
		for _, ev := range ch.Events {
			if err := enqueue(ctx, tx, ev, routes(ev.Type)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply source health: %w", err)
	}
	return nil
}
