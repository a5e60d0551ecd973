package photo

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/waspada/waspada/detectors/photo/imghash"

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

// bitModel samples 64-bit codes whose bits have the marginal frequencies of
// real hashes (mih/testdata/ktp_phash.txt: 400 distinct synthetic cards of
// one template), so that the codes cluster the way cards do.
type bitModel [64]float64

func loadBitModels(tb testing.TB) (card, portrait bitModel) {
	data, err := os.ReadFile("mih/testdata/ktp_phash.txt")
	if err != nil {
		tb.Fatal(err)
	}
	var nc, np float64
	for _, line := range strings.Split(string(data), "\n") {
		kind, hx, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(kind, "#") {
			continue
		}
		v, err := strconv.ParseUint(hx, 16, 64)
		if err != nil {
			tb.Fatal(err)
		}
		m, n := &card, &nc
		if kind == "portrait" {
			m, n = &portrait, &np
		}
		*n++
		for b := range m {
			m[b] += float64(v >> b & 1)
		}
	}
	for b := range card {
		card[b] /= nc
		portrait[b] /= np
	}
	return card, portrait
}

func (m *bitModel) sample(r *rand.Rand) uint64 {
	var v uint64
	for b, p := range m {
		if r.Float64() < p {
			v |= 1 << b
		}
	}
	return v
}

// BenchmarkObserveCards: one KTP card per event, hashed (Results as Prepare
// leaves them: whole-card and portrait hashes from the real cards' bit
// frequencies, 26 shifted portrait hashes, a colour layout), 1 % re-used
// with a few bits changed. "portrait-keyed" is the detector as configured;
// "whole-card-keyed" searches cards by the whole-card hash, as before.
// Whole-card search verifies a large share of all earlier cards per event,
// so compare the two at the same, modest, event count:
//
//	go test ./detectors/photo -run XXX -bench ObserveCards -benchtime 20000x
func BenchmarkObserveCards(b *testing.B) {
	card, portrait := loadBitModels(b)
	for _, keyed := range []bool{true, false} {
		name := map[bool]string{true: "portrait-keyed", false: "whole-card-keyed"}[keyed]
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			d := New(DefaultConfig())
			if !keyed {
				clear(d.roiKeyed)
			}
			evs := make([]*event.Event, b.N)
			res := make([][]Result, b.N)
			var prev imghash.Hashes
			for i := range evs {
				e := ev(fmt.Sprintf("E%09d", i), i, fmt.Sprintf("R%09d", i), "ktp=card")
				h := imghash.Hashes{PHash: card.sample(rng), DHash: rng.Uint64(), ROIPHash: portrait.sample(rng), ROIDHash: rng.Uint64(),
					HasROI: true, HasColour: true, Width: 1280, Height: 800, StdDev: 40, Format: "jpeg"}
				for k := range h.ROIColour {
					h.ROIColour[k] = int8(rng.IntN(80) - 40)
				}
				if i > 0 && rng.IntN(100) == 0 {
					h = prev
					h.PHash ^= 1 << rng.IntN(64)
					h.ROIPHash ^= 1 << rng.IntN(64)
				}
				h.SHA256[0], h.SHA256[1], h.SHA256[2], h.SHA256[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
				h.ROIShifts, h.ROIDShifts, h.ROIColourShifts = nil, nil, nil
				for s := 0; s < 26; s++ {
					h.ROIShifts = append(h.ROIShifts, h.ROIPHash^1<<rng.IntN(64)^1<<rng.IntN(64)^1<<rng.IntN(64))
					h.ROIDShifts = append(h.ROIDShifts, h.ROIDHash^1<<rng.IntN(64)^1<<rng.IntN(64))
					h.ROIColourShifts = append(h.ROIColourShifts, h.ROIColour)
				}
				prev = h
				evs[i], res[i] = e, []Result{{Hashes: h}}
			}
			b.ResetTimer()
			signals := 0
			for i := 0; i < b.N; i++ {
				signals += len(d.ObserveResults(evs[i], res[i]))
			}
			b.StopTimer()
			b.ReportMetric(float64(signals)/float64(b.N), "signals/event")
			b.ReportMetric(float64(d.Outcomes()["index_capped"]), "capped")
		})
	}
}
