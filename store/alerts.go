package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// Alerts returns the open (at_risk or slipped) alerts, or with all every
// alert ever opened, resolved ones included; oldest first.
func (s *Store) Alerts(ctx context.Context, all bool) ([]cadence.Alert, error) {
	q := alertColumns
	if !all {
		q += ` WHERE state IN ('at_risk', 'slipped')`
	}
	return s.alerts(ctx, q+` ORDER BY opened_at, id`)
}

// OpenAlerts returns the open alerts in no particular order: evaluation
// reads them on every pass and does not depend on their order, and
// sorting thousands of them is most of the read.
func (s *Store) OpenAlerts(ctx context.Context) ([]cadence.Alert, error) {
	return s.alerts(ctx, alertColumns+` WHERE state IN ('at_risk', 'slipped')`)
}

const alertColumns = `SELECT id, customer_id, commitment, period, state, due_at, opened_at, updated_at, resolved_at,
	last_notified_at, episode, details FROM alerts`

func (s *Store) alerts(ctx context.Context, q string) ([]cadence.Alert, error) {
	rows, err := s.rdb.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []cadence.Alert
	for rows.Next() {
		var (
			a                                        cadence.Alert
			state, details                           string
			due, opened, updated, resolved, notified int64
		)
		if err := rows.Scan(&a.ID, &a.CustomerID, &a.Commitment, &a.Period, &state, &due, &opened, &updated,
			&resolved, &notified, &a.Episode, &details); err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		a.State = cadence.State(state)
		a.DueAt, a.OpenedAt, a.UpdatedAt, a.ResolvedAt, a.LastNotifiedAt =
			fromMS(due), fromMS(opened), fromMS(updated), fromMS(resolved), fromMS(notified)
		if err := json.Unmarshal([]byte(details), &a.Details); err != nil {
			return nil, fmt.Errorf("read details of alert %s: %w", a.ID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}

// ResolvedSince returns the alerts resolved at or after since, with only
// their identity, state and times (no details): with the open ones, what
// the dashboard's cadence strips mark, read cheaply for every customer.
func (s *Store) ResolvedSince(ctx context.Context, since time.Time) ([]cadence.Alert, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, customer_id, commitment, state, due_at, opened_at, resolved_at
		FROM alerts WHERE state = 'resolved' AND resolved_at >= ? ORDER BY opened_at, id`, ms(since))
	if err != nil {
		return nil, fmt.Errorf("list resolved alerts: %w", err)
	}
	defer rows.Close()
	var out []cadence.Alert
	for rows.Next() {
		var a cadence.Alert
		var state string
		var due, opened, resolved int64
		if err := rows.Scan(&a.ID, &a.CustomerID, &a.Commitment, &state, &due, &opened, &resolved); err != nil {
			return nil, fmt.Errorf("list resolved alerts: %w", err)
		}
		a.State, a.DueAt, a.OpenedAt, a.ResolvedAt = cadence.State(state), fromMS(due), fromMS(opened), fromMS(resolved)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list resolved alerts: %w", err)
	}
	return out, nil
}

// ApplyEvaluation records an evaluation in one transaction: it writes the
// alert rows in changes (inserted, or replacing the row with the same ID)
// and enqueues events, each for the endpoints routes returns for its type.
// Either all of it is stored or nothing is. It is idempotent: alert IDs and
// event IDs are derived from content, so applying the same evaluation
// again changes nothing and enqueues no second delivery.
func (s *Store) ApplyEvaluation(ctx context.Context, changes []cadence.Alert, events []Event, routes func(eventType string) []string) error {
	if len(changes) == 0 && len(events) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, a := range changes {
			if err := upsertAlert(ctx, tx, a); err != nil {
				return err
			}
		}
		for _, ev := range events {
			if ev.ID == "" {
				return fmt.Errorf("enqueue %s event without id", ev.Type)
			}
			if err := enqueue(ctx, tx, ev, routes(ev.Type)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply evaluation: %w", err)
	}
	return nil
}

func upsertAlert(ctx context.Context, tx *sql.Tx, a cadence.Alert) error {
	if a.ID == "" {
		return fmt.Errorf("alert of %s/%s without id", a.CustomerID, a.Commitment)
	}
	details, err := json.Marshal(a.Details)
	if err != nil {
		return fmt.Errorf("encode details of alert %s: %w", a.ID, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO alerts (id, customer_id, commitment, period, state, due_at, opened_at,
		updated_at, resolved_at, last_notified_at, episode, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, due_at = excluded.due_at, updated_at = excluded.updated_at,
		resolved_at = excluded.resolved_at, last_notified_at = excluded.last_notified_at, episode = excluded.episode,
		details = excluded.details,
		opened_at = CASE WHEN alerts.state = 'resolved' AND excluded.state <> 'resolved' THEN excluded.opened_at ELSE alerts.opened_at END`,
		a.ID, a.CustomerID, a.Commitment, a.Period, string(a.State), ms(a.DueAt), ms(a.OpenedAt), ms(a.UpdatedAt),
		ms(a.ResolvedAt), ms(a.LastNotifiedAt), max(a.Episode, 1), string(details))
	if err != nil {
		return fmt.Errorf("write alert %s: %w", a.ID, err)
	}
	return nil
}

// ResolvedEpisodes returns, by alert ID, the episode of every resolved
// alert: an evaluation numbers a new episode of one after it.
func (s *Store) ResolvedEpisodes(ctx context.Context) (map[string]int, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, episode FROM alerts WHERE state = 'resolved'`)
	if err != nil {
		return nil, fmt.Errorf("list resolved alerts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var ep int
		if err := rows.Scan(&id, &ep); err != nil {
			return nil, fmt.Errorf("list resolved alerts: %w", err)
		}
		out[id] = ep
	}
	return out, rows.Err()
}
