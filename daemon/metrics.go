package daemon

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// metrics are the daemon's Prometheus metrics, registered once per Daemon
// (they outlive reloads).
type metrics struct {
	syncs        *prometheus.CounterVec
	syncFailures *prometheus.CounterVec
	lastSuccess  *prometheus.GaugeVec
	evalDuration prometheus.Histogram
	evalFailures prometheus.Counter
	reloadOK     prometheus.Gauge
	reloadTime   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, version string, st Store, log *zap.Logger) (*metrics, error) {
	m := &metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchbase_source_syncs_total", Help: "Sync passes attempted, by source.",
		}, []string{"source"}),
		syncFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchbase_source_sync_failures_total", Help: "Sync passes that failed, by source.",
		}, []string{"source"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "touchbase_source_last_success_timestamp_seconds", Help: "Start of the last successful sync pass, by source.",
		}, []string{"source"}),
		evalDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "touchbase_evaluation_duration_seconds", Help: "Time to evaluate every commitment.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8), // 5 ms … 82 s
		}),
		evalFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchbase_evaluation_failures_total", Help: "Evaluations that returned an error.",
		}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "touchbase_config_last_reload_successful", Help: "Whether the last configuration reload succeeded.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "touchbase_config_last_reload_success_timestamp_seconds", Help: "When the configuration was last loaded.",
		}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "touchbase_build_info", Help: "Always 1, labelled with the build's version.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	m.reloadOK.Set(1)
	m.reloadTime.SetToCurrentTime()
	for _, c := range []prometheus.Collector{
		m.syncs, m.syncFailures, m.lastSuccess, m.evalDuration, m.evalFailures,
		m.reloadOK, m.reloadTime, buildInfo, newOutboxCollector(st, log),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// outboxCollector reads the outbox depth from the store at scrape time, so
// it is right whichever component changed the deliveries.
type outboxCollector struct {
	st   Store
	log  *zap.Logger
	desc *prometheus.Desc
}

func newOutboxCollector(st Store, log *zap.Logger) *outboxCollector {
	return &outboxCollector{st: st, log: log, desc: prometheus.NewDesc("touchbase_outbox_deliveries",
		"Webhook deliveries waiting (pending) or given up (failed).", []string{"state"}, nil)}
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pending, failed, err := c.st.OutboxDepth(ctx)
	if err != nil {
		c.log.Warn("metrics: outbox depth", zap.Error(err))
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(pending), "pending")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(failed), "failed")
}
