// Command store measures the SQLite store under growth (issue 10):
//
//	go run ./bench/store [-interactions 2000000] [-customers 10000] [-commits 40] [-deliveries 10000]
//
// It seeds a store fast (multi-row inserts in large transactions), then:
//
//  1. commit: SaveMail of -batch mails (what the IMAP source commits) every
//     100 ms, alone and then while a full load (an evaluation runner's
//     first pass over every interaction) and 10 CLI queries run
//     concurrently; p50/p99/max latency (target p99 < 50 ms).
//  2. dispatch: -deliveries pending deliveries to a dead receiver, none
//     due (each customer's first backing off, the rest waiting behind it);
//     the time of a dispatcher pass and its write-lock time (target < 1 ms),
//     shown by running the passes while another connection holds SQLite's
//     write lock; and, for comparison, the lock time of the claim query
//     before issue 10 (json_extract in a correlated NOT EXISTS, under
//     BEGIN IMMEDIATE).
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
)

type options struct {
	interactions, customers, commits, batch, deliveries, passes, legacyPasses int
	dir                                                                       string
	reuse                                                                     bool
	phases                                                                    string
}

func main() {
	var o options
	flag.IntVar(&o.interactions, "interactions", 2_000_000, "interactions seeded")
	flag.IntVar(&o.customers, "customers", 10_000, "customers (configured, and among the interactions)")
	flag.IntVar(&o.commits, "commits", 40, "IMAP commits timed per phase")
	flag.IntVar(&o.batch, "batch", 500, "mails per commit")
	flag.IntVar(&o.deliveries, "deliveries", 10_000, "pending deliveries to the dead receiver")
	flag.IntVar(&o.passes, "passes", 200, "dispatcher passes timed")
	flag.IntVar(&o.legacyPasses, "legacy-passes", 1, "passes of the claim before issue 10 timed (seconds each at 10k deliveries)")
	flag.StringVar(&o.dir, "dir", "", "keep the store here (default: a temporary directory, removed)")
	flag.BoolVar(&o.reuse, "reuse", false, "with -dir: use the store seeded there by an earlier run")
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
	}
	fmt.Printf("store bench: %d interactions, %d customers, %d deliveries, %d CPUs\n",
		o.interactions, o.customers, o.deliveries, runtime.NumCPU())
	start := time.Now()
	if !o.reuse {
		if err := seed(ctx, dir, o); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "touchbase.db"))
	if err != nil {
		return err
	}
	fmt.Printf("seeded in %s (%d MiB)\n", time.Since(start).Round(time.Millisecond), fi.Size()>>20)
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

// rawDB opens the store's file directly, for seeding and for holding
// SQLite's write lock from another connection.
func rawDB(dir string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "touchbase.db")+
		"?_pragma=busy_timeout(10000)&_pragma=synchronous(OFF)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
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
