package pipeline

import (
	"context"
	"encoding/json"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
)

// counting is a detector with state counters, like the burst detector.
type counting struct{ seen, keys int }

func (*counting) Name() string { return "counting" }

func (c *counting) Observe(ev *event.Event) []detectors.Signal {
	c.seen++
	c.keys = 2 * c.seen
	return nil
}

func (c *counting) ReportStats(report func(name, help string, value float64)) {
	report("seen_total", "Events seen.", float64(c.seen))
	report("keys", "Keys held.", float64(c.keys))
	report("bad name!", "Not a metric name: skipped.", 1)
}

// A StatsReporter behind the instrumentation wrapper is exported as of the
// end of the last batch: counters as counters, gauges as gauges.
func TestMetricsExportDetectorStats(t *testing.T) {
	m := NewMetrics()
	d := &counting{}
	p := &Processor{Engine: NewEngine(testRules(t), m.Instrument(d), newSameKey()), Limits: event.DefaultLimits(),
		Metrics: m, MaxDeadPayload: 64}
	enc := func(e *event.Event) []byte { b, _ := json.Marshal(e); return b }
	if _, err := p.Process(context.Background(), []Message{{Value: enc(sub("E1", "R1", "N1", 1)), Source: "f:1"},
		{Value: enc(sub("E2", "R2", "N2", 2)), Source: "f:2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Process(context.Background(), []Message{{Value: enc(sub("E3", "R3", "N3", 3)), Source: "f:3"}}); err != nil {
		t.Fatal(err)
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, f := range families {
		got[f.GetName()] = f
	}
	if f := got["waspada_counting_seen_total"]; f == nil || f.GetType() != dto.MetricType_COUNTER ||
		f.GetMetric()[0].GetCounter().GetValue() != 3 || f.GetHelp() != "Events seen." {
		t.Errorf("seen_total: %v", f)
	}
	if f := got["waspada_counting_keys"]; f == nil || f.GetType() != dto.MetricType_GAUGE || f.GetMetric()[0].GetGauge().GetValue() != 6 {
		t.Errorf("keys: %v", f)
	}
	for name := range got {
		if name == "waspada_counting_bad name!" {
			t.Errorf("an invalid name was exported")
		}
	}
}
