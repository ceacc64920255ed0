package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
	"github.com/touchbase/touchbase/webhooks"
)

// passTimeout ends a pass that waits for the lock held meanwhile: an error
// rather than a slow figure.
const passTimeout = 10 * time.Second

// benchDispatch times dispatcher passes with o.deliveries pending to a
// dead receiver and nothing due, while another connection holds locks a
// pass that wrote would wait for (holdLocks); each pass may take
// passTimeout, so every pass ending in well under that shows it needed
// none of them.
func benchDispatch(ctx context.Context, dir string, o options) error {
	st, err := o.backend.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	secret := filepath.Join(dir, "hook.whsec")
	if err := os.WriteFile(secret, []byte("whsec_dG91Y2hiYXNlLWJlbmNoLXNpZ25pbmcta2V5ISEhIQ=="), 0o600); err != nil {
		return err
	}
	hook := config.Webhook{Name: "crm", URL: "http://127.0.0.1:9/dead", Secrets: []config.Secret{{File: secret}}}
	out := &claimCounter{Store: st}
	d, err := webhooks.New([]config.Webhook{hook}, out, zap.NewNop(), nil, webhooks.WithClock(func() time.Time { return seedNow }))
	if err != nil {
		return err
	}
	db, err := rawDB(ctx, dir, o)
	if err != nil {
		return err
	}
	defer db.Close()
	lock, err := holdLocks(ctx, db, o)
	if err != nil {
		return err
	}
	var passes []time.Duration
	for range o.passes {
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, passTimeout)
		p, err := d.DeliverPass(pctx)
		cancel()
		if err != nil {
			lock.Rollback()
			return fmt.Errorf("pass, locks held elsewhere (did it wait for them?): %w", err)
		}
		if p.Sent+p.Failed > 0 {
			lock.Rollback()
			return fmt.Errorf("a pass attempted %d deliveries; the bench wants none due", p.Sent+p.Failed)
		}
		passes = append(passes, time.Since(start))
	}
	if err := lock.Rollback(); err != nil {
		return err
	}
	if n := out.asked.Load(); n != int64(o.passes) {
		return fmt.Errorf("%d of %d passes asked the store for due deliveries of the endpoint; want every one", n, o.passes)
	}
	held := "write lock"
	if o.postgres() {
		held = "EXCLUSIVE lock on every table"
	}
	fmt.Printf("dispatcher pass, %d pending, none due, %s held elsewhere: %s\n", o.deliveries, held, percentiles(passes))
	fmt.Printf("  write-lock time per pass: 0 (no pass waited for the lock held meanwhile)\n")
	if o.legacyPasses == 0 || o.postgres() { // the old claim ran on SQLite only
		return nil
	}
	legacy, err := legacyClaims(ctx, db, o.legacyPasses)
	if err != nil {
		return err
	}
	fmt.Printf("the claim before issue 10 (json_extract, under BEGIN IMMEDIATE), write lock held: %s\n", percentiles(legacy))
	return nil
}

// holdLocks takes, in a transaction of db left open, the locks a pass
// that wrote would have to wait for. On SQLite that is the write lock
// (BEGIN IMMEDIATE). Postgres has no database-wide write lock: a pass's
// "write-lock time" there is the time it holds row locks or writes, which
// block other writers. So every table of the store is locked IN EXCLUSIVE
// MODE, which lets plain SELECTs through but conflicts with any INSERT,
// UPDATE, DELETE or SELECT ... FOR UPDATE/SHARE: a pass that did any of
// these would wait until passTimeout. (Counting pg_stat_database's
// xact_commit or tup_updated instead would count other clients of a
// shared server too, and those statistics are flushed lazily.)
func holdLocks(ctx context.Context, db *sql.DB, o options) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, nil) // on SQLite BEGIN IMMEDIATE (_txlock): the write lock
	if err != nil {
		return nil, err
	}
	if !o.postgres() {
		return tx, nil
	}
	var tables string
	err = tx.QueryRowContext(ctx, `SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables
		WHERE schemaname = current_schema()`).Scan(&tables)
	if err == nil {
		_, err = tx.ExecContext(ctx, `LOCK TABLE `+tables+` IN EXCLUSIVE MODE`)
	}
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("lock the tables: %w", err)
	}
	return tx, nil
}

// claimCounter counts the passes that asked for due deliveries of at
// least one endpoint: a pass whose endpoint's secret failed to load would
// ask nothing and look fast.
type claimCounter struct {
	*store.Store
	asked atomic.Int64
}

func (c *claimCounter) ClaimDue(ctx context.Context, now time.Time, owner string, endpoints []string, lease time.Duration, limit int) ([]store.Claimed, error) {
	if len(endpoints) > 0 {
		c.asked.Add(1)
	}
	return c.Store.ClaimDue(ctx, now, owner, endpoints, lease, limit)
}

// legacyOrderKey is the order key as the store computed it before issue
// 10, from the payload of the events row aliased e.
func legacyOrderKey(e string) string {
	return `(CASE WHEN json_valid(` + e + `.payload) THEN COALESCE(json_extract(` + e + `.payload, '$.data.customer.id'),
		json_extract(` + e + `.payload, '$.data.source'), '') ELSE '' END)`
}

// legacyClaims times the due query of the store before issue 10, run as
// the old ClaimDue ran it: inside an immediate transaction, every pass.
// The times are how long each pass held the write lock.
func legacyClaims(ctx context.Context, db *sql.DB, n int) ([]time.Duration, error) {
	now := seedNow.UnixMilli()
	q := `SELECT d.id FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.endpoint IN ('crm')
		AND d.endpoint NOT IN (SELECT name FROM endpoints WHERE disabled_at <> 0)
		AND NOT EXISTS (SELECT 1 FROM deliveries b JOIN events be ON be.id = b.event_id
			WHERE b.state = 'pending' AND b.next_attempt_at > ? AND b.endpoint = d.endpoint
			AND (b.created_at < d.created_at OR (b.created_at = d.created_at AND b.id < d.id))
			AND ` + legacyOrderKey("be") + ` <> '' AND ` + legacyOrderKey("be") + ` = ` + legacyOrderKey("e") + `)
		ORDER BY d.created_at, d.id LIMIT 256`
	var out []time.Duration
	for range n {
		start := time.Now()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		rows, err := tx.QueryContext(ctx, q, now, now)
		if err != nil {
			tx.Rollback()
			return nil, err
		}
		found := 0
		for rows.Next() {
			found++
		}
		rows.Close()
		if err := tx.Commit(); err != nil {
			return nil, err
		}
		if found > 0 {
			return nil, fmt.Errorf("the old query found %d due; want none", found)
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}
