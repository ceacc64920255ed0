package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

var t0 = time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)

// clock is a test clock moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// request is what a test receiver got.
type request struct {
	Header http.Header
	Body   []byte
	At     time.Time // real time of arrival
}

func (r request) ID() string { return r.Header.Get(headerID) }

// receiver is a local webhook receiver; respond decides the answer to the
// n-th request (0-based) and may block.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.reqs)
	rc.reqs = append(rc.reqs, request{Header: r.Header.Clone(), Body: body, At: time.Now()})
	rc.mu.Unlock()
	if rc.respond == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rc.respond(n, w, r)
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// statuses answers the n-th request with codes[n] (the last one after).
func statuses(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[min(n, len(codes)-1)])
	}
}

// newSecret writes a fresh whsec_ secret to a file and returns both.
func newSecret(t *testing.T) (config.Secret, string) {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	v := secretPrefix + base64.StdEncoding.EncodeToString(key)
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Secret{File: path}, v
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// env is a dispatcher under test with what it talks to.
type env struct {
	st    *store.Store
	clock *clock
	reg   *prometheus.Registry
	core  zapcore.Core
	logs  *observer.ObservedLogs // every entry, debug included
	hooks []config.Webhook
}

func newEnv(t *testing.T, hooks ...config.Webhook) *env {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	return &env{st: openStore(t, t.TempDir()), clock: newClock(t0), reg: prometheus.NewRegistry(),
		core: core, logs: logs, hooks: hooks}
}

func (e *env) dispatcher(t *testing.T, opts ...Option) *Dispatcher {
	t.Helper()
	opts = append([]Option{WithClock(e.clock.Now), withJitter(func(d time.Duration) time.Duration { return d })}, opts...)
	d, err := New(e.hooks, e.st, zap.New(e.core), e.reg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// hook is a standard endpoint named name at url with a new secret.
func hook(t *testing.T, name, url string) config.Webhook {
	sec, _ := newSecret(t)
	return config.Webhook{Name: name, URL: url, Secrets: []config.Secret{sec}}
}

// slipped is a commitment.slipped event of customer cust at t0+offset.
func slipped(t *testing.T, cust string, offset time.Duration) store.Event {
	t.Helper()
	at := t0.Add(offset)
	data := map[string]any{"alert_id": cadence.EventID("alert", cust, at.String()), "customer": map[string]string{"id": cust, "name": cust},
		"commitment": map[string]string{"name": "weekly-status", "type": "cadence"}, "due_at": at.Add(-time.Hour), "last_interaction_at": nil}
	ev, err := NewEvent(cadence.EventID(CommitmentSlipped, cust, at.String()), CommitmentSlipped, at, data)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (e *env) enqueue(t *testing.T, evs ...store.Event) {
	t.Helper()
	if err := e.st.Enqueue(t.Context(), evs, Routes(e.hooks)); err != nil {
		t.Fatal(err)
	}
}

func (e *env) pass(t *testing.T, d *Dispatcher) {
	t.Helper()
	if err := d.DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// delivery returns the only delivery of event id.
func (e *env) delivery(t *testing.T, eventID string) store.Delivery {
	t.Helper()
	ds, err := e.st.Deliveries(t.Context(), store.DeliveryFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.EventID == eventID {
			return d
		}
	}
	t.Fatalf("no delivery of %s", eventID)
	return store.Delivery{}
}

func logStatuses(d store.Delivery) []int {
	var out []int
	for _, a := range d.Log {
		out = append(out, a.Status)
	}
	return out
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metric
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}
