package jpegdc

import (
	"bytes"
	"image/jpeg"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/waspada/waspada/detectors/photo/internal/synth"
)

// BenchmarkDecode: DC-only decode vs image/jpeg on the same 1280x800
// quality-90 photo-like JPEG.
//
//	go test ./detectors/photo/jpegdc -run XXX -bench Decode
func BenchmarkDecode(b *testing.B) {
	data := synth.JPEG(synth.Photo(1280, 800, 42), 90)
	b.Run("jpegdc", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		c0 := cpuNow()
		for b.Loop() {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((cpuNow()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	})
	b.Run("image-jpeg", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		c0 := cpuNow()
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((cpuNow()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	})
}

func cpuNow() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
