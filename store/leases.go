package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Lease is a named claim on a piece of work (a source's sync, the
// evaluation pass) held by one daemon until ExpiresAt, unless renewed.
// Several daemons sharing one database split the work with leases; see
// schema v7.
type Lease struct {
	Name   string
	Holder string // the daemon process: hostname:pid:random
	// Generation is the fencing token: it grows each time the lease is
	// acquired by another holder, or again after it expired.
	Generation int64
	AcquiredAt time.Time // when this generation began
	RenewedAt  time.Time
	ExpiresAt  time.Time // when another holder may take it; at release, the release time
}

// Live reports whether l is held at now: not expired nor released.
func (l Lease) Live(now time.Time) bool { return now.Before(l.ExpiresAt) }

// ErrLeaseLost is returned when a lease is no longer held by the caller's
// generation: renewing it, or committing work fenced by it (WithLease).
var ErrLeaseLost = errors.New("lease lost")

const leaseColumns = `name, holder, generation, acquired_at, renewed_at, expires_at`

func scanLease(sc interface{ Scan(...any) error }) (Lease, error) {
	var l Lease
	var acquired, renewed, expires int64
	if err := sc.Scan(&l.Name, &l.Holder, &l.Generation, &acquired, &renewed, &expires); err != nil {
		return Lease{}, err
	}
	l.AcquiredAt, l.RenewedAt, l.ExpiresAt = fromMS(acquired), fromMS(renewed), fromMS(expires)
	return l, nil
}

// AcquireLease takes the lease name for holder until now+ttl when nobody
// holds it: it does not exist, it expired or it was released, or holder
// holds it already (then it is simply renewed). It is one conditional
// upsert, so that of several daemons trying at once exactly one wins. ok
// says whether holder holds the lease now; the returned lease is then
// holder's, else the one in force (for logs: who holds it, until when).
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (l Lease, ok bool, err error) {
	if ttl <= 0 {
		return Lease{}, false, fmt.Errorf("acquire lease %s: duration %s is not positive", name, ttl)
	}
	t, until := ms(now), ms(now.Add(ttl))
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// The SET expressions read the row as it was. A holder taking its
		// own live lease keeps the generation; anything else starts one.
		res, err := tx.ExecContext(ctx, `INSERT INTO leases (`+leaseColumns+`) VALUES (?, ?, 1, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET
				generation = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > excluded.renewed_at
					THEN leases.generation ELSE leases.generation + 1 END,
				acquired_at = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > excluded.renewed_at
					THEN leases.acquired_at ELSE excluded.acquired_at END,
				holder = excluded.holder, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at
			WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.renewed_at`,
			name, holder, t, t, until)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		ok = n == 1
		l, err = scanLease(tx.QueryRowContext(ctx, `SELECT `+leaseColumns+` FROM leases WHERE name = ?`, name))
		return err
	})
	if err != nil {
		return Lease{}, false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return l, ok, nil
}

// RenewLease extends l (as returned by AcquireLease or an earlier renewal)
// to now+ttl. It returns ErrLeaseLost when l's holder and generation no
// longer hold it; a lease that expired but was taken by nobody is still
// theirs, as no other holder can have worked under it.
func (s *Store) RenewLease(ctx context.Context, l Lease, now time.Time, ttl time.Duration) (Lease, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE leases SET renewed_at = ?, expires_at = ?
		WHERE name = ? AND holder = ? AND generation = ?`, ms(now), ms(now.Add(ttl)), l.Name, l.Holder, l.Generation)
	if err != nil {
		return l, fmt.Errorf("renew lease %s: %w", l.Name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return l, fmt.Errorf("renew lease %s: %w", l.Name, err)
	}
	if n != 1 {
		return l, fmt.Errorf("renew lease %s of %s: %w", l.Name, l.Holder, ErrLeaseLost)
	}
	l.RenewedAt, l.ExpiresAt = fromMS(ms(now)), fromMS(ms(now.Add(ttl)))
	return l, nil
}

// ReleaseLease gives l up at now, so that another daemon may take it at
// once. Releasing a lease that is no longer l's does nothing.
func (s *Store) ReleaseLease(ctx context.Context, l Lease, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE leases SET expires_at = ?
		WHERE name = ? AND holder = ? AND generation = ? AND expires_at > ?`, ms(now), l.Name, l.Holder, l.Generation, ms(now))
	if err != nil {
		return fmt.Errorf("release lease %s: %w", l.Name, err)
	}
	return nil
}

// GetLease returns the lease name as stored; ok is false when it was never
// taken.
func (s *Store) GetLease(ctx context.Context, name string) (l Lease, ok bool, err error) {
	l, err = scanLease(s.db.QueryRowContext(ctx, `SELECT `+leaseColumns+` FROM leases WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, fmt.Errorf("read lease %s: %w", name, err)
	}
	return l, true, nil
}

// Leases lists every lease, live or not, by name.
func (s *Store) Leases(ctx context.Context) ([]Lease, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+leaseColumns+` FROM leases ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		l, err := scanLease(rows)
		if err != nil {
			return nil, fmt.Errorf("list leases: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	return out, nil
}

// DeleteLeases deletes the leases whose name starts with prefix that ended
// (expired or were released) before t, and returns how many. Leases named
// per daemon process accumulate otherwise; a deleted lease starts again at
// generation 1, so delete only names whose holders are long gone.
func (s *Store) DeleteLeases(ctx context.Context, prefix string, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM leases WHERE substr(name, 1, ?) = ? AND expires_at < ?`,
		len(prefix), prefix, ms(t))
	if err != nil {
		return 0, fmt.Errorf("delete leases %s*: %w", prefix, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

type fenceKey struct{}

// WithLease returns a context under which every write transaction of the
// store (SaveMail, ApplyCalDAV, ApplyEvaluation, RecordSyncSuccess, ...)
// commits only if l's holder and generation still hold the lease; if not,
// it is rolled back and fails with ErrLeaseLost. The check runs in the
// transaction, just before the commit, and takes the lease row's write
// lock, so another daemon cannot take the lease between the check and the
// commit: work done under a lost lease never lands. Single statements
// outside a transaction are not fenced.
func WithLease(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, fenceKey{}, l)
}

// checkFence fails with ErrLeaseLost unless the lease ctx is fenced by (if
// any) is still held by its generation.
func checkFence(ctx context.Context, tx *sql.Tx) error {
	l, ok := ctx.Value(fenceKey{}).(Lease)
	if !ok {
		return nil
	}
	// An UPDATE rather than a SELECT: it locks the row until the commit
	// (SQLite's write lock is the database's anyway; PostgreSQL's row lock
	// makes a concurrent acquisition wait for this commit).
	res, err := tx.ExecContext(ctx, `UPDATE leases SET generation = generation WHERE name = ? AND holder = ? AND generation = ?`,
		l.Name, l.Holder, l.Generation)
	if err != nil {
		return fmt.Errorf("check lease %s: %w", l.Name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("check lease %s: %w", l.Name, err)
	}
	if n != 1 {
		return fmt.Errorf("lease %s (generation %d of %s): %w", l.Name, l.Generation, l.Holder, ErrLeaseLost)
	}
	return nil
}
