package main

import (
	"github.com/waspada/waspada/detectors/burst"
	"github.com/waspada/waspada/detectors/email"
	"github.com/waspada/waspada/detectors/identity"
	"github.com/waspada/waspada/pipeline"
	"github.com/waspada/waspada/rules"
)

// buildEngine lists the detectors explicitly, in the order they run, and
// wraps each in the pipeline's instrumentation when metrics are given.
func buildEngine(rulesFile string, m *pipeline.Metrics) (*pipeline.Engine, error) {
	rs, err := rules.Load(rulesFile)
	if err != nil {
		return nil, err
	}
	dets := []pipeline.Detector{
		identity.New(identity.DefaultConfig()),
		email.New(email.DefaultConfig()),
		burst.New(burst.DefaultConfig()),
	}
	if m != nil {
		for i, d := range dets {
			dets[i] = m.Instrument(d)
		}
	}
	return pipeline.NewEngine(rs, dets...), nil
}
