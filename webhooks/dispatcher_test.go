package webhooks

import (
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// step moves the clock by advance, runs a pass, and expects the receiver
// to have seen requests requests in all.
type step struct {
	advance  time.Duration
	requests int
}

func TestDeliveryScenarios(t *testing.T) {
	retryAfter := func(first int, value string) func(int, http.ResponseWriter, *http.Request) {
		return func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 0 {
				w.Header().Set("Retry-After", value)
				w.WriteHeader(first)
				return
			}
			w.WriteHeader(http.StatusOK)
		}
	}
	tests := []struct {
		name         string
		respond      func(int, http.ResponseWriter, *http.Request)
		opts         []Option
		steps        []step
		wantState    string
		wantStatuses []int
		wantErr      string // in the first attempt's error
	}{
		{name: "success", respond: statuses(200), steps: []step{{0, 1}, {time.Hour, 1}},
			wantState: store.DeliveryDelivered, wantStatuses: []int{200}},
		{name: "500 then success", respond: statuses(500, 204), steps: []step{{0, 1}, {4 * time.Second, 1}, {time.Second, 2}},
			wantState: store.DeliveryDelivered, wantStatuses: []int{500, 204}, wantErr: "HTTP 500 Internal Server Error"},
		{
			name: "timeout, then success",
			respond: func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					select { // hold the request until the client gives up
					case <-r.Context().Done():
					case <-time.After(10 * time.Second):
					}
					return
				}
				w.WriteHeader(200)
			},
			opts:      []Option{WithTimeout(300 * time.Millisecond)},
			steps:     []step{{0, 1}, {5 * time.Second, 2}},
			wantState: store.DeliveryDelivered, wantStatuses: []int{0, 200}, wantErr: "timeout after 300ms",
		},
		{name: "Retry-After seconds beyond the schedule", respond: retryAfter(503, "120"),
			steps:     []step{{0, 1}, {5 * time.Second, 1}, {114 * time.Second, 1}, {time.Second, 2}},
			wantState: store.DeliveryDelivered, wantStatuses: []int{503, 200}},
		{name: "Retry-After HTTP date", respond: retryAfter(429, t0.Add(time.Hour).Format(http.TimeFormat)),
			steps:     []step{{0, 1}, {59 * time.Minute, 1}, {time.Minute, 2}},
			wantState: store.DeliveryDelivered, wantStatuses: []int{429, 200}},
		{name: "Retry-After clamped to 10h", respond: retryAfter(503, "9999999"),
			steps:     []step{{0, 1}, {10*time.Hour - time.Second, 1}, {time.Second, 2}},
			wantState: store.DeliveryDelivered, wantStatuses: []int{503, 200}},
		{name: "Retry-After shorter than the schedule", respond: retryAfter(500, "1"),
			steps:     []step{{0, 1}, {2 * time.Second, 1}, {3 * time.Second, 2}},
			wantState: store.DeliveryDelivered, wantStatuses: []int{500, 200}},
		{name: "4xx fails after 3 attempts", respond: statuses(400),
			steps:     []step{{0, 1}, {5 * time.Second, 2}, {5 * time.Minute, 3}, {1000 * time.Hour, 3}},
			wantState: store.DeliveryFailed, wantStatuses: []int{400, 400, 400}, wantErr: "HTTP 400 Bad Request"},
		{name: "redirect is not followed, it is a rejection", respond: func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, steps: []step{{0, 1}}, wantState: store.DeliveryPending, wantStatuses: []int{302}, wantErr: "HTTP 302 Found"},
		{name: "5xx exhausts the schedule", respond: statuses(500), steps: []step{{0, 1}, {5 * time.Second, 2},
			{5 * time.Minute, 3}, {30 * time.Minute, 4}, {2 * time.Hour, 5}, {5 * time.Hour, 6}, {10 * time.Hour, 7},
			{10 * time.Hour, 8}, {100 * time.Hour, 8}},
			wantState: store.DeliveryFailed, wantStatuses: []int{500, 500, 500, 500, 500, 500, 500, 500}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, tc.respond)
			e := newEnv(t, hook(t, "crm", rc.URL+"/hook"))
			d := e.dispatcher(t, tc.opts...)
			ev := slipped(t, "acme", 0)
			e.enqueue(t, ev)
			for i, s := range tc.steps {
				e.clock.Advance(s.advance)
				e.pass(t, d)
				if got := len(rc.requests()); got != s.requests {
					t.Fatalf("step %d (+%s): receiver saw %d requests, want %d", i, s.advance, got, s.requests)
				}
			}
			got := e.delivery(t, ev.ID)
			if got.State != tc.wantState || !slices.Equal(logStatuses(got), tc.wantStatuses) {
				t.Errorf("delivery %s with statuses %v; want %s with %v", got.State, logStatuses(got), tc.wantState, tc.wantStatuses)
			}
			if tc.wantErr != "" && !strings.Contains(got.Log[0].Error, tc.wantErr) {
				t.Errorf("first attempt's error %q; want it to contain %q", got.Log[0].Error, tc.wantErr)
			}
			for _, r := range rc.requests() {
				if r.ID() != ev.ID {
					t.Errorf("webhook-id %q; want the event ID %q on every attempt", r.ID(), ev.ID)
				}
			}
		})
	}
}

func TestGoneDisablesEndpoint(t *testing.T) {
	gone := atomic.Bool{}
	gone.Store(true)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if gone.Load() {
			w.WriteHeader(http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	e := newEnv(t, hook(t, "crm", rc.URL))
	d := e.dispatcher(t, WithConcurrency(1))
	a, b := slipped(t, "acme", 0), slipped(t, "globex", time.Second)
	e.enqueue(t, a, b)
	e.pass(t, d)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("receiver saw %d requests after a 410; want 1 (nothing more sent)", n)
	}
	e.clock.Advance(time.Hour)
	e.pass(t, d)
	eps, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rc.requests()); n != 1 || eps[0].Health != HealthDisabled || eps[0].Pending != 2 {
		t.Fatalf("after an hour: %d requests, endpoint %+v; want still 1 request, disabled, 2 pending", n, eps[0])
	}
	if e.logs.FilterMessageSnippet("410 Gone").Len() == 0 {
		t.Error("no error logged for the 410")
	}
	gone.Store(false)
	p, err := d.Test(t.Context(), "crm")
	if err != nil || p.Status != 200 {
		t.Fatalf("Test = %d, %v; want 200", p.Status, err)
	}
	e.pass(t, d)
	for _, ev := range []store.Event{a, b} {
		if got := e.delivery(t, ev.ID); got.State != store.DeliveryDelivered {
			t.Errorf("%s after re-enable: %s; want delivered", ev.ID, got.State)
		}
	}
}

func TestChangedURLReenablesEndpoint(t *testing.T) {
	rc := newReceiver(t, statuses(200))
	e := newEnv(t, hook(t, "crm", rc.URL+"/old"))
	ev := slipped(t, "acme", 0)
	e.enqueue(t, ev)
	if err := e.st.DisableEndpoint(t.Context(), "crm", t0, goneReason(e.dispatcher(t).hooks["crm"])); err != nil {
		t.Fatal(err)
	}
	e.pass(t, e.dispatcher(t))
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("disabled endpoint with the same url got %d requests", n)
	}
	e.hooks[0].URL = rc.URL + "/new"
	e.pass(t, e.dispatcher(t))
	if got := e.delivery(t, ev.ID); got.State != store.DeliveryDelivered {
		t.Fatalf("after the url changed: %s; want delivered", got.State)
	}
}

func TestConnectionRefusedThenUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: connection refused
	e := newEnv(t, hook(t, "crm", "http://"+addr+"/hook"))
	d := e.dispatcher(t)
	ev := slipped(t, "acme", 0)
	e.enqueue(t, ev)
	e.pass(t, d)
	e.clock.Advance(5 * time.Second)
	e.pass(t, d)
	got := e.delivery(t, ev.ID)
	if got.State != store.DeliveryPending || !slices.Equal(logStatuses(got), []int{0, 0}) ||
		!strings.Contains(got.LastError, "connection refused") {
		t.Fatalf("while down: %+v; want pending after two refused attempts", got)
	}
	if !got.NextAttemptAt.Equal(e.clock.Now().Add(5 * time.Minute)) {
		t.Errorf("next attempt %s; want +5m", got.NextAttemptAt)
	}
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	rc := &receiver{}
	rc.Server = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	rc.Listener.Close()
	rc.Listener = l
	rc.Start()
	t.Cleanup(rc.Close)
	e.clock.Advance(5 * time.Minute)
	e.pass(t, d)
	if got := e.delivery(t, ev.ID); got.State != store.DeliveryDelivered || len(rc.requests()) != 1 || rc.requests()[0].ID() != ev.ID {
		t.Fatalf("once up: %s, %d requests; want delivered with the same id", got.State, len(rc.requests()))
	}
}

func TestRestartMidRetry(t *testing.T) {
	rc := newReceiver(t, statuses(500, 200))
	dir := t.TempDir()
	h := hook(t, "crm", rc.URL)
	c := newClock(t0)
	ev := slipped(t, "acme", 0)
	{
		st, err := store.Open(t.Context(), dir)
		if err != nil {
			t.Fatal(err)
		}
		d, err := New([]config.Webhook{h}, st, zap.NewNop(), nil, WithClock(c.Now))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Enqueue(t.Context(), []store.Event{ev}, Routes([]config.Webhook{h})); err != nil {
			t.Fatal(err)
		}
		if err := d.DeliverDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		st.Close() // the daemon stops mid-retry
	}
	st := openStore(t, dir)
	d, err := New([]config.Webhook{h}, st, zap.NewNop(), nil, WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(7 * time.Second) // past the 5s ±20% retry
	if err := d.DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	ds, _ := st.Deliveries(t.Context(), store.DeliveryFilter{})
	if len(reqs) != 2 || reqs[0].ID() != reqs[1].ID() || len(ds) != 1 || ds[0].State != store.DeliveryDelivered ||
		!slices.Equal(logStatuses(ds[0]), []int{500, 200}) {
		t.Fatalf("after restart: %d requests, deliveries %+v; want the retry delivered with the same id", len(reqs), ds)
	}
}

func TestInOrderPerCustomer(t *testing.T) {
	var failFirst atomic.Bool
	failFirst.Store(true)
	var firstID atomic.Value
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(headerID) == firstID.Load() && failFirst.CompareAndSwap(true, false) {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(200)
	})
	e := newEnv(t, hook(t, "crm", rc.URL))
	d := e.dispatcher(t)
	var acme []string
	for i := range 3 {
		ev := slipped(t, "acme", time.Duration(i)*time.Second)
		acme = append(acme, ev.ID)
		e.enqueue(t, ev)
		if i == 0 {
			firstID.Store(ev.ID)
		}
	}
	other := slipped(t, "globex", 10*time.Second)
	e.enqueue(t, other)
	e.clock.Advance(10 * time.Second) // all four are due
	e.pass(t, d)                      // acme's first fails: its later events wait; globex's goes
	if got := idsOf(rc.requests()); !slices.Equal(got, []string{acme[0], other.ID}) && !slices.Equal(got, []string{other.ID, acme[0]}) {
		t.Fatalf("first pass sent %v; want acme's first (failed) and globex's only", got)
	}
	e.clock.Advance(5 * time.Second)
	e.pass(t, d)
	got := idsOf(rc.requests())
	if len(got) != 5 || !slices.Equal(got[2:], acme) {
		t.Fatalf("second pass sent %v; want acme's three events in order", got[2:])
	}
}

func idsOf(reqs []request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.ID())
	}
	return out
}

func TestConcurrencyCapPerEndpoint(t *testing.T) {
	var inFlight, peak atomic.Int32
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond) // let others pile up if the cap leaks
		inFlight.Add(-1)
		w.WriteHeader(200)
	})
	e := newEnv(t, hook(t, "crm", rc.URL))
	d := e.dispatcher(t, WithConcurrency(3))
	for i := range 30 {
		e.enqueue(t, slipped(t, "customer"+string(rune('a'+i)), 0))
	}
	e.pass(t, d)
	if n, p := len(rc.requests()), peak.Load(); n != 30 || p > 3 {
		t.Fatalf("%d requests, at most %d in flight; want 30 with at most 3", n, p)
	}
}

func TestRemovedEndpointKeepsItsDeliveries(t *testing.T) {
	rc := newReceiver(t, statuses(200))
	e := newEnv(t, hook(t, "old", rc.URL), hook(t, "new", rc.URL))
	ev := slipped(t, "acme", 0)
	e.enqueue(t, ev)
	e.hooks = e.hooks[1:] // reload without "old"
	d := e.dispatcher(t)
	e.pass(t, d)
	eps, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 2 || eps[1].Name != "old" || eps[1].Health != HealthUnconfigured || eps[1].Pending != 1 ||
		eps[0].Health != HealthOK || len(rc.requests()) != 1 {
		t.Fatalf("endpoints %+v, %d requests; want new delivered, old pending and listed as unconfigured", eps, len(rc.requests()))
	}
}

func TestRedeliverReplaysWithSameID(t *testing.T) {
	rc := newReceiver(t, statuses(422, 422, 422, 200))
	e := newEnv(t, hook(t, "crm", rc.URL))
	d := e.dispatcher(t)
	ev := slipped(t, "acme", 0)
	e.enqueue(t, ev)
	for _, adv := range []time.Duration{0, 5 * time.Second, 5 * time.Minute} {
		e.clock.Advance(adv)
		e.pass(t, d)
	}
	failed := e.delivery(t, ev.ID)
	if failed.State != store.DeliveryFailed {
		t.Fatalf("after three 422: %s; want failed", failed.State)
	}
	if _, err := d.Redeliver(t.Context(), failed.ID); err != nil {
		t.Fatal(err)
	}
	e.pass(t, d)
	got := e.delivery(t, ev.ID)
	reqs := rc.requests()
	if got.State != store.DeliveryDelivered || got.Attempts != 4 || reqs[3].ID() != ev.ID {
		t.Fatalf("after redeliver: %+v; want delivered on the 4th attempt with the same id", got)
	}
}

func TestSignatureVerifiesWithReferenceLibrary(t *testing.T) {
	rc := newReceiver(t, statuses(200))
	oldSec, oldVal := newSecret(t)
	newSec, newVal := newSecret(t)
	_, otherVal := newSecret(t)
	for _, format := range []string{config.FormatStandard, config.FormatSlack} {
		t.Run(format, func(t *testing.T) {
			h := config.Webhook{Name: "crm", URL: rc.URL, Secrets: []config.Secret{oldSec, newSec}, Format: format}
			e := newEnv(t, h)
			d := e.dispatcher(t, WithClock(time.Now)) // real time: the verifier checks the timestamp
			ev := slipped(t, "acme", 0)
			e.enqueue(t, ev)
			e.pass(t, d)
			reqs := rc.requests()
			r := reqs[len(reqs)-1]
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if n := len(strings.Fields(r.Header.Get(headerSignature))); n != 2 {
				t.Errorf("%d signatures during rotation; want 2", n)
			}
			for name, secret := range map[string]string{"old": oldVal, "new": newVal} {
				wh, err := standardwebhooks.NewWebhook(secret)
				if err != nil {
					t.Fatal(err)
				}
				if err := wh.Verify(r.Body, r.Header); err != nil {
					t.Errorf("%s secret: %v", name, err)
				}
			}
			wh, _ := standardwebhooks.NewWebhook(otherVal)
			if err := wh.Verify(r.Body, r.Header); err == nil {
				t.Error("an unrelated secret verified the message")
			}
			tampered := append([]byte(nil), r.Body...)
			tampered[len(tampered)-2] ^= 1
			wh, _ = standardwebhooks.NewWebhook(newVal)
			if err := wh.Verify(tampered, r.Header); err == nil {
				t.Error("a tampered body verified")
			}
		})
	}
}

// TestNoAttemptOutlivesTheLease: a slow receiver eats the claim's lease;
// the rest of the group is released, not sent under an expiring lease, and
// goes out in the next pass.
func TestNoAttemptOutlivesTheLease(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			e.clock.Advance(25 * time.Second) // lease 30s, timeout 10s: no time left for another attempt
		}
		w.WriteHeader(200)
	})
	e.hooks = []config.Webhook{hook(t, "crm", rc.URL)}
	d := e.dispatcher(t)
	for i := range 3 {
		e.enqueue(t, slipped(t, "acme", time.Duration(i)*time.Millisecond))
	}
	e.clock.Advance(time.Second)
	e.pass(t, d)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("first pass sent %d; want 1 (the others would outlive the lease)", n)
	}
	e.pass(t, d) // same time: only a release makes them due before the lease ends
	if n := len(rc.requests()); n != 3 {
		t.Fatalf("second pass: %d requests in all; want 3", n)
	}
}

// TestRecorderGroupCommit records many results concurrently: each caller
// returns only once its own result is committed.
func TestRecorderGroupCommit(t *testing.T) {
	e := newEnv(t, hook(t, "crm", "http://127.0.0.1:9"))
	var evs []store.Event
	for i := range 40 {
		evs = append(evs, slipped(t, "c"+strconv.Itoa(i), 0))
	}
	e.enqueue(t, evs...)
	claimed, err := e.st.ClaimDue(t.Context(), t0, "test", []string{"crm"}, time.Minute, 100)
	if err != nil || len(claimed) != len(evs) {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	rec := &recorder{st: e.st, owner: "test"}
	var wg sync.WaitGroup
	for _, c := range claimed {
		wg.Go(func() {
			err := rec.record(t.Context(), store.AttemptResult{DeliveryID: c.ID, At: t0, Status: 200, State: store.DeliveryDelivered})
			if err != nil {
				t.Error(err)
				return
			}
			ds, err := e.st.Deliveries(t.Context(), store.DeliveryFilter{ID: c.ID})
			if err != nil || len(ds) != 1 || ds[0].State != store.DeliveryDelivered {
				t.Errorf("delivery %d not committed when record returned: %+v, %v", c.ID, ds, err)
			}
		})
	}
	wg.Wait()
}
