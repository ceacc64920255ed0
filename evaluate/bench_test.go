package evaluate

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// BenchmarkRun measures one daemon pass, store included: load 100,000
// interactions of 500 customers (3 policies each) from SQLite, classify,
// evaluate, record nothing new (the steady state). The load dominates; the
// figures scale about linearly with the number of interactions loaded.
func BenchmarkRun(b *testing.B) {
	const customers, perCustomer = 500, 200
	cfg, err := config.Load(filepath.Join("testdata", "touchbase.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	base := cfg.Customers[0]
	cfg.Customers = nil
	for i := range customers {
		c := base
		c.ID, c.Name, c.Domains = fmt.Sprintf("c%03d", i), fmt.Sprintf("Customer %d", i), []string{fmt.Sprintf("c%03d.example", i)}
		c.Commitments = append(append([]cadence.Commitment{}, base.Commitments...), cfg.Policies["next_meeting"])
		cfg.Customers = append(cfg.Customers, c)
	}
	dir := b.TempDir()
	st, err := store.Open(b.Context(), dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)
	seedBulk(b, dir, customers, perCustomer, now)
	for _, s := range []string{"imap:alice", "caldav:alice"} {
		st.RecordSyncSuccess(b.Context(), s, now, nil)
	}
	r := New(cfg, st, zap.NewNop())
	r.Now = func() time.Time { return now }
	if err := r.Run(b.Context(), now); err != nil { // opens the alerts once
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := r.Run(b.Context(), now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(customers*perCustomer), "interactions")
}

func seedBulk(b *testing.B, dir string, customers, perCustomer int, now time.Time) {
	db, err := sql.Open("sqlite", filepath.Join(dir, store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, _ := db.Begin()
	r := rand.New(rand.NewPCG(5, 6))
	subjects := []string{"Status week 12", "Question", "Planning", "Re: Question"}
	for c := range customers {
		for j := range perCustomer {
			at := now.Add(-time.Duration(r.Int64N(int64(400 * 24 * time.Hour))))
			from, to := "alice@us.example", fmt.Sprintf("p%d@c%03d.example", j%4, c)
			if r.IntN(2) == 0 {
				from, to = to, from
			}
			res, err := tx.Exec(`INSERT INTO interactions (key, kind, at, subject, sender, account, message_id, first_seen)
				VALUES (?, 'email', ?, ?, ?, 'alice', ?, ?)`, fmt.Sprintf("mid:%d.%d", c, j), at.UnixMilli(),
				subjects[r.IntN(len(subjects))], from, fmt.Sprintf("%d.%d", c, j), at.UnixMilli())
			if err != nil {
				b.Fatal(err)
			}
			id, _ := res.LastInsertId()
			tx.Exec(`INSERT INTO participants (interaction_id, address, role) VALUES (?, ?, 'from'), (?, ?, 'to')`, id, from, id, to)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
