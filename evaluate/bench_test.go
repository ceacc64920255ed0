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

// BenchmarkRun measures daemon passes, store included, over 100,000
// interactions of 500 customers (3 policies each), in the steady state
// (nothing new to record):
//
//   - first: a new Runner's first pass, which loads everything (a start or
//     a config reload); µs per interaction loaded;
//   - unchanged: a pass with nothing new in the store;
//   - one-new: a pass after one new mail was stored;
//   - why-daemon, why-cli: `customer ID --why` answered by a running
//     daemon, and by the CLI alone from the store.
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
	newRunner := func() *Runner {
		r := New(cfg, st, zap.NewNop())
		r.Now = func() time.Time { return now }
		return r
	}
	r := newRunner()
	if err := r.Run(b.Context(), now); err != nil { // opens the alerts once
		b.Fatal(err)
	}
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			if err := newRunner().Run(b.Context(), now); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/(customers*perCustomer), "µs/interaction")
	})
	// customer --why: answered by a running daemon (its Runner keeps the
	// history) and by the CLI alone (a new Runner loads the store).
	b.Run("why-daemon", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.Why(b.Context(), "c007", now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("why-cli", func(b *testing.B) {
		for b.Loop() {
			if _, err := newRunner().Why(b.Context(), "c007", now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			if err := r.Run(b.Context(), now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one-new", func(b *testing.B) {
		for n := 0; b.Loop(); n++ {
			// A third party's mail: it counts, and opens or resolves nothing.
			m := cadence.Interaction{Key: fmt.Sprintf("mid:new%d", n), Kind: cadence.Email, At: now.Add(-time.Hour),
				Subject: "Hello", Sender: "x@other.example", Account: "alice",
				Participants: []cadence.Participant{{Address: fmt.Sprintf("p0@c%03d.example", n%customers), Role: cadence.To}}}
			if _, err := st.SaveMail(b.Context(), "alice", "INBOX", []cadence.Interaction{m}, store.FolderState{UIDValidity: 1}); err != nil {
				b.Fatal(err)
			}
			if err := r.Run(b.Context(), now); err != nil {
				b.Fatal(err)
			}
		}
	})
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
			people := store.PackParticipants([]cadence.Participant{{Address: from, Role: cadence.From}, {Address: to, Role: cadence.To}})
			if _, err := tx.Exec(`INSERT INTO interactions (key, kind, at, subject, sender, account, message_id, first_seen, people)
				VALUES (?, 'email', ?, ?, ?, 'alice', ?, ?, ?)`, fmt.Sprintf("mid:%d.%d", c, j), at.UnixMilli(),
				subjects[r.IntN(len(subjects))], from, fmt.Sprintf("%d.%d", c, j), at.UnixMilli(), people); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
