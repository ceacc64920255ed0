package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/store"
)

// benchConfig is a configuration with o.customers customers, one per
// seeded domain, and alice's mailbox.
func benchConfig(o options) *config.Config {
	cfg := &config.Config{
		InternalDomains: []string{"us.example"},
		Accounts:        []config.Account{{Name: "alice", Email: "alice@us.example", IMAP: &config.IMAP{}}},
		Sync:            config.Sync{Backfill: cadence.Span{Unit: cadence.Day, N: 365}, StaleAfter: time.Hour},
	}
	for i := range o.customers {
		cfg.Customers = append(cfg.Customers, cadence.Customer{ID: fmt.Sprintf("cust%05d", i), Name: fmt.Sprintf("Customer %d", i),
			Domains: []string{customerDomain(i)}, Location: time.UTC})
	}
	return cfg
}

// benchCommits times o.commits SaveMail calls of o.batch new mails each,
// 100 ms apart: alone, then beside a full load and 10 CLI queries.
func benchCommits(ctx context.Context, dir string, o options) error {
	st, err := o.backend.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	next, run := 0, time.Now().UnixNano() // keys new to the store, also when it is reused
	commit := func() (time.Duration, error) {
		mails := make([]cadence.Interaction, o.batch)
		for i := range mails {
			id := fmt.Sprintf("new-%d-%d@%s", run, next, customerDomain(next%o.customers))
			mails[i] = cadence.Interaction{Key: cadence.MailKey(id), Kind: cadence.Email, At: seedNow.Add(-time.Duration(next) * time.Second),
				Subject: "New mail", Sender: "p1@" + customerDomain(next%o.customers), Account: "alice", MessageID: id,
				Participants: []cadence.Participant{{Address: "alice@us.example", Role: cadence.To}, {Address: "p1@" + customerDomain(next%o.customers), Role: cadence.From}}}
			next++
		}
		start := time.Now()
		_, err := st.SaveMail(ctx, "alice", "INBOX", mails, store.FolderState{UIDValidity: 1, UIDNext: uint32(next + 1)})
		return time.Since(start), err
	}
	var spinAlone, spinBusy []time.Duration
	alone, err := timeCommits(o.commits, func() (time.Duration, error) {
		spinAlone = append(spinAlone, spin())
		return commit()
	})
	if err != nil {
		return err
	}
	fmt.Printf("commit of %d mails, alone:                         %s\n", o.batch, percentiles(alone))
	fmt.Printf("  CPU yardstick (hashing 8 MiB), alone:           %s\n", percentiles(spinAlone))

	// A full load first, to see what it costs on its own and what the
	// runner keeps.
	cfg := benchConfig(o)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	r := evaluate.New(cfg, st, zap.NewNop())
	if _, err := r.Pass(ctx, seedNow); err != nil {
		return err
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	fmt.Printf("full load (first evaluation pass):                %s, runner keeps %d MiB\n",
		took.Round(time.Millisecond), (after.HeapAlloc-before.HeapAlloc)>>20)
	runtime.KeepAlive(r)
	r = nil

	loads, queries, stop, wait := readers(ctx, st, cfg)
	busy, err := timeCommits(o.commits, func() (time.Duration, error) {
		spinBusy = append(spinBusy, spin())
		return commit()
	})
	stop()
	if werr := wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	fmt.Printf("commit of %d mails, beside a full load + 10 CLI queries: %s\n", o.batch, percentiles(busy))
	fmt.Printf("  CPU yardstick (hashing 8 MiB), beside them:     %s\n", percentiles(spinBusy))
	fmt.Printf("  meanwhile: %d full loads done (%s), %d CLI queries\n", len(*loads), percentiles(*loads), queries.Load())
	return nil
}

// spin times a fixed amount of CPU work that touches no store: how much
// slower it gets beside the readers is what the CPU's sharing alone costs.
func spin() time.Duration {
	start := time.Now()
	h := sha256.New()
	buf := make([]byte, 64<<10)
	for range 128 {
		h.Write(buf)
	}
	h.Sum(nil)
	return time.Since(start)
}

// timeCommits runs commit n times, 100 ms apart.
func timeCommits(n int, commit func() (time.Duration, error)) ([]time.Duration, error) {
	var out []time.Duration
	for range n {
		d, err := commit()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		time.Sleep(100 * time.Millisecond)
	}
	return out, nil
}

// readers starts one goroutine doing full loads (a fresh runner's first
// pass, as the daemon's start or a CLI command without a daemon does)
// and 10 looping over CLI queries, until stop; wait returns their error.
func readers(ctx context.Context, st *store.Store, cfg *config.Config) (loads *[]time.Duration, queries *atomic.Int64, stop func(), wait func() error) {
	ctx, cancel := context.WithCancel(ctx)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		ds    []time.Duration
		n     atomic.Int64
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil && ctx.Err() == nil {
			first = err
		}
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			start := time.Now()
			if _, err := evaluate.New(cfg, st, zap.NewNop()).Pass(ctx, seedNow); err != nil {
				fail(fmt.Errorf("full load: %w", err))
				return
			}
			mu.Lock()
			ds = append(ds, time.Since(start))
			mu.Unlock()
		}
	})
	for i, q := range cliQueries(st) {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := q(ctx); err != nil {
					fail(fmt.Errorf("query %d: %w", i, err))
					return
				}
				n.Add(1)
			}
		})
	}
	return &ds, &n, cancel, func() error { wg.Wait(); return first }
}

// cliQueries are the reads of ten CLI commands run without a daemon.
func cliQueries(st *store.Store) []func(context.Context) error {
	week := seedNow.Add(-7 * 24 * time.Hour)
	return []func(context.Context) error{
		func(ctx context.Context) error { _, err := st.Alerts(ctx, true); return err },
		func(ctx context.Context) error {
			_, err := st.Deliveries(ctx, store.DeliveryFilter{Limit: 50})
			return err
		},
		func(ctx context.Context) error { _, err := st.EndpointSummary(ctx); return err },
		func(ctx context.Context) error { _, err := st.Silences(ctx, seedNow, true); return err },
		func(ctx context.Context) error { _, err := st.Sources(ctx); return err },
		func(ctx context.Context) error { _, err := st.FilterCounts(ctx); return err },
		func(ctx context.Context) error { _, _, err := st.OutboxDepth(ctx); return err },
		func(ctx context.Context) error { _, err := st.Interactions(ctx, week); return err },
		func(ctx context.Context) error {
			_, err := st.AlertDeliveries(ctx, []string{"a1", "a2", "a3"})
			return err
		},
		func(ctx context.Context) error { _, err := st.Stats(ctx); return err },
	}
}
