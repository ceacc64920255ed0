package daemon

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
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
	leasesHeld   *prometheus.GaugeVec
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
		leasesHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "touchbase_leases_held",
			Help: "Leases this daemon holds (cluster.enabled), by kind: source, evaluation, member (its own registration).",
		}, []string{"kind"}),
	}
	for _, k := range []string{kindSource, kindEvaluation, kindMember} {
		m.leasesHeld.WithLabelValues(k) // present at 0 from the start
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "touchbase_build_info", Help: "Always 1, labelled with the build's version.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	m.reloadOK.Set(1)
	m.reloadTime.SetToCurrentTime()
	for _, c := range []prometheus.Collector{
		m.syncs, m.syncFailures, m.lastSuccess, m.evalDuration, m.evalFailures,
		m.reloadOK, m.reloadTime, m.leasesHeld, buildInfo, newStoreCollector(st, log),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// present creates the sync counters of the sources at 0, so that a scrape
// shows them before the first pass and rate() works from the start.
func (m *metrics) present(sources []Source) {
	for _, src := range sources {
		m.syncs.WithLabelValues(src.Name())
		m.syncFailures.WithLabelValues(src.Name())
	}
}

// metricsStore is what the scrape-time collector reads.
type metricsStore interface {
	OutboxDepth(ctx context.Context) (pending, failed int, err error)
	FilterCounts(ctx context.Context) (map[cadence.Filter]int, error)
	OpenAlerts(ctx context.Context) ([]cadence.Alert, error)
}

// storeCollector reads the outbox depth, the stored interactions and the
// open alerts from the store at scrape time, so they are right whichever
// component changed them. Every label value it knows is present, at 0 when
// nothing has it.
type storeCollector struct {
	st                                metricsStore
	log                               *zap.Logger
	outbox, counted, filtered, alerts *prometheus.Desc
}

// Label values present at 0: the filters sources record, the alert states
// and the commitment types.
var (
	metricFilters = []cadence.Filter{cadence.Automated, cadence.Bulk, cadence.List, cadence.Bounce, cadence.AutoReply,
		cadence.Cancelled, cadence.Declined}
	metricAlertStates = []cadence.State{cadence.AtRisk, cadence.Slipped}
	metricTypes       = []cadence.PolicyType{cadence.CadenceType, cadence.ReplyType, cadence.NextMeetingType,
		cadence.FollowUpType, cadence.PrepareType, cadence.BreadthType, cadence.SilenceType}
)

func newStoreCollector(st metricsStore, log *zap.Logger) *storeCollector {
	return &storeCollector{st: st, log: log,
		outbox: prometheus.NewDesc("touchbase_outbox_deliveries",
			"Webhook deliveries waiting (pending) or given up (failed).", []string{"state"}, nil),
		counted: prometheus.NewDesc("touchbase_interactions_counted",
			"Stored interactions (mails and meetings) that count.", nil, nil),
		filtered: prometheus.NewDesc("touchbase_interactions_filtered",
			"Stored interactions a source filtered out, by reason (list, bulk, automated, ...).", []string{"reason"}, nil),
		alerts: prometheus.NewDesc("touchbase_alerts",
			"Open (firing) alerts, by state (at_risk, slipped) and commitment type.", []string{"state", "type"}, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.outbox
	ch <- c.counted
	ch <- c.filtered
	ch <- c.alerts
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fail := func(what string, desc *prometheus.Desc, err error) {
		c.log.Warn("metrics: "+what, zap.Error(err))
		ch <- prometheus.NewInvalidMetric(desc, err)
	}
	if pending, failed, err := c.st.OutboxDepth(ctx); err != nil {
		fail("outbox depth", c.outbox, err)
	} else {
		ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(pending), "pending")
		ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(failed), "failed")
	}
	if counts, err := c.st.FilterCounts(ctx); err != nil {
		fail("interactions", c.counted, err)
	} else {
		ch <- prometheus.MustNewConstMetric(c.counted, prometheus.GaugeValue, float64(counts[cadence.Counts]))
		for _, f := range metricFilters {
			ch <- prometheus.MustNewConstMetric(c.filtered, prometheus.GaugeValue, float64(counts[f]), string(f))
		}
		for f, n := range counts {
			if f != cadence.Counts && !slices.Contains(metricFilters, f) {
				ch <- prometheus.MustNewConstMetric(c.filtered, prometheus.GaugeValue, float64(n), string(f))
			}
		}
	}
	open, err := c.st.OpenAlerts(ctx)
	if err != nil {
		fail("alerts", c.alerts, err)
		return
	}
	type key struct {
		state cadence.State
		typ   cadence.PolicyType
	}
	n := map[key]int{}
	for _, s := range metricAlertStates {
		for _, t := range metricTypes {
			n[key{s, t}] = 0
		}
	}
	for _, a := range open {
		n[key{a.State, cmp.Or(a.Details.Type, "unknown")}]++
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(c.alerts, prometheus.GaugeValue, float64(v), string(k.state), string(k.typ))
	}
}
