package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
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

// Delivery states.
const (
	DeliveryPending   = "pending"   // waiting for its next attempt (or a disabled endpoint)
	DeliveryDelivered = "delivered" // a 2xx ended it
	DeliveryFailed    = "failed"    // retries exhausted; replayable with Redeliver
)

// ErrNoDelivery is returned for a delivery ID that does not exist.
var ErrNoDelivery = errors.New("no such delivery")

// enqueue adds ev and one pending delivery per endpoint, due at once.
// It is idempotent: an event or delivery that exists is left as it is.
func enqueue(ctx context.Context, tx *sql.Tx, ev Event, endpoints []string) error {
	k := keysOf(ev.Payload)
	_, err := tx.ExecContext(ctx, `INSERT INTO events (id, type, created_at, payload, alert_id) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, ev.ID, ev.Type, ms(ev.CreatedAt), string(ev.Payload), k.Data.AlertID)
	if err != nil {
		return fmt.Errorf("enqueue event %s: %w", ev.ID, err)
	}
	for _, ep := range endpoints {
		_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (event_id, endpoint, state, next_attempt_at, created_at, event_type, order_key)
			VALUES (?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT (event_id, endpoint) DO NOTHING`,
			ev.ID, ep, ms(ev.CreatedAt), ms(ev.CreatedAt), ev.Type, k.orderKey())
		if err != nil {
			return fmt.Errorf("enqueue delivery of %s to %s: %w", ev.ID, ep, err)
		}
	}
	return nil
}

// eventKeys are the fields of a payload the outbox keeps as columns.
type eventKeys struct {
	Data struct {
		AlertID  string `json:"alert_id"`
		Source   string `json:"source"`
		Customer struct {
			ID string `json:"id"`
		} `json:"customer"`
	} `json:"data"`
}

// keysOf reads a payload's keys once, at enqueue; a payload that is not
// JSON (none is) has none.
func keysOf(payload []byte) eventKeys {
	var k eventKeys
	_ = json.Unmarshal(payload, &k)
	return k
}

// orderKey is Claimed.OrderKey: the customer ID of commitment events, the
// source of sync events, "" (no order) otherwise.
func (k eventKeys) orderKey() string {
	if k.Data.Customer.ID != "" {
		return k.Data.Customer.ID
	}
	return k.Data.Source
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

// Claimed is a delivery taken by a dispatcher for one attempt.
type Claimed struct {
	ID       int64
	Endpoint string
	Attempts int // attempts in the current round (since enqueue or the last Redeliver)
	Event    Event
	// OrderKey groups deliveries that must reach an endpoint in order: the
	// customer ID of commitment events, the source of sync events, "" (no
	// order) otherwise.
	OrderKey string
}

// dueWhere selects the deliveries d a claim may take at a time (its
// arguments are dueArgs): pending, due, not claimed (or claimed by
// one whose claim ended), to an enabled endpoint, and not overtaking an
// earlier pending delivery with the same endpoint and order key that is
// waiting or claimed. Portable SQL over columns and indexes
// (deliveries_due, deliveries_order).
func dueWhere(endpoints int) string {
	return `d.state = 'pending' AND d.next_attempt_at <= ? AND d.claim_until <= ?
		AND d.endpoint IN (` + placeholders(endpoints) + `)
		AND NOT EXISTS (SELECT 1 FROM endpoints x WHERE x.name = d.endpoint AND x.disabled_at <> 0)
		AND (d.order_key = '' OR NOT EXISTS (SELECT 1 FROM deliveries b
			WHERE b.endpoint = d.endpoint AND b.order_key = d.order_key AND b.state = 'pending'
			AND (b.created_at < d.created_at OR (b.created_at = d.created_at AND b.id < d.id))
			AND (b.next_attempt_at > ? OR b.claim_until > ?)))`
}

func dueArgs(now time.Time, endpoints []string) []any {
	args := []any{ms(now), ms(now)}
	for _, ep := range endpoints {
		args = append(args, ep)
	}
	return append(args, ms(now), ms(now))
}

// ClaimDue takes up to limit deliveries due at now (see dueWhere), oldest
// first, for the given endpoints, so that a customer's events arrive in
// order. A claim is a lease held by owner (a name unique to the calling
// dispatcher) until now+lease: no other claim takes the delivery meanwhile,
// and if the owner dies before RecordAttempts the delivery is due again
// then — at-least-once, with the same event ID.
//
// A pass with nothing due is the common case: it is answered by a read on
// the read pool (see quietOutbox), and the write lock is taken only when
// something is due.
// The claim itself is one UPDATE that re-checks every condition, so two
// dispatchers (processes) racing for the same delivery never both get it.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, owner string, endpoints []string, lease time.Duration, limit int) ([]Claimed, error) {
	if len(endpoints) == 0 || limit <= 0 {
		return nil, nil
	}
	if quiet, err := s.quietOutbox(ctx, now, endpoints); err != nil || quiet {
		return nil, err
	}
	var out []Claimed
	err := s.tx(ctx, func(tx *sql.Tx) error {
		args := append([]any{owner, ms(now.Add(lease))}, dueArgs(now, endpoints)...)
		// The outer conditions repeat the claim's own: on Postgres (READ
		// COMMITTED) a row another claim updated meanwhile is checked again
		// by them, in its new version, and left out; the subquery's are not.
		rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET claimed_by = ?, claim_until = ?
			WHERE id IN (SELECT d.id FROM deliveries d WHERE `+dueWhere(len(endpoints))+`
				ORDER BY d.created_at, d.id LIMIT ?)
			AND state = 'pending' AND next_attempt_at <= ? AND claim_until <= ?
			RETURNING id`, append(args, limit, ms(now), ms(now))...)
		if err != nil {
			return err
		}
		var ids []any
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		out, err = claimedRows(ctx, tx, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	return out, nil
}

// quiet says that nothing was due for a list of endpoints as of an
// outbox version, and that nothing can become due before until (Unix ms)
// unless the outbox changes.
type quiet struct {
	version   int64
	endpoints string
	until     int64
}

// quietOutbox reports whether nothing is due at now for endpoints, by a
// read: the outbox's version when it has not moved since a pass found
// nothing due and until has not come (one row), else the due query. A
// backlog waiting behind a dead receiver thus costs one row per pass,
// not a look at every waiting delivery.
func (s *Store) quietOutbox(ctx context.Context, now time.Time, endpoints []string) (bool, error) {
	version, err := s.outboxVersion(ctx)
	if err != nil {
		return false, err
	}
	key := strings.Join(endpoints, "\x00")
	if q := s.quiet.Load(); q != nil && q.version == version && q.endpoints == key && ms(now) < q.until {
		return true, nil
	}
	var one int
	err = s.rdb.QueryRowContext(ctx, `SELECT 1 FROM deliveries d WHERE `+dueWhere(len(endpoints))+` LIMIT 1`,
		dueArgs(now, endpoints)...).Scan(&one)
	switch {
	case err == nil:
		return false, nil
	case err != sql.ErrNoRows:
		return false, fmt.Errorf("find due deliveries: %w", err)
	}
	// Nothing is due: the earliest a waiting or claimed delivery becomes
	// due is the earliest anything can (one waiting behind another becomes
	// claimable when that one does).
	args := make([]any, 0, len(endpoints)+2)
	for _, ep := range endpoints {
		args = append(args, ep)
	}
	var until int64
	err = s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MIN(CASE WHEN next_attempt_at > claim_until THEN next_attempt_at ELSE claim_until END), 0)
		FROM deliveries WHERE state = 'pending' AND endpoint IN (`+placeholders(len(endpoints))+`)
		AND (next_attempt_at > ? OR claim_until > ?)`, append(args, ms(now), ms(now))...).Scan(&until)
	if err != nil {
		return false, fmt.Errorf("find next due delivery: %w", err)
	}
	if until == 0 {
		until = math.MaxInt64
	}
	s.quiet.Store(&quiet{version: version, endpoints: key, until: until})
	return true, nil
}

// outboxVersion reads the counter every change to the outbox moves.
func (s *Store) outboxVersion(ctx context.Context) (int64, error) {
	var version int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT version FROM outbox_version WHERE id = 1`).Scan(&version); err != nil {
		return 0, fmt.Errorf("read outbox version: %w", err)
	}
	return version, nil
}

// claimedRows reads the deliveries ids with their events, oldest first.
func claimedRows(ctx context.Context, tx *sql.Tx, ids []any) ([]Claimed, error) {
	rows, err := tx.QueryContext(ctx, `SELECT d.id, d.endpoint, d.attempts, d.order_key, e.id, e.type, e.created_at, e.payload
		FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id IN (`+placeholders(len(ids))+`)
		ORDER BY d.created_at, d.id`, ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Claimed
	for rows.Next() {
		var c Claimed
		var created int64
		var payload string
		if err := rows.Scan(&c.ID, &c.Endpoint, &c.Attempts, &c.OrderKey, &c.Event.ID, &c.Event.Type, &created, &payload); err != nil {
			return nil, err
		}
		c.Event.CreatedAt, c.Event.Payload = fromMS(created), []byte(payload)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ReleaseClaims ends owner's claims on deliveries it did not attempt, so
// they are due again at once instead of when the claim ends. A claim
// another dispatcher took over meanwhile is left alone.
func (s *Store) ReleaseClaims(ctx context.Context, owner string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{owner}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET claimed_by = '', claim_until = 0
		WHERE claimed_by = ? AND id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return fmt.Errorf("release %d claimed deliveries: %w", len(ids), err)
	}
	return nil
}

// EnqueueClaimed enqueues ev for endpoint alone and claims its delivery at
// once for owner (see ClaimDue), for a caller that attempts it right away
// (`webhooks test`). It fails if the delivery exists and is not pending.
func (s *Store) EnqueueClaimed(ctx context.Context, ev Event, endpoint, owner string, now time.Time, lease time.Duration) (Claimed, error) {
	c := Claimed{Endpoint: endpoint, Event: ev}
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := enqueue(ctx, tx, ev, []string{endpoint}); err != nil {
			return err
		}
		var state string
		err := tx.QueryRowContext(ctx, `SELECT id, attempts, state, order_key FROM deliveries WHERE event_id = ? AND endpoint = ?`,
			ev.ID, endpoint).Scan(&c.ID, &c.Attempts, &state, &c.OrderKey)
		if err != nil {
			return err
		}
		if state != DeliveryPending {
			return fmt.Errorf("delivery %d is %s", c.ID, state)
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET claimed_by = ?, claim_until = ? WHERE id = ?`,
			owner, ms(now.Add(lease)), c.ID)
		return err
	}); err != nil {
		return Claimed{}, fmt.Errorf("enqueue %s for %s: %w", ev.ID, endpoint, err)
	}
	return c, nil
}

// AttemptResult is the outcome of one attempt of a claimed delivery.
type AttemptResult struct {
	DeliveryID    int64
	At            time.Time // when the attempt started
	Duration      time.Duration
	Status        int       // HTTP status; 0 when no response arrived
	Error         string    // "" when delivered; must not contain secrets
	State         string    // the new state: DeliveryPending, DeliveryDelivered or DeliveryFailed
	NextAttemptAt time.Time // when a DeliveryPending delivery is due again
}

// RecordAttempts appends each result to its delivery's attempt log and,
// where owner still holds the delivery's claim, sets its new state and
// ends the claim, all in one transaction (callers batch concurrent
// results: one commit for many). A delivery whose claim another
// dispatcher took over (this one outlived its lease), or that is no longer
// pending (replayed or finished elsewhere meanwhile), only gets the log
// entry: the claim's holder decides what happens next.
func (s *Store) RecordAttempts(ctx context.Context, owner string, rs ...AttemptResult) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		logStmt, err := tx.PrepareContext(ctx, `INSERT INTO delivery_attempts (delivery_id, attempt, at, status, error, duration_ms)
			VALUES (?, (SELECT COALESCE(MAX(attempt), 0) + 1 FROM delivery_attempts WHERE delivery_id = ?), ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer logStmt.Close()
		setStmt, err := tx.PrepareContext(ctx, `UPDATE deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?,
			last_attempt_at = ?, last_status = ?, last_error = ?, delivered_at = ?, claimed_by = '', claim_until = 0
			WHERE id = ? AND state = 'pending' AND claimed_by = ?`)
		if err != nil {
			return err
		}
		defer setStmt.Close()
		for _, r := range rs {
			next, delivered := int64(0), int64(0)
			switch r.State {
			case DeliveryPending:
				next = ms(r.NextAttemptAt)
			case DeliveryDelivered:
				delivered = ms(r.At.Add(r.Duration))
			case DeliveryFailed:
			default:
				return fmt.Errorf("delivery %d: unknown state %q", r.DeliveryID, r.State)
			}
			if _, err := logStmt.ExecContext(ctx, r.DeliveryID, r.DeliveryID, ms(r.At), r.Status, r.Error, r.Duration.Milliseconds()); err != nil {
				return fmt.Errorf("delivery %d: %w", r.DeliveryID, err)
			}
			if _, err := setStmt.ExecContext(ctx, r.State, next, ms(r.At), r.Status, r.Error, delivered, r.DeliveryID, owner); err != nil {
				return fmt.Errorf("delivery %d: %w", r.DeliveryID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d webhook attempts: %w", len(rs), err)
	}
	return nil
}

// Redeliver replays a delivery: it becomes pending and due at now with a
// fresh retry round, keeping its event (so the same webhook-id) and its
// attempt log. Any state can be replayed; a pending one is simply due now.
// It returns ErrNoDelivery for an unknown id.
func (s *Store) Redeliver(ctx context.Context, id int64, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,
		delivered_at = 0 WHERE id = ?`, ms(now), id)
	if err != nil {
		return fmt.Errorf("redeliver %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("redeliver %d: %w", id, ErrNoDelivery)
	}
	return nil
}

// DisableEndpoint stops deliveries to endpoint (after a 410 Gone) until
// EnableEndpoint; its pending deliveries stay pending. reason must not
// contain secrets (the URL of a Slack webhook is one).
func (s *Store) DisableEndpoint(ctx context.Context, endpoint string, at time.Time, reason string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO endpoints (name, disabled_at, disabled_reason) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, disabled_reason = excluded.disabled_reason`,
		endpoint, ms(at), reason)
	if err != nil {
		return fmt.Errorf("disable endpoint %s: %w", endpoint, err)
	}
	return nil
}

// EnableEndpoint resumes deliveries to a disabled endpoint; a no-op for one
// that is not disabled.
func (s *Store) EnableEndpoint(ctx context.Context, endpoint string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE endpoints SET disabled_at = 0, disabled_reason = '' WHERE name = ?`, endpoint)
	if err != nil {
		return fmt.Errorf("enable endpoint %s: %w", endpoint, err)
	}
	return nil
}

// DisabledEndpoint is an endpoint that deliveries are held back from.
type DisabledEndpoint struct {
	At     time.Time
	Reason string
}

// DisabledEndpoints returns the disabled endpoints by name.
func (s *Store) DisabledEndpoints(ctx context.Context) (map[string]DisabledEndpoint, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT name, disabled_at, disabled_reason FROM endpoints WHERE disabled_at <> 0`)
	if err != nil {
		return nil, fmt.Errorf("list disabled endpoints: %w", err)
	}
	defer rows.Close()
	out := map[string]DisabledEndpoint{}
	for rows.Next() {
		var name, reason string
		var at int64
		if err := rows.Scan(&name, &at, &reason); err != nil {
			return nil, fmt.Errorf("list disabled endpoints: %w", err)
		}
		out[name] = DisabledEndpoint{At: fromMS(at), Reason: reason}
	}
	return out, rows.Err()
}

// Events returns the events of one type, oldest first.
func (s *Store) Events(ctx context.Context, eventType string) ([]Event, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, type, created_at, payload FROM events WHERE type = ?
		ORDER BY created_at, id`, eventType)
	if err != nil {
		return nil, fmt.Errorf("list %s events: %w", eventType, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		var created int64
		var payload string
		if err := rows.Scan(&ev.ID, &ev.Type, &created, &payload); err != nil {
			return nil, fmt.Errorf("list %s events: %w", eventType, err)
		}
		ev.CreatedAt, ev.Payload = fromMS(created), []byte(payload)
		out = append(out, ev)
	}
	return out, rows.Err()
}

// Delivery is one (event, endpoint) delivery as listed by
// `touchbase webhooks deliveries`.
type Delivery struct {
	ID            int64     `json:"id"`
	EventID       string    `json:"event_id"` // the webhook-id
	EventType     string    `json:"event_type"`
	Endpoint      string    `json:"endpoint"`
	State         string    `json:"state"`
	Attempts      int       `json:"attempts"` // every attempt in the log, across redeliveries
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	LastAttemptAt time.Time `json:"last_attempt_at,omitzero"`
	LastStatus    int       `json:"last_status,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
	DeliveredAt   time.Time `json:"delivered_at,omitzero"`
	CreatedAt     time.Time `json:"created_at"`
	Log           []Attempt `json:"log,omitempty"`
}

// Attempt is one entry of a delivery's attempt log.
type Attempt struct {
	N          int       `json:"attempt"`
	At         time.Time `json:"at"`
	Status     int       `json:"status"` // 0: no response
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// DeliveryFilter selects deliveries; zero fields match everything.
type DeliveryFilter struct {
	ID       int64
	Endpoint string
	State    string
	Limit    int // default 50
}

// Deliveries returns the deliveries f selects, newest first, each with its
// attempt log.
func (s *Store) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT d.id, d.event_id, e.type, d.endpoint, d.state, d.next_attempt_at,
		d.last_attempt_at, d.last_status, d.last_error, d.delivered_at, d.created_at
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE (CAST(? AS BIGINT) = 0 OR d.id = ?) AND (? = '' OR d.endpoint = ?) AND (? = '' OR d.state = ?)
		ORDER BY d.created_at DESC, d.id DESC LIMIT ?`,
		f.ID, f.ID, f.Endpoint, f.Endpoint, f.State, f.State, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	index := map[int64]int{}
	for rows.Next() {
		var d Delivery
		var next, last, delivered, created int64
		if err := rows.Scan(&d.ID, &d.EventID, &d.EventType, &d.Endpoint, &d.State, &next, &last,
			&d.LastStatus, &d.LastError, &delivered, &created); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		if d.State == DeliveryPending {
			d.NextAttemptAt = fromMS(next)
		}
		d.LastAttemptAt, d.DeliveredAt, d.CreatedAt = fromMS(last), fromMS(delivered), fromMS(created)
		index[d.ID] = len(out)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return nil, nil
	}
	return out, s.attachLog(ctx, out, index)
}

// attachLog loads the attempt logs of ds (index maps delivery ID to position).
func (s *Store) attachLog(ctx context.Context, ds []Delivery, index map[int64]int) error {
	args := make([]any, len(ds))
	for i, d := range ds {
		args[i] = d.ID
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT delivery_id, attempt, at, status, error, duration_ms
		FROM delivery_attempts WHERE delivery_id IN (`+placeholders(len(ds))+`) ORDER BY delivery_id, attempt`, args...)
	if err != nil {
		return fmt.Errorf("list delivery attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, at int64
		var a Attempt
		if err := rows.Scan(&id, &a.N, &at, &a.Status, &a.Error, &a.DurationMS); err != nil {
			return fmt.Errorf("list delivery attempts: %w", err)
		}
		a.At = fromMS(at)
		d := &ds[index[id]]
		d.Log = append(d.Log, a)
		d.Attempts = len(d.Log)
	}
	return rows.Err()
}

// EndpointCounts summarises one endpoint's deliveries.
type EndpointCounts struct {
	Pending, Failed int
	LastDeliveredAt time.Time
	// The most recent attempt to the endpoint, whatever its outcome.
	LastAttemptAt time.Time
	LastStatus    int
	LastError     string
}

// QueueCounts returns the pending and failed deliveries per endpoint name:
// counted from an index when the outbox has moved since the last call,
// else the counts then (one row read), so every dispatcher pass can ask.
func (s *Store) QueueCounts(ctx context.Context) (map[string]EndpointCounts, error) {
	version, err := s.outboxVersion(ctx)
	if err != nil {
		return nil, err
	}
	if c := s.counts.Load(); c != nil && c.version == version {
		return maps.Clone(c.counts), nil
	}
	out, err := s.countQueue(ctx)
	if err != nil {
		return nil, err
	}
	s.counts.Store(&queueCounts{version: version, counts: maps.Clone(out)})
	return out, nil
}

// queueCounts are QueueCounts as of an outbox version.
type queueCounts struct {
	version int64
	counts  map[string]EndpointCounts
}

func (s *Store) countQueue(ctx context.Context) (map[string]EndpointCounts, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT endpoint, state, COUNT(*) FROM deliveries
		WHERE state IN ('pending', 'failed') GROUP BY endpoint, state`)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]EndpointCounts{}
	for rows.Next() {
		var ep, state string
		var n int
		if err := rows.Scan(&ep, &state, &n); err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		c := out[ep]
		if state == DeliveryPending {
			c.Pending = n
		} else {
			c.Failed = n
		}
		out[ep] = c
	}
	return out, rows.Err()
}

// EndpointSummary is QueueCounts plus each endpoint's last success and last
// attempt. It scans every delivery: for `webhooks list`, not for every pass.
func (s *Store) EndpointSummary(ctx context.Context) (map[string]EndpointCounts, error) {
	out, err := s.QueueCounts(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT d.endpoint, x.delivered, d.last_attempt_at, d.last_status, d.last_error
		FROM deliveries d JOIN (SELECT endpoint, MAX(last_attempt_at) AS last, MAX(delivered_at) AS delivered
			FROM deliveries GROUP BY endpoint) x ON x.endpoint = d.endpoint AND d.last_attempt_at = x.last
		WHERE x.last > 0`)
	if err != nil {
		return nil, fmt.Errorf("summarise endpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ep string
		var delivered, last int64
		var status int
		var lastErr string
		if err := rows.Scan(&ep, &delivered, &last, &status, &lastErr); err != nil {
			return nil, fmt.Errorf("summarise endpoints: %w", err)
		}
		c := out[ep]
		c.LastDeliveredAt, c.LastAttemptAt, c.LastStatus, c.LastError = fromMS(delivered), fromMS(last), status, lastErr
		out[ep] = c
	}
	return out, rows.Err()
}

// AlertDeliveries returns, by alert ID, the deliveries of the events whose
// data.alert_id is one of ids (commitment.* events), newest first, each
// with its attempt log. An alert without deliveries has no entry.
func (s *Store) AlertDeliveries(ctx context.Context, ids []string) (map[string][]Delivery, error) {
	out := map[string][]Delivery{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT x.alert_id, d.id, d.event_id, x.type, d.endpoint, d.state,
		d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at, d.created_at
		FROM events x JOIN deliveries d ON d.event_id = x.id
		WHERE x.alert_id IN (`+placeholders(len(ids))+`)
		ORDER BY d.created_at DESC, d.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list alert deliveries: %w", err)
	}
	defer rows.Close()
	var all []Delivery
	var alertOf []string
	index := map[int64]int{}
	for rows.Next() {
		var d Delivery
		var alert string
		var next, last, delivered, created int64
		if err := rows.Scan(&alert, &d.ID, &d.EventID, &d.EventType, &d.Endpoint, &d.State, &next, &last,
			&d.LastStatus, &d.LastError, &delivered, &created); err != nil {
			return nil, fmt.Errorf("list alert deliveries: %w", err)
		}
		if d.State == DeliveryPending {
			d.NextAttemptAt = fromMS(next)
		}
		d.LastAttemptAt, d.DeliveredAt, d.CreatedAt = fromMS(last), fromMS(delivered), fromMS(created)
		index[d.ID] = len(all)
		all, alertOf = append(all, d), append(alertOf, alert)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list alert deliveries: %w", err)
	}
	rows.Close()
	if len(all) == 0 {
		return out, nil
	}
	if err := s.attachLog(ctx, all, index); err != nil {
		return nil, err
	}
	for i, d := range all {
		out[alertOf[i]] = append(out[alertOf[i]], d)
	}
	return out, nil
}
