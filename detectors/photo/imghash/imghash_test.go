package imghash

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors/photo/internal/synth"
)

// pngWithSize patches a small valid PNG's IHDR to claim w x h (CRC fixed),
// which is what a decompression bomb's header looks like.
func pngWithSize(w, h uint32) []byte {
	b := synth.PNG(synth.Photo(16, 16, 1))
	b = bytes.Clone(b)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func jpegWithSize(w, h uint16) []byte {
	b := bytes.Clone(synth.JPEG(synth.Photo(16, 16, 1), 80))
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

func TestHashOutcomes(t *testing.T) {
	cfg := DefaultConfig()
	goodJPEG := synth.JPEG(synth.Photo(800, 600, 5), 85)
	goodPNG := synth.PNG(synth.Photo(300, 200, 5))
	badCRC := bytes.Clone(goodPNG)
	idat := bytes.Index(badCRC, []byte("IDAT"))
	badCRC[idat+40] ^= 0xFF
	garbledJPEG := bytes.Clone(goodJPEG)
	dht := bytes.Index(garbledJPEG, []byte{0xFF, 0xC4})
	garbledJPEG[dht+4] = 0x7F // DHT class/id out of range
	goRejects, err := os.ReadFile("../jpegdc/testdata/gofails/restart-prog420.jpg")
	if err != nil {
		t.Fatal(err)
	}
	lossless := bytes.Clone(goodJPEG)
	lossless[bytes.Index(lossless, []byte{0xFF, 0xC0})+1] = 0xC3

	for _, tc := range []struct {
		name string
		data []byte
		want Reason // "" = success
		path string
	}{
		{"jpeg-dc", goodJPEG, "", "dc"},
		{"jpeg-small-full", synth.JPEG(synth.Photo(200, 100, 2), 85), "", "full"},
		{"png", goodPNG, "", "full"},
		{"small-jpeg-image/jpeg-rejects", goRejects, "", "dc"},
		{"empty", nil, ReasonEmpty, ""},
		{"too-large", make([]byte, cfg.MaxBytes+1), ReasonTooLarge, ""},
		{"text", []byte("hello, this is not an image"), ReasonUnknownFormat, ""},
		{"png-zero-width", pngWithSize(0, 100), ReasonZeroSize, ""},
		{"jpeg-zero-height", jpegWithSize(100, 0), ReasonZeroSize, ""},
		{"png-absurd-width", pngWithSize(1_000_000, 10), ReasonAbsurdSize, ""},
		{"png-aspect", pngWithSize(16000, 20), ReasonAbsurdSize, ""},
		{"png-bomb", pngWithSize(16000, 16000), ReasonPixelBudget, ""},
		{"jpeg-bomb", jpegWithSize(16000, 16000), ReasonPixelBudget, ""},
		{"jpeg-truncated", goodJPEG[:len(goodJPEG)/2], ReasonTruncated, ""},
		{"png-truncated", goodPNG[:len(goodPNG)/2], ReasonTruncated, ""},
		{"png-bad-crc", badCRC, ReasonCorrupt, ""},
		{"jpeg-bad-dht", garbledJPEG, ReasonCorrupt, ""},
		{"jpeg-lossless", lossless, ReasonUnsupported, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Hash(cfg, tc.data)
			if got := ReasonOf(err); got != tc.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.want)
			}
			if err != nil {
				return
			}
			if h.Path != tc.path {
				t.Errorf("path %q, want %q", h.Path, tc.path)
			}
			if h.PHash == 0 || h.DHash == 0 || h.Width == 0 {
				t.Errorf("empty hashes %+v", h)
			}
		})
	}
}

func TestTimeoutAndPanic(t *testing.T) {
	cfg := DefaultConfig()
	data := synth.JPEG(synth.Photo(64, 64, 1), 80)
	slow := func([]byte, string, int64) decoded { time.Sleep(200 * time.Millisecond); return decoded{} }
	cfg.Timeout = 10 * time.Millisecond
	if _, err := hashWith(cfg, data, slow); ReasonOf(err) != ReasonTimeout {
		t.Errorf("slow decoder: %v, want timeout", err)
	}
	cfg.Timeout = time.Second
	boom := func([]byte, string, int64) decoded { var m map[string]int; m["x"]++; return decoded{} }
	_, err := hashWith(cfg, data, boom)
	if ReasonOf(err) != ReasonPanic || !strings.Contains(err.Error(), "nil map") {
		t.Errorf("panicking decoder: %v, want decoder_panic", err)
	}
}

func TestQualityStats(t *testing.T) {
	flat := image.NewGray(image.Rect(0, 0, 600, 600))
	for i := range flat.Pix {
		flat.Pix[i] = 200
	}
	h, err := Hash(DefaultConfig(), synth.JPEG(flat, 90))
	if err != nil {
		t.Fatal(err)
	}
	if h.StdDev > 2 {
		t.Errorf("uniform image stddev %.1f", h.StdDev)
	}
	h2, _ := Hash(DefaultConfig(), synth.JPEG(synth.Photo(600, 600, 3), 90))
	if h2.StdDev < 20 {
		t.Errorf("photo stddev %.1f", h2.StdDev)
	}
}

func TestROI(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ROI = &Rect{0.6, 0.2, 0.95, 0.8}
	a := synth.Photo(800, 500, 1)
	b := synth.Photo(800, 500, 2)
	// b with a's portrait area pasted in: same ROI, different card.
	for y := 100; y < 400; y++ {
		for x := 480; x < 760; x++ {
			b.Set(x, y, a.At(x, y))
		}
	}
	ha, _ := Hash(cfg, synth.JPEG(a, 85))
	hb, _ := Hash(cfg, synth.JPEG(b, 85))
	if !ha.HasROI || !hb.HasROI {
		t.Fatal("no ROI hash")
	}
	roi, whole := popcount(ha.ROIPHash^hb.ROIPHash), popcount(ha.PHash^hb.PHash)
	t.Logf("roi distance %d, whole distance %d", roi, whole)
	if roi > 6 || whole < roi+8 {
		t.Errorf("roi distance %d, whole %d", roi, whole)
	}
	bad := cfg
	bad.ROI = &Rect{0.5, 0.5, 0.4, 1.2}
	bad.MaxBytes = 0
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "roi") || !strings.Contains(err.Error(), "max_bytes") {
		t.Errorf("Validate: %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func FuzzHash(f *testing.F) {
	f.Add(synth.JPEG(synth.Photo(20, 12, 1), 60))
	f.Add(synth.PNG(synth.Photo(8, 8, 1)))
	f.Add(pngWithSize(0, 5))
	f.Add(jpegWithSize(3, 0))
	files, _ := filepath.Glob("../jpegdc/testdata/*.jpg")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 8<<10 {
			f.Add(b)
		}
	}
	cfg := DefaultConfig()
	cfg.MaxPixels = 1 << 20 // keep each input cheap
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Hash(cfg, data)
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			if ReasonOf(err) == ReasonPanic {
				t.Fatalf("decoder panicked: %v", err)
			}
			return
		}
		if h.Width <= 0 || h.Height <= 0 {
			t.Fatalf("success with size %dx%d", h.Width, h.Height)
		}
	})
}

var _ = color.Gray{}
