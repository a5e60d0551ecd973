package main

import (
	"fmt"

	"github.com/waspada/waspada/detectors/burst"
	"github.com/waspada/waspada/detectors/email"
	"github.com/waspada/waspada/detectors/identity"
	"github.com/waspada/waspada/detectors/photo"
	"github.com/waspada/waspada/detectors/photo/fetch"
	"github.com/waspada/waspada/pipeline"
	"github.com/waspada/waspada/rules"
)

// detectorConfig is the detectors' part of the --config file (the
// pipeline's sections are pipeline.Config). Detectors not listed here run
// on their built-in defaults.
type detectorConfig struct {
	Photo photo.Config `yaml:"photo"`
}

func defaultDetectorConfig() detectorConfig {
	return detectorConfig{Photo: photo.DefaultConfig()}
}

// Validate lists every problem.
func (c detectorConfig) Validate() error {
	if err := c.Photo.Validate(); err != nil {
		return fmt.Errorf("photo: %w", err)
	}
	return nil
}

// engine is a wired engine and what must be closed with it.
type engine struct {
	*pipeline.Engine
	close func()
}

// buildEngine lists the detectors explicitly, in the order they run, and
// wraps each in the pipeline's instrumentation when metrics are given. The
// photo detector fetches documents that carry no precomputed hashes
// through a fetcher built from photo.fetch (file:// only under its root;
// without a root, file:// documents end as document_unavailable).
func buildEngine(rulesFile string, dc detectorConfig, m *pipeline.Metrics) (*engine, error) {
	rs, err := rules.Load(rulesFile)
	if err != nil {
		return nil, err
	}
	dets, closeDets, err := newDetectors(dc)
	if err != nil {
		return nil, err
	}
	if m != nil {
		for i, d := range dets {
			dets[i] = m.Instrument(d)
		}
	}
	return &engine{pipeline.NewEngine(rs, dets...), closeDets}, nil
}

// newDetectors builds fresh detectors, in the order they run.
func newDetectors(dc detectorConfig) ([]pipeline.Detector, func(), error) {
	f, err := fetch.New(dc.Photo.Fetch, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("photo: %w", err)
	}
	return []pipeline.Detector{
		identity.New(identity.DefaultConfig()),
		email.New(email.DefaultConfig()),
		burst.New(burst.DefaultConfig()),
		photo.New(dc.Photo, f),
	}, func() { f.Close() }, nil
}
