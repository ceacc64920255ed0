package store

import (
	"context"
	"fmt"
)

// OutboxDepth counts webhook deliveries still waiting to be sent (pending,
// whether due now or backing off) and those that exhausted their retries
// (failed, until redelivered). Delivered ones are not counted.
func (s *Store) OutboxDepth(ctx context.Context) (pending, failed int, err error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT state, COUNT(*) FROM deliveries
		WHERE state IN ('pending', 'failed') GROUP BY state`)
	if err != nil {
		return 0, 0, fmt.Errorf("count outbox: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return 0, 0, fmt.Errorf("count outbox: %w", err)
		}
		if state == "pending" {
			pending = n
		} else {
			failed = n
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("count outbox: %w", err)
	}
	return pending, failed, nil
}
