// Command webhooks measures webhook delivery against a local receiver:
//
//	go run ./bench/webhooks [-events 10000] [-rate 2000] [-store sqlite|postgres]
//
// Phase "backlog" enqueues every event first, then times one DeliverDue
// (throughput). Phase "steady" enqueues events at -rate per second in small
// transactions, kicking the dispatcher after each (as the daemon does after
// an evaluation), and reports enqueue-to-received and enqueue-to-recorded
// latency percentiles. Targets (issue 6): over 1,000 deliveries/s and p99
// under 100 ms with a healthy receiver.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/internal/benchbackend"
	"github.com/touchbase/touchbase/store"
	"github.com/touchbase/touchbase/webhooks"
)

// stores opens each phase's store on the backend -store names.
var stores = benchbackend.Register(flag.CommandLine)

func main() {
	events := flag.Int("events", 10000, "events per phase")
	rate := flag.Int("rate", 2000, "events per second enqueued in the steady phase")
	customers := flag.Int("customers", 500, "distinct customers (order keys)")
	concurrency := flag.Int("concurrency", webhooks.DefaultConcurrency, "attempts in flight per endpoint")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*events, *rate, *customers, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// receiver is a healthy endpoint that notes when each webhook-id arrived.
type receiver struct {
	mu  sync.Mutex
	got map[string]time.Time
	all chan struct{} // closed when want ids have arrived
	n   int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	now := time.Now()
	r.mu.Lock()
	if _, dup := r.got[req.Header.Get("webhook-id")]; !dup {
		r.got[req.Header.Get("webhook-id")] = now
		if len(r.got) == r.n {
			close(r.all)
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func run(n, rate, customers, concurrency int) error {
	dir, err := os.MkdirTemp("", "touchbase-bench-webhooks-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("whsec_"+base64.StdEncoding.EncodeToString(secret)), 0o600); err != nil {
		return err
	}
	fmt.Printf("webhooks bench: %d events per phase, %d customers, concurrency %d per endpoint, %d CPUs, store %s\n",
		n, customers, concurrency, runtime.NumCPU(), stores.Backend)
	for _, phase := range []string{"backlog", "steady"} {
		if err := runPhase(phase, filepath.Join(dir, phase), secretFile, n, rate, customers, concurrency); err != nil {
			return fmt.Errorf("%s: %w", phase, err)
		}
	}
	return nil
}

func runPhase(phase, dir, secretFile string, n, rate, customers, concurrency int) error {
	ctx := context.Background()
	st, err := stores.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer stores.Remove(context.WithoutCancel(ctx), dir)
	defer st.Close()
	rc := &receiver{got: map[string]time.Time{}, all: make(chan struct{}), n: n}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hooks := []config.Webhook{{Name: "bench", URL: srv.URL, Secrets: []config.Secret{{File: secretFile}}}}
	d, err := webhooks.New(hooks, st, zap.NewNop(), prometheus.NewRegistry(), webhooks.WithConcurrency(concurrency))
	if err != nil {
		return err
	}
	routes := webhooks.Routes(hooks)
	enqueued := make(map[string]time.Time, n)
	if phase == "backlog" {
		start := time.Now()
		for i := 0; i < n; i += 500 {
			batch := make([]store.Event, 0, 500)
			for j := i; j < min(i+500, n); j++ {
				batch = append(batch, event(j, customers))
			}
			if err := st.Enqueue(ctx, batch, routes); err != nil {
				return err
			}
		}
		fmt.Printf("backlog: enqueued %d events in %s (%.0f events/s)\n", n, time.Since(start).Round(time.Millisecond),
			float64(n)/time.Since(start).Seconds())
		start = time.Now()
		if err := d.DeliverDue(ctx); err != nil {
			return err
		}
		took := time.Since(start)
		if got := len(rc.got); got != n {
			return fmt.Errorf("receiver got %d of %d events", got, n)
		}
		fmt.Printf("backlog: delivered %d in %s: %.0f deliveries/s\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
		return nil
	}
	return steady(ctx, st, d, rc, routes, enqueued, n, rate, customers)
}

// steady enqueues at rate and kicks a dispatcher loop after each batch.
func steady(ctx context.Context, st *store.Store, d *webhooks.Dispatcher, rc *receiver, routes func(string) []string,
	enqueued map[string]time.Time, n, rate, customers int) error {
	kick := make(chan struct{}, 1)
	loopCtx, stop := context.WithCancel(ctx)
	defer stop()
	var loop sync.WaitGroup
	var loopErr error
	loop.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-loopCtx.Done():
				return
			case <-kick:
			case <-tick.C:
			}
			if err := d.DeliverDue(loopCtx); err != nil && loopCtx.Err() == nil {
				loopErr = err
			}
		}
	})
	const tick = 10 * time.Millisecond
	per := max(rate/int(time.Second/tick), 1)
	start := time.Now()
	for i := 0; i < n; {
		batch := make([]store.Event, 0, per)
		for ; len(batch) < per && i < n; i++ {
			batch = append(batch, event(i, customers))
		}
		if err := st.Enqueue(ctx, batch, routes); err != nil {
			return err
		}
		committed := time.Now()
		for _, ev := range batch {
			enqueued[ev.ID] = committed
		}
		select {
		case kick <- struct{}{}:
		default:
		}
		time.Sleep(time.Until(start.Add(time.Duration(i/per) * tick)))
	}
	select {
	case <-rc.all:
	case <-time.After(2 * time.Minute):
	}
	// Received is not recorded yet: let the last attempts commit.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if counts, err := st.QueueCounts(ctx); err == nil && counts["bench"].Pending == 0 {
			break
		}
	}
	stop()
	loop.Wait()
	if loopErr != nil {
		return loopErr
	}
	return report(ctx, st, rc, enqueued, n, time.Since(start))
}

func report(ctx context.Context, st *store.Store, rc *receiver, enqueued map[string]time.Time, n int, took time.Duration) error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) != n {
		return fmt.Errorf("receiver got %d of %d events", len(rc.got), n)
	}
	var received []time.Duration
	for id, at := range rc.got {
		received = append(received, at.Sub(enqueued[id]))
	}
	ds, err := st.Deliveries(ctx, store.DeliveryFilter{State: store.DeliveryDelivered, Limit: n})
	if err != nil {
		return err
	}
	var recorded []time.Duration
	for _, d := range ds {
		// delivered_at has millisecond resolution, as the store keeps it.
		recorded = append(recorded, d.DeliveredAt.Sub(enqueued[d.EventID].Truncate(time.Millisecond)))
	}
	fmt.Printf("steady: %d events in %s (%.0f deliveries/s offered and delivered)\n", n, took.Round(time.Millisecond),
		float64(n)/took.Seconds())
	fmt.Printf("steady: enqueue→received  %s\n", percentiles(received))
	fmt.Printf("steady: enqueue→recorded  %s\n", percentiles(recorded))
	return nil
}

func percentiles(ds []time.Duration) string {
	slices.Sort(ds)
	p := func(q float64) time.Duration {
		return ds[min(int(q*float64(len(ds))), len(ds)-1)].Round(100 * time.Microsecond)
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  (n=%d)", p(0.5), p(0.9), p(0.99), ds[len(ds)-1].Round(100*time.Microsecond), len(ds))
}

// event is a realistic commitment.slipped event for customer i%customers.
func event(i, customers int) store.Event {
	now := time.Now()
	cust := fmt.Sprintf("customer-%04d", i%customers)
	data := map[string]any{
		"alert_id":            cadence.EventID("alert", cust, fmt.Sprint(i)),
		"customer":            map[string]string{"id": cust, "name": "Customer " + cust, "owner": "alice"},
		"commitment":          map[string]string{"name": "weekly-status", "type": "cadence"},
		"due_at":              now.Add(-48 * time.Hour).UTC(),
		"last_interaction_at": now.Add(-9 * 24 * time.Hour).UTC(),
		"observed":            map[string]any{"contacts_30d": 4, "contacts_90d": 13, "median_interval": "168h0m0s"},
	}
	ev, err := webhooks.NewEvent(cadence.EventID("bench", fmt.Sprint(i), now.String()), webhooks.CommitmentSlipped, now, data)
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	return ev
}
