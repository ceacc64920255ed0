package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// seedNow is the bench's "now": interactions lie in the two years before.
var seedNow = time.Now().UTC().Truncate(time.Millisecond)

// customerDomain is customer i's domain.
func customerDomain(i int) string { return fmt.Sprintf("c%05d.example", i) }

// seed creates the store (migrated by its Open) and fills it with
// o.interactions mails between alice and the customers' people, and
// o.deliveries pending deliveries to a dead endpoint.
func seed(ctx context.Context, dir string, o options) error {
	st, err := o.backend.Open(ctx, dir)
	if err != nil {
		return err
	}
	st.Close()
	db, err := rawDB(ctx, dir, o)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := seedInteractions(ctx, db, o); err != nil {
		return err
	}
	if err := seedDeliveries(ctx, db, o); err != nil {
		return err
	}
	if o.postgres() {
		// Autovacuum would do this within a minute of a bulk load; without
		// it the planner plans for the tables it saw empty, and index-only
		// scans find no page all-visible.
		if _, err := db.ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
			return err
		}
	}
	return nil
}

const rowsPerStmt = 100

// seedInteractions inserts the mails in transactions of 20,000, 100 rows
// per statement, then one source row each and a short change log.
func seedInteractions(ctx context.Context, db *sql.DB, o options) error {
	rng := rand.New(rand.NewPCG(1, 2))
	const cols = `(key, kind, at, subject, sender, account, message_id, filter, first_seen, people)`
	values := func(n int) string {
		return `INSERT INTO interactions ` + cols + ` VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, 'email', ?, ?, ?, 'alice', ?, ?, ?, ?), ", n), ", ")
	}
	for done := 0; done < o.interactions; {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for end := min(done+20_000, o.interactions); done < end; {
			n := min(rowsPerStmt, end-done)
			args := make([]any, 0, 8*n)
			for i := done; i < done+n; i++ {
				args = append(args, mailRow(rng, i, o.customers)...)
			}
			if _, err := tx.ExecContext(ctx, rebind(values(n), o), args...); err != nil {
				tx.Rollback()
				return err
			}
			done += n
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`INSERT INTO interaction_sources (interaction_id, account, locator, filter) SELECT id, 'alice', 'imap:INBOX', filter FROM interactions`,
		`DELETE FROM interaction_changes WHERE seq < (SELECT MAX(seq) FROM interaction_changes)`,
		`INSERT INTO sources (name, last_attempt_at, last_success_at) VALUES ('imap:alice', ` + fmt.Sprint(seedNow.UnixMilli()) + `, ` + fmt.Sprint(seedNow.UnixMilli()) + `)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// mailRow is the i-th mail: from or to a person of a random customer,
// within the last two years; one in ten is list mail.
func mailRow(rng *rand.Rand, i, customers int) []any {
	c := rng.IntN(customers)
	person := fmt.Sprintf("p%d@%s", rng.IntN(5), customerDomain(c))
	at := seedNow.Add(-time.Duration(rng.Int64N(int64(730 * 24 * time.Hour))))
	sender, role := person, cadence.To
	if i%2 == 0 {
		sender, role = "alice@us.example", cadence.From
	}
	filter := ""
	if i%10 == 0 {
		filter = string(cadence.List)
	}
	people := store.PackParticipants([]cadence.Participant{{Address: "alice@us.example", Role: role},
		{Address: person, Role: map[cadence.Role]cadence.Role{cadence.To: cadence.From, cadence.From: cadence.To}[role]}})
	id := fmt.Sprintf("seed-%d@%s", i, customerDomain(c))
	return []any{cadence.MailKey(id), at.UnixMilli(), fmt.Sprintf("Subject %d", i), sender, id, filter, at.UnixMilli(), people}
}

// seedDeliveries enqueues o.deliveries commitment events for a dead
// endpoint, four per customer: the first failed and waits an hour, the
// other three are due but wait behind it (a customer's events arrive in
// order). None can be sent.
func seedDeliveries(ctx context.Context, db *sql.DB, o options) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	created := seedNow.Add(-time.Hour).UnixMilli()
	for i := range o.deliveries {
		cust, nth := fmt.Sprintf("cust%05d", i/4), i%4
		id := cadence.EventID("bench", fmt.Sprint(i))
		payload := fmt.Sprintf(`{"type":"commitment.slipped","timestamp":"%s","data":{"alert_id":"a%d","customer":{"id":%q}}}`,
			seedNow.Format(time.RFC3339), i, cust)
		if _, err := tx.ExecContext(ctx, rebind(`INSERT INTO events (id, type, created_at, payload, alert_id) VALUES (?, 'commitment.slipped', ?, ?, ?)`, o),
			id, created+int64(i), payload, fmt.Sprintf("a%d", i)); err != nil {
			return err
		}
		next, attempts := created+int64(i), 0
		if nth == 0 {
			next, attempts = seedNow.Add(time.Hour).UnixMilli(), 1
		}
		if _, err := tx.ExecContext(ctx, rebind(`INSERT INTO deliveries (event_id, endpoint, state, attempts, next_attempt_at, created_at, event_type, order_key)
			VALUES (?, 'crm', 'pending', ?, ?, ?, 'commitment.slipped', ?)`, o), id, attempts, next, created+int64(i), cust); err != nil {
			return err
		}
	}
	return tx.Commit()
}
