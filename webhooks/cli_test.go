package webhooks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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

// Every series of a configured endpoint is on /metrics at 0 before the
// first delivery, so rate() and absent-free alerts work from the start.
func TestMetricsPresentFromStart(t *testing.T) {
	e := newEnv(t, hook(t, "crm", "http://127.0.0.1:9/"))
	e.dispatcher(t)
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			got[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	for _, want := range []string{
		"touchbase_webhook_deliveries_total{endpoint=crm,outcome=delivered}",
		"touchbase_webhook_deliveries_total{endpoint=crm,outcome=retry}",
		"touchbase_webhook_deliveries_total{endpoint=crm,outcome=failed}",
		"touchbase_webhook_deliveries_total{endpoint=crm,outcome=gone}",
		"touchbase_webhook_queue_depth{endpoint=crm,state=pending}",
		"touchbase_webhook_queue_depth{endpoint=crm,state=failed}",
		"touchbase_webhook_delivery_latency_seconds{endpoint=crm}",
		"touchbase_webhook_attempt_duration_seconds{endpoint=crm}",
	} {
		if v, ok := got[want]; !ok || v != 0 {
			t.Errorf("%s: present %v, value %v; want present at 0", want, ok, v)
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
			p, err := d.Test(t.Context(), "crm")
			if p.Status != tc.status || (err != nil) != tc.wantErr {
				t.Fatalf("Test = %d, %v; want %d, error %v", p.Status, err, tc.status, tc.wantErr)
			}
			reqs := rc.requests()
			var body struct {
				Type string   `json:"type"`
				Data TestData `json:"data"`
			}
			if len(reqs) != 1 || json.Unmarshal(reqs[0].Body, &body) != nil || body.Type != WebhookTest || body.Data.Endpoint != "crm" {
				t.Fatalf("receiver got %d requests, body %+v; want one webhook.test for crm", len(reqs), body)
			}
			if id := reqs[0].Header.Get(headerID); id == "" || p.EventID != id {
				t.Errorf("Test's webhook-id %q, the receiver got %q; want the same", p.EventID, id)
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

// TestListAndDeliveries: the rows `webhooks list` and `deliveries` print,
// each endpoint's health and each delivery's state, and no URL token.
func TestListAndDeliveries(t *testing.T) {
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
	var got []string
	for _, ep := range eps {
		got = append(got, fmt.Sprintf("%s %s %s %d %s", ep.Name, ep.Health, ep.Host, ep.Pending, ep.DisabledReason))
	}
	want := []string{"crm ok " + rc.URL + " 0 ", "down failing http://127.0.0.1:9 1 ",
		"team disabled https://hooks.slack.example 1 answered 410 Gone (url #75f2fe90fc7c)"}
	if !slices.Equal(got, want) {
		t.Errorf("endpoints:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ds, err := d.Deliveries(t.Context(), store.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, dl := range ds {
		got = append(got, fmt.Sprintf("%d %s %s %d", dl.ID, dl.Endpoint, dl.State, dl.Attempts))
	}
	want = []string{"3 team pending 0", "2 down pending 1", "1 crm delivered 1"}
	if !slices.Equal(got, want) {
		t.Errorf("deliveries: %q, want %q", got, want)
	}
	out, err := json.Marshal(eps)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "secret") {
		t.Errorf("the slack URL's token leaked into the listing: %s", out)
	}
}
