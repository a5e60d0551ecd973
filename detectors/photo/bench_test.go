package photo

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/waspada/waspada/pipeline/event"
)

// BenchmarkObserve: events with two documents carrying precomputed hashes
// (the pipeline's Prepare did the IO), random pHashes with 1 % planted
// re-use; reports heap bytes per document held.
//
//	go test ./detectors/photo -run XXX -bench Observe -benchtime 200000x
func BenchmarkObserve(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := New(DefaultConfig())
	evs := make([]*event.Event, b.N)
	var prev uint64
	for i := range evs {
		e := ev(fmt.Sprintf("E%09d", i), i, fmt.Sprintf("R%09d", i))
		for _, kind := range []string{"ktp", "selfie"} {
			p := rng.Uint64()
			if rng.IntN(100) == 0 {
				p = prev ^ 1<<rng.IntN(64)
			}
			prev = p
			e.Documents = append(e.Documents, event.Document{Kind: kind, URI: "file:///uploads/" + e.RegistrationID + "/" + kind + ".jpg",
				PHash: phashString(p), SHA256: fmt.Sprintf("%064x", rng.Uint64())})
		}
		evs[i] = e
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	signals := 0
	for i := 0; i < b.N; i++ {
		signals += len(d.Observe(evs[i]))
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/float64(2*b.N), "heap-B/doc")
	b.ReportMetric(float64(signals)/float64(b.N), "signals/event")
	runtime.KeepAlive(evs)
	runtime.KeepAlive(d)
}
