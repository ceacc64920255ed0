package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Event is one webhook event in the outbox. ID is its webhook-id: derived
// from content by the producer, so enqueueing the same event twice is a
// no-op. Payload is the JSON body as sent in the standard format
// ({"type", "timestamp", "data"}).
type Event struct {
	ID        string
	Type      string
	CreatedAt time.Time
	Payload   []byte
}

// enqueue adds ev and one pending delivery per endpoint, due at once.
// It is idempotent: an event or delivery that exists is left as it is.
func enqueue(ctx context.Context, tx *sql.Tx, ev Event, endpoints []string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO events (id, type, created_at, payload) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, ev.ID, ev.Type, ms(ev.CreatedAt), string(ev.Payload))
	if err != nil {
		return fmt.Errorf("enqueue event %s: %w", ev.ID, err)
	}
	for _, ep := range endpoints {
		_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (event_id, endpoint, state, next_attempt_at, created_at)
			VALUES (?, ?, 'pending', ?, ?) ON CONFLICT (event_id, endpoint) DO NOTHING`,
			ev.ID, ep, ms(ev.CreatedAt), ms(ev.CreatedAt))
		if err != nil {
			return fmt.Errorf("enqueue delivery of %s to %s: %w", ev.ID, ep, err)
		}
	}
	return nil
}

// Enqueue adds events to the outbox in one transaction (see enqueue), each
// for the endpoints routes returns for it.
func (s *Store) Enqueue(ctx context.Context, events []Event, routes func(eventType string) []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, ev := range events {
			if err := enqueue(ctx, tx, ev, routes(ev.Type)); err != nil {
				return err
			}
		}
		return nil
	})
}
