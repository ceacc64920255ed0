// Command store measures the store under growth (issue 10), on SQLite or
// Postgres (-store, see internal/benchbackend):
//
//	go run ./bench/store [-store sqlite|postgres] [-interactions 2000000] [-customers 10000] [-commits 40] [-deliveries 10000]
//
// It seeds a store fast (multi-row inserts in large transactions, in SQL
// both engines take), then:
//
//  1. commit: SaveMail of -batch mails (what the IMAP source commits) every
//     100 ms, alone and then while a full load (an evaluation runner's
//     first pass over every interaction) and 10 CLI queries run
//     concurrently; p50/p99/max latency (target p99 < 50 ms).
//  2. dispatch: -deliveries pending deliveries to a dead receiver, none
//     due (each customer's first backing off, the rest waiting behind it);
//     the time of a dispatcher pass and its write-lock time (target < 1 ms),
//     shown by running the passes while another connection holds SQLite's
//     write lock (on Postgres, which has no such lock, an EXCLUSIVE lock on
//     every table: see benchDispatch); and, on SQLite, for comparison, the
//     lock time of the claim query before issue 10 (json_extract in a
//     correlated NOT EXISTS, under BEGIN IMMEDIATE).
//
// On Postgres the store is a database created on the server -pg-admin
// names ($TOUCHBASE_BENCH_PG, by default internal/pgtest's cluster, which
// `go test ./internal/pgtest` starts), dropped at the end unless -dir.
//
// Not part of `go test ./...`. A small run: -interactions 20000 -customers 500 -commits 10 -deliveries 1000.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/touchbase/touchbase/internal/benchbackend"
)

type options struct {
	interactions, customers, commits, batch, deliveries, passes, legacyPasses int
	dir                                                                       string
	reuse                                                                     bool
	phases                                                                    string
	backend                                                                   *benchbackend.Flags
}

func (o options) postgres() bool { return o.backend.Backend == "postgres" }

func main() {
	var o options
	flag.IntVar(&o.interactions, "interactions", 2_000_000, "interactions seeded")
	flag.IntVar(&o.customers, "customers", 10_000, "customers (configured, and among the interactions)")
	flag.IntVar(&o.commits, "commits", 40, "IMAP commits timed per phase")
	flag.IntVar(&o.batch, "batch", 500, "mails per commit")
	flag.IntVar(&o.deliveries, "deliveries", 10_000, "pending deliveries to the dead receiver")
	flag.IntVar(&o.passes, "passes", 200, "dispatcher passes timed")
	flag.IntVar(&o.legacyPasses, "legacy-passes", 1, "passes of the claim before issue 10 timed (seconds each at 10k deliveries)")
	flag.StringVar(&o.dir, "dir", "", "keep the store here, or on Postgres the database named after it (default: a temporary one, removed)")
	flag.BoolVar(&o.reuse, "reuse", false, "with -dir: use the store seeded there by an earlier run")
	o.backend = benchbackend.Register(flag.CommandLine)
	flag.StringVar(&o.phases, "phases", "commits,dispatch", "the phases to run")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "touchbase-bench-store-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
		if o.postgres() {
			defer o.backend.Remove(context.WithoutCancel(ctx), dir)
		}
	}
	fmt.Printf("store bench (%s): %d interactions, %d customers, %d deliveries, %d CPUs\n",
		o.backend.Backend, o.interactions, o.customers, o.deliveries, runtime.NumCPU())
	start := time.Now()
	if !o.reuse {
		if o.postgres() { // a database left by an earlier -dir run
			if err := o.backend.Remove(ctx, dir); err != nil {
				return err
			}
		}
		if err := seed(ctx, dir, o); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	size, err := storeSize(ctx, dir, o)
	if err != nil {
		return err
	}
	fmt.Printf("seeded in %s (%d MiB)\n", time.Since(start).Round(time.Millisecond), size>>20)
	if strings.Contains(o.phases, "commits") {
		if err := benchCommits(ctx, dir, o); err != nil {
			return fmt.Errorf("commits: %w", err)
		}
	}
	if strings.Contains(o.phases, "dispatch") {
		if err := benchDispatch(ctx, dir, o); err != nil {
			return fmt.Errorf("dispatch: %w", err)
		}
	}
	return nil
}

// rawDB opens the store's file or database directly, for seeding and for
// holding locks from another connection. Its one connection is not
// durable: seeding need not be.
func rawDB(ctx context.Context, dir string, o options) (*sql.DB, error) {
	if o.postgres() {
		db, err := sql.Open("pgx", o.backend.DSN(dir))
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		if _, err := db.ExecContext(ctx, `SET synchronous_commit = off`); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "touchbase.db")+
		"?_pragma=busy_timeout(10000)&_pragma=synchronous(OFF)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// rebind writes the ? placeholders of q as Postgres's $1..$n (the bench's
// queries have no ? in literals) when the store is on Postgres.
func rebind(q string, o options) string {
	if !o.postgres() {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// storeSize is the size of the store's file or database.
func storeSize(ctx context.Context, dir string, o options) (int64, error) {
	if !o.postgres() {
		fi, err := os.Stat(filepath.Join(dir, "touchbase.db"))
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	db, err := rawDB(ctx, dir, o)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}

// percentiles formats p50, p99 and max of ds.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("p50 %s  p99 %s  max %s  (n=%d)", r(at(0.50)), r(at(0.99)), r(s[len(s)-1]), len(s))
}
