package main

import (
	"context"
	"testing"

	"github.com/waspada/waspada/detectors/burst"
	"github.com/waspada/waspada/pipeline"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

var _ pipeline.StatsReporter = (*burst.Detector)(nil)

// The running pipeline's /metrics carries the burst detector's state
// (keys, evictions, late events) once a batch has gone through the engine
// that run wires.
func TestRunExportsBurstStats(t *testing.T) {
	m := pipeline.NewMetrics()
	eng, err := buildEngine("", defaultDetectorConfig(), m)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.close()
	sc := sim.DefaultConfig()
	sc.Events = 2000
	var msgs []pipeline.Message
	sim.Generate(sc, func(ev *event.Event, _ sim.Label) error {
		b, err := sim.Encode(ev)
		msgs = append(msgs, pipeline.Message{Value: b, Source: ev.EventID})
		return err
	})
	p := &pipeline.Processor{Engine: eng.Engine, Limits: event.DefaultLimits(), Metrics: m, MaxDeadPayload: 1024}
	if _, err := p.Process(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			values[f.GetName()] = mt.GetGauge().GetValue() + mt.GetCounter().GetValue()
		}
	}
	for _, name := range []string{"waspada_burst_keys", "waspada_burst_evicted_cap_total", "waspada_burst_late_total", "waspada_burst_events_total"} {
		if _, ok := values[name]; !ok {
			t.Errorf("%s not exported", name)
		}
	}
	if values["waspada_burst_keys"] == 0 || values["waspada_burst_events_total"] != 2000 {
		t.Errorf("keys %v, events %v", values["waspada_burst_keys"], values["waspada_burst_events_total"])
	}
}
