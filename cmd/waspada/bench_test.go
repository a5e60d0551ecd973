package main

import (
	"context"
	"testing"

	"github.com/waspada/waspada/pipeline"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

// BenchmarkProcess is the pipeline's CPU core without IO: decode, every
// wired detector, rules, and row shaping, in batches as `run` does.
//
//	go test -run x -bench Process -benchtime 3x ./cmd/waspada
func BenchmarkProcess(b *testing.B) {
	cfg := sim.DefaultConfig()
	cfg.Events = 50000
	var msgs []pipeline.Message
	if err := sim.Generate(cfg, func(ev *event.Event, _ sim.Label) error {
		v, err := sim.Encode(ev)
		msgs = append(msgs, pipeline.Message{Value: v, Source: "bench"})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		proc := &pipeline.Processor{Engine: mustEngine(), Limits: event.DefaultLimits(), MaxDeadPayload: 1024}
		for j := 0; j < len(msgs); j += 5000 {
			proc.Process(context.Background(), msgs[j:min(j+5000, len(msgs))])
		}
	}
	b.ReportMetric(float64(len(msgs)*b.N)/b.Elapsed().Seconds(), "events/s")
}
