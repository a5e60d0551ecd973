package burst

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waspada/waspada/pipeline/event"
)

var (
	benchOnce sync.Once
	benchEvs  []*event.Event
)

// benchEvents is a simulated wave at the default rate (peaks of ~200
// registrations/s), generated once.
func benchEvents(b *testing.B) []*event.Event {
	benchOnce.Do(func() { benchEvs = simEvents(b, 400000, 20) })
	return benchEvs
}

// BenchmarkObserve measures the detector core on one goroutine: events/s
// over a simulated wave (all event types; only submissions are counted in
// windows), replayed with shifted times when b.N exceeds it.
func BenchmarkObserve(b *testing.B) {
	evs := benchEvents(b)
	span := evs[len(evs)-1].OccurredAt.Sub(evs[0].OccurredAt) + time.Hour
	base := make([]time.Time, len(evs))
	for i, ev := range evs {
		base[i] = ev.OccurredAt
	}
	defer func() {
		for i, ev := range evs {
			ev.OccurredAt = base[i]
		}
	}()
	d := New(DefaultConfig())
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		j := i % len(evs)
		ev := evs[j]
		ev.OccurredAt = base[j].Add(time.Duration(i/len(evs)) * span)
		d.Observe(ev)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// CPU seconds of the process (detector and its GC): on a shared machine
	// wall time mostly measures the neighbours.
	cpu := (cpuTime() - cpu0).Seconds()
	b.ReportMetric(float64(b.N)/cpu, "events/cpu-s")
	b.ReportMetric(float64(d.Stats().Submissions)/cpu, "submissions/cpu-s")
}

// BenchmarkMemoryPerKey feeds the simulated wave and reports the live heap
// of the detector divided by the keys it holds (all classes).
func BenchmarkMemoryPerKey(b *testing.B) {
	evs := benchEvents(b)
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := New(DefaultConfig())
		for _, ev := range evs {
			d.Observe(ev)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		s := d.Stats()
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(s.Keys), "B/key")
		b.ReportMetric(float64(s.Keys), "keys")
		// Once every window is judged, what stays is baselines and rings.
		d.Flush()
		runtime.GC()
		runtime.ReadMemStats(&after)
		s = d.Stats()
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(s.Keys), "B/idle-key")
		b.ReportMetric(float64(s.Keys), "idle-keys")
		runtime.KeepAlive(d)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
