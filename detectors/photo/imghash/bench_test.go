package imghash

import (
	"fmt"
	"math/bits"
	"sync"
	"testing"
	"time"

	"github.com/corona10/goimagehash"
	"golang.org/x/sys/unix"

	"github.com/waspada/waspada/detectors/photo/jpegdc"

	"github.com/waspada/waspada/detectors/photo/internal/synth"
)

var sizes = []struct{ w, h int }{{1280, 800}, {4032, 3024}}

var (
	benchOnce  sync.Once
	benchFiles = map[string][]byte{}
)

// benchJPEG returns a photo-like JPEG at quality 90 (phone cameras use
// 85-95), made once per size.
func benchJPEG(w, h int) []byte {
	benchOnce.Do(func() {
		for _, s := range sizes {
			benchFiles[fmt.Sprint(s.w, "x", s.h)] = synth.JPEG(synth.Photo(s.w, s.h, 42), 90)
		}
	})
	return benchFiles[fmt.Sprint(w, "x", h)]
}

// BenchmarkHash runs the naive path (image/jpeg full decode, goimagehash
// PerceptionHash on the full image), the fast path like for like (DC-only
// decode, pHash), the whole fast path (Hash: limits, SHA-256, DC-only
// decode, pHash and dHash) and what a KTP card costs (fast-all with the
// portrait region: its pHash, dHash and colour layout at 27 shifts and
// scales) side by side. cpu-ms/op is process CPU time
// per image, which a shared, loaded machine does not inflate the way it
// inflates ns/op.
//
//	go test ./detectors/photo/imghash -run XXX -bench Hash -benchtime 2s
func BenchmarkHash(b *testing.B) {
	cfg := DefaultConfig()
	card := cfg
	card.ROI = &Rect{X0: 0.71, Y0: 0.24, X1: 0.94, Y1: 0.72} // the detector's "ktp" region
	for _, s := range sizes {
		data := benchJPEG(s.w, s.h)
		name := fmt.Sprintf("%dx%d", s.w, s.h)
		b.Run("naive-phash/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			c0 := processCPU()
			for b.Loop() {
				if _, _, err := naivePHashOnly(data); err != nil {
					b.Fatal(err)
				}
			}
			report(b, c0)
		})
		// Like for like with the naive path: DC decode and pHash only.
		b.Run("fast-phash/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			c0 := processCPU()
			for b.Loop() {
				dc, err := jpegdc.Decode(data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := goimagehash.PerceptionHash(shrink(dc.Gray)); err != nil {
					b.Fatal(err)
				}
			}
			report(b, c0)
		})
		b.Run("fast-all/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			c0 := processCPU()
			for b.Loop() {
				if _, err := Hash(cfg, data); err != nil {
					b.Fatal(err)
				}
			}
			report(b, c0)
		})
		b.Run("fast-card/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			c0 := processCPU()
			for b.Loop() {
				h, err := Hash(card, data)
				if err != nil {
					b.Fatal(err)
				}
				if !h.HasROI || len(h.ROIShifts) != 26 {
					b.Fatalf("portrait region not hashed: HasROI %v, %d shifted variants (want 26)", h.HasROI, len(h.ROIShifts))
				}
			}
			report(b, c0)
		})
	}
}

// processCPU is the process's CPU time (user+system): on a shared, loaded
// machine wall time per op says more about the neighbours than the code.
func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, c0 time.Duration) {
	cpu := processCPU() - c0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "img/cpu-s")
}

// TestFastMatchesNaive reports (and bounds) the Hamming distance between the
// fast path's hashes and the naive path's on the same images.
func TestFastMatchesNaive(t *testing.T) {
	cfg := DefaultConfig()
	type tc = namedData
	var cases []tc
	for seed := uint64(1); seed <= 6; seed++ {
		img := synth.Photo(640+int(seed)*37, 400+int(seed)*23, seed)
		cases = append(cases, tc{fmt.Sprintf("synth%d-q90", seed), synth.JPEG(img, 90)})
		cases = append(cases, tc{fmt.Sprintf("synth%d-q50", seed), synth.JPEG(img, 50)})
	}
	cases = append(cases, testdataCases(t)...)
	maxP, maxD := 0, 0
	for _, c := range cases {
		h, err := Hash(cfg, c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p, d, err := Naive(c.data)
		if err != nil {
			t.Fatalf("%s naive: %v", c.name, err)
		}
		dp, dd := bits.OnesCount64(p^h.PHash), bits.OnesCount64(d^h.DHash)
		t.Logf("%-22s path=%-4s phash distance %2d  dhash distance %2d", c.name, h.Path, dp, dd)
		maxP, maxD = max(maxP, dp), max(maxD, dd)
	}
	t.Logf("max distance fast vs naive: phash %d, dhash %d over %d images", maxP, maxD, len(cases))
	// Near-duplicate thresholds are 8-12 bits; the fast path must stay well inside.
	if maxP > 6 || maxD > 8 {
		t.Errorf("fast path too far from naive: phash %d, dhash %d", maxP, maxD)
	}
}

func naivePHashOnly(data []byte) (uint64, uint64, error) { return naivePHash(data) }
