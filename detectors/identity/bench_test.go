package identity

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/waspada/waspada/pipeline/event"
)

// BenchmarkStateMemory inserts N synthetic registrations (realistic NIKs,
// names, emails, phones; ~10% NIK reuse, ~8% same-person, ~11% retries)
// and reports the live heap per registration after a GC, and the insert
// (= restore) rate. One iteration is the whole insert, so run with
// -benchtime 1x:
//
//	go test ./detectors/identity -run '^$' -bench 'StateMemory/regs=1M' -benchtime 1x
//	WASPADA_BENCH_BIG=1 go test ./detectors/identity -run '^$' -bench 'StateMemory/regs=10M' -benchtime 1x -timeout 30m
func BenchmarkStateMemory(b *testing.B) {
	for _, n := range []struct {
		name string
		regs int
	}{{"100k", 100_000}, {"1M", 1_000_000}, {"10M", 10_000_000}} {
		b.Run("regs="+n.name, func(b *testing.B) {
			if n.regs > 1_000_000 && os.Getenv("WASPADA_BENCH_BIG") == "" {
				b.Skip("set WASPADA_BENCH_BIG=1 (needs ~3 GiB and a few minutes)")
			}
			for b.Loop() {
				perReg, rate, cpuRate, d := measureState(n.regs)
				b.ReportMetric(perReg, "B/reg")
				b.ReportMetric(rate, "events/s")
				b.ReportMetric(cpuRate, "events/cpu-s")
				b.ReportMetric(float64(len(d.nikGroups)), "nik-groups")
				b.ReportMetric(float64(len(d.personGroups)), "person-groups")
			}
		})
	}
}

// measureState returns heap bytes per registration, the Observe rate while
// filling (per wall second and per process CPU second: the machine is
// shared, and CPU time is what contention does not inflate), and the
// detector (kept alive until measured).
func measureState(regs int) (float64, float64, float64, *Detector) {
	g := newGen(1, 4096)
	cfg := DefaultConfig()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := New(cfg)
	var busy, cpu time.Duration
	events := 0
	batch := make([]*event.Event, 0, 4096)
	for g.regs < regs || g.pending != nil {
		// Generate outside the timed part: fmt.Sprintf costs more than Observe.
		batch = batch[:0]
		for len(batch) < cap(batch) && (g.regs < regs || g.pending != nil) {
			batch = append(batch, g.next())
		}
		t0, c0 := time.Now(), cpuTime()
		for _, ev := range batch {
			d.Observe(ev)
		}
		busy += time.Since(t0)
		cpu += cpuTime() - c0
		events += len(batch)
	}
	clear(batch[:cap(batch)])
	runtime.GC()
	runtime.ReadMemStats(&after)
	if d.Len() != regs {
		panic(fmt.Sprintf("Len %d, want %d", d.Len(), regs))
	}
	perReg := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(regs)
	runtime.KeepAlive(g)
	return perReg, float64(events) / busy.Seconds(), float64(events) / cpu.Seconds(), d
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkObserve is the steady-state cost of one registration.submitted
// event against a detector that already holds 1M registrations (so the
// indexes are out of cache, as in the wave).
//
//	go test ./detectors/identity -run '^$' -bench 'Observe$' -benchtime 1000000x
func BenchmarkObserve(b *testing.B) {
	g := newGen(2, 4096)
	d := New(DefaultConfig())
	for g.regs < 1_000_000 {
		d.Observe(g.next())
	}
	evs := make([]*event.Event, b.N)
	for i := range evs {
		evs[i] = g.next()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, c0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		d.Observe(evs[i])
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/(cpuTime()-c0).Seconds(), "events/cpu-s")
}

// BenchmarkObserveHotNIK is the adversarial case: every event reuses one
// NIK, so the group grows with the stream. Each event costs
// O(group × MaxIDs) fingerprinting but re-emits only O(MaxIDs) signals.
//
//	go test ./detectors/identity -run '^$' -bench 'ObserveHotNIK' -benchtime 5000x
func BenchmarkObserveHotNIK(b *testing.B) {
	g := newGen(3, 16)
	d := New(DefaultConfig())
	evs := make([]*event.Event, b.N)
	for i := range evs {
		evs[i] = g.next()
		evs[i].NIK = "3201010101900001"
	}
	b.ResetTimer()
	signals := 0
	for i := 0; i < b.N; i++ {
		signals += len(d.Observe(evs[i]))
	}
	b.ReportMetric(float64(signals)/float64(b.N), "signals/event")
}
