package pipeline

import "github.com/waspada/waspada/pipeline/event"

func cfgLimits(cfg Config) event.Limits {
	l := event.DefaultLimits()
	if cfg.Limits.MaxEventBytes > 0 {
		l.MaxBytes = cfg.Limits.MaxEventBytes
	}
	return l
}

// EventLimits are the decoder limits a configuration asks for.
func EventLimits(cfg Config) event.Limits { return cfgLimits(cfg) }
