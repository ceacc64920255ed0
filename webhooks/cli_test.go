package webhooks

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

func TestMetrics(t *testing.T) {
	bad := slipped(t, "bad", 0)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(headerID) == bad.ID {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(200)
	})
	e := newEnv(t, hook(t, "crm", rc.URL))
	d := e.dispatcher(t)
	e.enqueue(t, slipped(t, "good", 0), bad)
	e.pass(t, d)
	if _, err := New(e.hooks, e.st, nil, e.reg); err != nil {
		t.Fatalf("a second Dispatcher on the same registry (reload): %v", err)
	}
	checks := []struct {
		metric string
		labels map[string]string
		want   float64
	}{
		{"touchbase_webhook_deliveries_total", map[string]string{"endpoint": "crm", "outcome": "delivered"}, 1},
		{"touchbase_webhook_deliveries_total", map[string]string{"endpoint": "crm", "outcome": "retry"}, 1},
		{"touchbase_webhook_queue_depth", map[string]string{"endpoint": "crm", "state": "pending"}, 1},
		{"touchbase_webhook_queue_depth", map[string]string{"endpoint": "crm", "state": "failed"}, 0},
		{"touchbase_webhook_delivery_latency_seconds", map[string]string{"endpoint": "crm"}, 1},
		{"touchbase_webhook_attempt_duration_seconds", map[string]string{"endpoint": "crm"}, 2},
	}
	for _, c := range checks {
		if got := counterValue(t, e.reg, c.metric, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.metric, c.labels, got, c.want)
		}
	}
}

func TestTest(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		wantErr    bool
		wantState  string
		wantHealth string
	}{
		{"accepted", 200, false, store.DeliveryDelivered, HealthOK},
		{"server error is not retried", 500, true, store.DeliveryFailed, HealthFailing},
		{"gone disables", 410, true, store.DeliveryFailed, HealthDisabled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, statuses(tc.status))
			e := newEnv(t, hook(t, "crm", rc.URL))
			d := e.dispatcher(t)
			status, err := d.Test(t.Context(), "crm")
			if status != tc.status || (err != nil) != tc.wantErr {
				t.Fatalf("Test = %d, %v; want %d, error %v", status, err, tc.status, tc.wantErr)
			}
			reqs := rc.requests()
			var body struct {
				Type string   `json:"type"`
				Data TestData `json:"data"`
			}
			if len(reqs) != 1 || json.Unmarshal(reqs[0].Body, &body) != nil || body.Type != WebhookTest || body.Data.Endpoint != "crm" {
				t.Fatalf("receiver got %d requests, body %+v; want one webhook.test for crm", len(reqs), body)
			}
			e.clock.Advance(time.Hour)
			e.pass(t, d) // a failed test is not retried
			ds, _ := d.Deliveries(t.Context(), store.DeliveryFilter{})
			eps, _ := d.List(t.Context())
			if len(rc.requests()) != 1 || len(ds) != 1 || ds[0].State != tc.wantState || eps[0].Health != tc.wantHealth {
				t.Fatalf("after an hour: %d requests, %+v, health %s; want 1, %s, %s",
					len(rc.requests()), ds, eps[0].Health, tc.wantState, tc.wantHealth)
			}
		})
	}
	e := newEnv(t)
	if _, err := e.dispatcher(t).Test(t.Context(), "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Test of an unknown webhook: %v; want an error naming it", err)
	}
}

// TestTables renders the CLI tables of a small history against golden files.
func TestTables(t *testing.T) {
	rc := newReceiver(t, statuses(200))
	slack := hook(t, "team", "https://hooks.slack.example/services/T0/B0/secret")
	slack.Format, slack.Events = config.FormatSlack, []string{CommitmentSlipped}
	down := hook(t, "down", "http://127.0.0.1:9/hook") // nothing listens: a stable error
	e := newEnv(t, hook(t, "crm", rc.URL), down, slack)
	d := e.dispatcher(t)
	e.enqueue(t, slipped(t, "acme", 0))
	if err := e.st.DisableEndpoint(t.Context(), "team", t0, goneReason(d.hooks["team"])); err != nil {
		t.Fatal(err)
	}
	e.pass(t, d)
	e.clock.Advance(time.Minute)
	eps, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ds, err := d.Deliveries(t.Context(), store.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteEndpoints(&b, eps); err != nil {
		t.Fatal(err)
	}
	golden(t, "endpoints.golden", strings.ReplaceAll(b.String(), rc.URL, "http://RECEIVER"))
	b.Reset()
	if err := WriteDeliveries(&b, ds, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	golden(t, "deliveries.golden", b.String())
	out, err := json.Marshal(eps)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "secret") || strings.Contains(b.String(), "secret") {
		t.Errorf("the slack URL's token leaked into the listing: %s", out)
	}
}
