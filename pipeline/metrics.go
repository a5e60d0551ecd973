package pipeline

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
)

// Metrics are the pipeline's Prometheus metrics, on their own registry so
// that tests and several pipelines in one process do not collide.
type Metrics struct {
	Registry        *prometheus.Registry
	Events          *prometheus.CounterVec
	DeadLetters     *prometheus.CounterVec
	Signals         *prometheus.CounterVec
	Scores          *prometheus.CounterVec
	DetectorSeconds *prometheus.HistogramVec
	BatchEvents     prometheus.Histogram
	SinkSeconds     *prometheus.HistogramVec
	SinkErrors      *prometheus.CounterVec
	ConsumerLag     prometheus.Gauge
	Commits         prometheus.Counter
	Reports         *prometheus.CounterVec

	// The last snapshot of the detectors' own state (StatsReporter),
	// taken between batches by the goroutine that runs the engine and read
	// by scrapes.
	statsMu    sync.Mutex
	stats      []prometheus.Metric
	statsDescs map[string]*prometheus.Desc
}

// NewMetrics registers every metric on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waspada_events_total",
			Help: "Events read, by type (dead letters under type=\"invalid\")."}, []string{"type"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waspada_dead_letters_total",
			Help: "Events sent to the dead-letter topic and table, by reason."}, []string{"reason"}),
		Signals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waspada_signals_total",
			Help: "New or changed signals, by detector and kind."}, []string{"detector", "kind"}),
		Scores: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waspada_scores_total",
			Help: "Score versions emitted, by band."}, []string{"band"}),
		DetectorSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "waspada_detector_seconds",
			Help: "Time in one detector's Observe.", Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10)}, []string{"detector"}),
		BatchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waspada_batch_events",
			Help: "Events per processed batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 9)}),
		SinkSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "waspada_sink_seconds",
			Help: "Time to durably write one batch, by sink.", Buckets: prometheus.ExponentialBuckets(1e-3, 2, 14)}, []string{"sink"}),
		SinkErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waspada_sink_errors_total",
			Help: "Failed write attempts (retried), by sink."}, []string{"sink"}),
		ConsumerLag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "waspada_consumer_lag",
			Help: "Messages behind the end of the registrations topic, as last fetched."}),
		Commits: prometheus.NewCounter(prometheus.CounterOpts{Name: "waspada_offset_commits_total",
			Help: "Offset commits after durable writes."}),
		Reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waspada_misuse_reports_total",
			Help: "Misuse reports received, by channel (email, link), outcome (accepted, rejected, retry_later, error) and first rejection class."},
			[]string{"channel", "outcome", "class"}),
	}
	m.Registry.MustRegister(m.Events, m.DeadLetters, m.Signals, m.Scores, m.DetectorSeconds, m.BatchEvents,
		m.SinkSeconds, m.SinkErrors, m.ConsumerLag, m.Commits, m.Reports, statsCollector{m},
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// StatsReporter is an optional interface of a detector that keeps counters
// about its own state worth watching in production (the burst detector:
// keys held, keys evicted when the cap bites, late events). The pipeline
// calls ReportStats after every batch (and after a rebuild) from the
// goroutine that runs the engine, so never concurrently with Observe, and
// exports the values as they were then. ReportStats calls report once per
// value; a name ending in _total is a counter (it never decreases), any
// other a gauge. The metric is waspada_<detector name>_<name>; a name that
// does not make a valid metric name is skipped.
type StatsReporter interface {
	ReportStats(report func(name, help string, value float64))
}

// SnapshotStats records the current values of every detector in e that is
// a StatsReporter, for the next scrapes. Call it from the goroutine that
// runs e, between events.
func (m *Metrics) SnapshotStats(e *Engine) {
	var fresh []prometheus.Metric
	m.statsMu.Lock()
	defer m.statsMu.Unlock()
	if m.statsDescs == nil {
		m.statsDescs = map[string]*prometheus.Desc{}
	}
	for _, d := range e.detectors {
		r, ok := unwrap(d).(StatsReporter)
		if !ok {
			continue
		}
		prefix := "waspada_" + d.Name() + "_"
		r.ReportStats(func(name, help string, v float64) {
			full := prefix + name
			if !legacyMetricName(full) {
				return
			}
			desc := m.statsDescs[full]
			if desc == nil {
				desc = prometheus.NewDesc(full, help, nil, nil)
				m.statsDescs[full] = desc
			}
			t := prometheus.GaugeValue
			if strings.HasSuffix(name, "_total") {
				t = prometheus.CounterValue
			}
			if cm, err := prometheus.NewConstMetric(desc, t, v); err == nil {
				fresh = append(fresh, cm)
			}
		})
	}
	m.stats = fresh
}

// legacyMetricName is [a-zA-Z_:][a-zA-Z0-9_:]*, the names every scraper
// accepts (the client library would take any UTF-8).
func legacyMetricName(s string) bool {
	for i, c := range s {
		ok := c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return s != ""
}

// statsCollector exports the last SnapshotStats. It describes nothing
// up front (an unchecked collector): the set of values depends on the
// detectors wired.
type statsCollector struct{ m *Metrics }

func (statsCollector) Describe(chan<- *prometheus.Desc) {}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.statsMu.Lock()
	defer c.m.statsMu.Unlock()
	for _, s := range c.m.stats {
		ch <- s
	}
}

// Instrument wraps a detector so that its latency and signals are counted
// in one place; detector code has no metrics calls.
func (m *Metrics) Instrument(d Detector) Detector {
	return &instrumented{Detector: d, m: m, hist: m.DetectorSeconds.WithLabelValues(d.Name())}
}

type instrumented struct {
	Detector
	m    *Metrics
	hist prometheus.Observer
}

// Unwrap gives the wrapped detector, for optional interfaces (Flusher).
func (i *instrumented) Unwrap() Detector { return i.Detector }

func (i *instrumented) Observe(ev *event.Event) []detectors.Signal {
	start := time.Now()
	out := i.Detector.Observe(ev)
	i.hist.Observe(time.Since(start).Seconds())
	return out
}
