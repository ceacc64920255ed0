package store

import (
	"context"
	"fmt"
	"time"
)

// Cutoffs say what Prune deletes: rows finished before each time. A zero
// time deletes nothing of its kind.
type Cutoffs struct {
	Delivered time.Time // delivered deliveries (and their attempts), by last attempt
	Failed    time.Time // failed deliveries (and their attempts), by last attempt
	// Resolved alerts resolved before ResolvedAlerts whose period was due
	// before AlertsDueBefore: evaluation no longer reads that period, so
	// it can never fire again and need the episode the row remembers.
	ResolvedAlerts, AlertsDueBefore time.Time
	Interactions                    time.Time // interactions, by their time
}

// Pruned counts the rows Prune deleted (attempts and sources go with
// their delivery or interaction, uncounted).
type Pruned struct {
	Deliveries, Events, Alerts, Interactions int64
}

// pruneStep is one kind of row Prune deletes: a statement deleting at
// most one batch of rows finished before a cutoff.
type pruneStep struct {
	what   string
	cutoff time.Time
	count  *int64
	sql    string // binds the cutoff (twice for alerts), then the batch size
}

// Prune deletes what c says in transactions of at most batch rows,
// pausing between them so that a sync's commit never waits behind more
// than one batch. Events go once no delivery refers to them and they are
// older than the delivered cutoff. It returns what it deleted, also when
// ctx ends or a statement fails midway (each batch is committed).
// Portable SQL: DELETE ... WHERE id IN (SELECT ... LIMIT ?).
func (s *Store) Prune(ctx context.Context, c Cutoffs, batch int, pause time.Duration) (Pruned, error) {
	var p Pruned
	steps := []pruneStep{
		{"delivered deliveries", c.Delivered, &p.Deliveries, `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
			WHERE state <> 'pending' AND state = 'delivered' AND last_attempt_at < ? LIMIT ?)`},
		{"failed deliveries", c.Failed, &p.Deliveries, `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
			WHERE state <> 'pending' AND state = 'failed' AND last_attempt_at < ? LIMIT ?)`},
		{"events", c.Delivered, &p.Events, `DELETE FROM events WHERE id IN (SELECT e.id FROM events e
			WHERE e.created_at < ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT ?)`},
		{"resolved alerts", c.ResolvedAlerts, &p.Alerts, `DELETE FROM alerts WHERE id IN (SELECT id FROM alerts
			WHERE state = 'resolved' AND resolved_at < ? AND due_at < ? LIMIT ?)`},
		{"interactions", c.Interactions, &p.Interactions, `DELETE FROM interactions WHERE id IN (SELECT id FROM interactions
			WHERE at < ? LIMIT ?)`},
	}
	for _, st := range steps {
		if st.cutoff.IsZero() {
			continue
		}
		args := []any{ms(st.cutoff)}
		if st.count == &p.Alerts {
			args = append(args, ms(c.AlertsDueBefore))
		}
		args = append(args, batch)
		for {
			res, err := s.db.ExecContext(ctx, st.sql, args...)
			if err != nil {
				return p, fmt.Errorf("prune %s: %w", st.what, err)
			}
			n, _ := res.RowsAffected()
			*st.count += n
			if n < int64(batch) {
				break
			}
			select {
			case <-ctx.Done():
				return p, ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	return p, nil
}
