package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// Endpoint health values.
const (
	HealthOK           = "ok"           // the last attempt got a 2xx
	HealthFailing      = "failing"      // the last attempt did not
	HealthIdle         = "idle"         // never attempted
	HealthDisabled     = "disabled"     // answered 410 Gone
	HealthUnconfigured = "unconfigured" // deliveries for a name no longer in the config
)

// Endpoint is one row of `touchbase webhooks list`.
type Endpoint struct {
	Name            string    `json:"name"`
	Host            string    `json:"host,omitempty"` // scheme://host only: the URL may hold a token
	Format          string    `json:"format,omitempty"`
	Events          []string  `json:"events"` // empty: every event type
	Configured      bool      `json:"configured"`
	Health          string    `json:"health"`
	DisabledAt      time.Time `json:"disabled_at,omitzero"`
	DisabledReason  string    `json:"disabled_reason,omitempty"`
	Pending         int       `json:"pending"`
	Failed          int       `json:"failed"`
	LastDeliveredAt time.Time `json:"last_delivered_at,omitzero"`
	LastAttemptAt   time.Time `json:"last_attempt_at,omitzero"`
	LastStatus      int       `json:"last_status,omitempty"`
	LastError       string    `json:"last_error,omitempty"`
}

// List returns the configured endpoints, in config order, then any
// endpoint that only has deliveries left over from an earlier config.
func (d *Dispatcher) List(ctx context.Context) ([]Endpoint, error) {
	sum, err := d.st.EndpointSummary(ctx)
	if err != nil {
		return nil, err
	}
	disabled, err := d.st.DisabledEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	row := func(name string) Endpoint {
		c := sum[name]
		e := Endpoint{Name: name, Events: []string{}, Pending: c.Pending, Failed: c.Failed, LastDeliveredAt: c.LastDeliveredAt,
			LastAttemptAt: c.LastAttemptAt, LastStatus: c.LastStatus, LastError: c.LastError}
		switch {
		case c.LastAttemptAt.IsZero():
			e.Health = HealthIdle
		case c.LastStatus >= 200 && c.LastStatus < 300:
			e.Health = HealthOK
		default:
			e.Health = HealthFailing
		}
		if dis, ok := disabled[name]; ok {
			e.Health, e.DisabledAt, e.DisabledReason = HealthDisabled, dis.At, dis.Reason
		}
		return e
	}
	var out []Endpoint
	for _, name := range d.names {
		h := d.hooks[name]
		e := row(name)
		e.Configured, e.Host, e.Format = true, h.host, cmpOr(h.Format, config.FormatStandard)
		e.Events = append(e.Events, h.Events...)
		out = append(out, e)
	}
	var others []string
	for name := range sum {
		if _, ok := d.hooks[name]; !ok {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	for _, name := range others {
		e := row(name)
		e.Health = HealthUnconfigured
		out = append(out, e)
	}
	return out, nil
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Deliveries returns recent deliveries (newest first) with their attempt
// logs; see store.DeliveryFilter.
func (d *Dispatcher) Deliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error) {
	return d.st.Deliveries(ctx, f)
}

// Redeliver replays delivery id with the same webhook-id: it is pending and
// due now, with a fresh retry round; its attempt log is kept. A delivery to
// a disabled endpoint waits until the endpoint is re-enabled (a successful
// Test, or a new URL). Unknown ids give an error wrapping store.ErrNoDelivery.
func (d *Dispatcher) Redeliver(ctx context.Context, id int64) (store.Delivery, error) {
	if err := d.st.Redeliver(ctx, id, d.now()); err != nil {
		return store.Delivery{}, err
	}
	ds, err := d.st.Deliveries(ctx, store.DeliveryFilter{ID: id})
	if err != nil || len(ds) == 0 {
		return store.Delivery{}, fmt.Errorf("redeliver %d: %w", id, errors.Join(err, store.ErrNoDelivery))
	}
	return ds[0], nil
}

// Test sends a new webhook.test event to the endpoint name at once — even
// when it is disabled — and returns the receiver's answer (Probe). The test
// delivery is logged like any other but gets one attempt: if it is not
// delivered it is marked failed (replayable), not retried. A 2xx re-enables
// a disabled endpoint; a non-2xx answer returns the probe and an error.
func (d *Dispatcher) Test(ctx context.Context, name string) (Probe, error) {
	run, ev, now, err := d.testTarget(ctx, name)
	if err != nil {
		return Probe{}, err
	}
	e := run.endpoint
	c, err := d.st.EnqueueClaimed(ctx, ev, name, d.owner, now, d.lease)
	if err != nil {
		return Probe{}, fmt.Errorf("test webhook %s: %w", name, err)
	}
	start := time.Now()
	o := d.send(ctx, run, c, now)
	p := Probe{Status: o.status, Latency: time.Since(start), EventID: ev.ID}
	res := store.AttemptResult{DeliveryID: c.ID, At: now, Duration: p.Latency, Status: o.status,
		Error: o.errText, State: store.DeliveryFailed}
	ok := o.status >= 200 && o.status < 300
	if ok {
		res.State = store.DeliveryDelivered
	}
	rctx := context.WithoutCancel(ctx)
	if err := d.st.RecordAttempts(rctx, d.owner, res); err != nil {
		return p, fmt.Errorf("test webhook %s: %w", name, err)
	}
	d.observe(run, c, 1, res, o)
	switch {
	case ok:
		if err := d.st.EnableEndpoint(rctx, name); err != nil {
			return p, fmt.Errorf("test webhook %s: %w", name, err)
		}
		return p, nil
	case o.status == http.StatusGone:
		err = d.st.DisableEndpoint(rctx, name, now, goneReason(e))
		return p, errors.Join(fmt.Errorf("test webhook %s: endpoint answered 410 Gone; disabled", name), err)
	case o.status == 0:
		return p, fmt.Errorf("test webhook %s: %s", name, o.errText)
	}
	d.log.Info("webhook test not accepted", zap.String("endpoint", name), zap.Int("status", o.status))
	return p, fmt.Errorf("test webhook %s: %s", name, o.errText)
}

// Probe is a test event's answer: the receiver's HTTP status (0 when none
// came), how long the attempt took and the event's webhook-id.
type Probe struct {
	Status  int
	Latency time.Duration
	EventID string
}

// SendTest sends a new webhook.test event to the endpoint name, signed as
// any delivery, and returns the answer — without the store: nothing is
// logged, retried, or re-enabled. It is how `webhooks test` checks a
// receiver before any store exists (a Dispatcher built with a nil store
// serves it). A non-2xx answer or no answer returns an error too.
func (d *Dispatcher) SendTest(ctx context.Context, name string) (Probe, error) {
	run, ev, now, err := d.testTarget(ctx, name)
	if err != nil {
		return Probe{}, err
	}
	start := time.Now()
	o := d.send(ctx, run, store.Claimed{Endpoint: name, Event: ev}, now)
	p := Probe{Status: o.status, Latency: time.Since(start), EventID: ev.ID}
	if o.status < 200 || o.status >= 300 {
		return p, fmt.Errorf("test webhook %s: %s", name, o.errText)
	}
	return p, nil
}

// testTarget prepares a test of the endpoint name: its run (with the
// signing keys read now) and a new webhook.test event, as of now.
func (d *Dispatcher) testTarget(ctx context.Context, name string) (*endpointRun, store.Event, time.Time, error) {
	e, ok := d.hooks[name]
	if !ok {
		return nil, store.Event{}, time.Time{}, fmt.Errorf("test webhook %s: no webhook of that name in the config", name)
	}
	keys, err := e.keys(ctx, d.log)
	if err != nil {
		return nil, store.Event{}, time.Time{}, fmt.Errorf("test webhook %s: %w", name, err)
	}
	now := d.now()
	ev, err := testEvent(name, now)
	if err != nil {
		return nil, store.Event{}, time.Time{}, fmt.Errorf("test webhook %s: %w", name, err)
	}
	return &endpointRun{endpoint: e, signer: keys}, ev, now, nil
}
