package email

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

// BenchmarkWaveMemory reports the detector's own live heap per
// registration after a simulated wave (the default simulator config, as
// `waspada bench memory` uses, without the engine's signal book and score
// versions); WASPADA_WAVE_EVENTS sets the number of events (default 1M):
//
//	go test -run '^$' -bench WaveMemory -benchtime 1x ./detectors/email/
func BenchmarkWaveMemory(b *testing.B) {
	cfg := sim.DefaultConfig()
	cfg.Events = 1_000_000
	if s := os.Getenv("WASPADA_WAVE_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		cfg.Events = n
	}
	for b.Loop() {
		heap := func() uint64 {
			runtime.GC()
			debug.FreeOSMemory()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		before := heap()
		d := New(DefaultConfig())
		regs := map[string]struct{}{}
		err := sim.Generate(cfg, func(ev *event.Event, _ sim.Label) error {
			if ev.Type == event.Submitted {
				regs[ev.RegistrationID] = struct{}{}
			}
			d.Observe(ev)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		n := len(regs)
		regs = nil
		after := heap()
		b.ReportMetric(float64(after-before)/float64(n), "bytes/reg")
		b.ReportMetric(float64(n), "regs")
		runtime.KeepAlive(d)
	}
}
