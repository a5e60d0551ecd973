package pipeline

import (
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
	}
	m.Registry.MustRegister(m.Events, m.DeadLetters, m.Signals, m.Scores, m.DetectorSeconds, m.BatchEvents,
		m.SinkSeconds, m.SinkErrors, m.ConsumerLag, m.Commits,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
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
