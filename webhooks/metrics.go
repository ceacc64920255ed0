package webhooks

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of an attempt, the "outcome" label of deliveries_total.
const (
	outcomeDelivered = "delivered" // 2xx
	outcomeRetry     = "retry"     // failed, another attempt is scheduled
	outcomeFailed    = "failed"    // failed, retries exhausted
	outcomeGone      = "gone"      // 410: the endpoint was disabled
)

type metrics struct {
	attempts *prometheus.CounterVec   // by endpoint, outcome
	depth    *prometheus.GaugeVec     // by endpoint, state (pending, failed)
	latency  *prometheus.HistogramVec // event created → delivered, by endpoint
	duration *prometheus.HistogramVec // one HTTP attempt, by endpoint

	mu   sync.Mutex
	seen map[[2]string]bool // depth series set so far, to zero them when empty
}

// newMetrics creates the collectors and registers them with reg (nil: not
// registered, for CLI use). A Dispatcher built on reload registers the same
// names again: the collectors already registered are reused.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchbase_webhook_deliveries_total",
			Help: "Webhook delivery attempts by endpoint and outcome (delivered, retry, failed, gone).",
		}, []string{"endpoint", "outcome"}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "touchbase_webhook_queue_depth",
			Help: "Webhook deliveries waiting (pending) or given up (failed), by endpoint.",
		}, []string{"endpoint", "state"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "touchbase_webhook_delivery_latency_seconds",
			Help:    "Time from an event's creation to its successful delivery, by endpoint.",
			Buckets: prometheus.ExponentialBucketsRange(0.005, 2*86400, 20),
		}, []string{"endpoint"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "touchbase_webhook_attempt_duration_seconds",
			Help:    "Duration of one webhook HTTP attempt, by endpoint.",
			Buckets: prometheus.ExponentialBucketsRange(0.001, 10, 14),
		}, []string{"endpoint"}),
		seen: map[[2]string]bool{},
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.attempts, err = register(reg, m.attempts); err != nil {
		return nil, err
	}
	if m.depth, err = register(reg, m.depth); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the equal collector registered before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// setDepth publishes the queue depth; series of endpoints that no longer
// have pending or failed deliveries drop to 0.
func (m *metrics) setDepth(counts map[string][2]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.seen {
		m.depth.WithLabelValues(k[0], k[1]).Set(0)
	}
	for ep, c := range counts {
		for i, state := range []string{"pending", "failed"} {
			m.depth.WithLabelValues(ep, state).Set(float64(c[i]))
			m.seen[[2]string{ep, state}] = true
		}
	}
}

// present creates every series of the endpoints at 0, so that a scrape
// shows them before the first delivery and rate() and alerts on them work
// from the start.
func (m *metrics) present(endpoints []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ep := range endpoints {
		for _, o := range []string{outcomeDelivered, outcomeRetry, outcomeFailed, outcomeGone} {
			m.attempts.WithLabelValues(ep, o)
		}
		for _, state := range []string{"pending", "failed"} {
			m.depth.WithLabelValues(ep, state)
			m.seen[[2]string{ep, state}] = true
		}
		m.latency.WithLabelValues(ep)
		m.duration.WithLabelValues(ep)
	}
}
