package jpegdc

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/waspada/waspada/detectors/photo/internal/synth"
)

// blockMeans returns the 8x8 block means of the luma plane decoded by
// image/jpeg, and of the chroma planes (nil for a grey image).
func blockMeans(t testing.TB, data []byte) (y, cb, cr *image.Gray, w, h int) {
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	switch m := img.(type) {
	case *image.YCbCr:
		cw, ch := b.Dx(), b.Dy()
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio422:
			cw = (cw + 1) / 2
		case image.YCbCrSubsampleRatio420:
			cw, ch = (cw+1)/2, (ch+1)/2
		case image.YCbCrSubsampleRatio440:
			ch = (ch + 1) / 2
		case image.YCbCrSubsampleRatio444:
		default:
			t.Fatalf("unexpected ratio %v", m.SubsampleRatio)
		}
		return planeMeans(m.Y, m.YStride, b.Dx(), b.Dy()), planeMeans(m.Cb, m.CStride, cw, ch),
			planeMeans(m.Cr, m.CStride, cw, ch), b.Dx(), b.Dy()
	case *image.Gray:
		return planeMeans(m.Pix, m.Stride, b.Dx(), b.Dy()), nil, nil, b.Dx(), b.Dy()
	}
	t.Fatalf("unexpected %T", img)
	return
}

// planeMeans is the 8x8 block means of a pw x ph plane.
func planeMeans(p []byte, stride, pw, ph int) *image.Gray {
	bw, bh := (pw+7)/8, (ph+7)/8
	g := image.NewGray(image.Rect(0, 0, bw, bh))
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			sum, n := 0, 0
			for y := by * 8; y < by*8+8; y++ {
				for x := bx * 8; x < bx*8+8; x++ {
					// Edge blocks: the encoder replicates the last row/column.
					yy, xx := min(y, ph-1), min(x, pw-1)
					sum += int(p[yy*stride+xx])
					n++
				}
			}
			g.Pix[by*g.Stride+bx] = uint8((sum + n/2) / n)
		}
	}
	return g
}

func compare(t *testing.T, name string, data []byte) {
	t.Helper()
	want, wantCb, wantCr, w, h := blockMeans(t, data)
	got, err := Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got.Width != w || got.Height != h {
		t.Fatalf("%s: size %dx%d, want %dx%d", name, got.Width, got.Height, w, h)
	}
	comparePlane(t, name+" luma", got.Gray, want, 1.0)
	if (got.Cb == nil) != (wantCb == nil) {
		t.Fatalf("%s: chroma planes %v, image/jpeg has chroma %v", name, got.Cb != nil, wantCb != nil)
	}
	if got.Cb != nil {
		// Encoders subsample chroma from edge-padded planes in their own
		// way, which moves the means of tiny images' edge blocks a little.
		comparePlane(t, name+" Cb", got.Cb, wantCb, 2.0)
		comparePlane(t, name+" Cr", got.Cr, wantCr, 2.0)
	}
	if got.Truncated {
		t.Errorf("%s: reported truncated", name)
	}
}

func comparePlane(t *testing.T, name string, got, want *image.Gray, meanTol float64) {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("%s: DC plane %v, want %v", name, got.Bounds(), want.Bounds())
	}
	maxd, sum := 0, 0
	for i := range want.Pix {
		d := int(got.Pix[i]) - int(want.Pix[i])
		if d < 0 {
			d = -d
		}
		maxd = max(maxd, d)
		sum += d
	}
	mean := float64(sum) / float64(len(want.Pix))
	// The IDCT output is clamped to 0..255 and rounded per pixel, so a block
	// mean differs from DC/8 by a little; more means a decoding error.
	if maxd > 6 || mean > meanTol {
		t.Errorf("%s: DC plane differs from block means: max %d, mean %.2f", name, maxd, mean)
	}
}

func TestMatchesBlockMeans(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		q    int
		gray bool
	}{
		{"420-q90", 333, 211, 90, false},
		{"420-q40", 64, 48, 40, false},
		{"odd-1x1", 1, 1, 75, false},
		{"odd-9x17", 9, 17, 75, false},
		{"gray", 101, 77, 85, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var img image.Image = synth.Photo(tc.w, tc.h, 7)
			if tc.gray {
				g := image.NewGray(img.Bounds())
				for y := 0; y < tc.h; y++ {
					for x := 0; x < tc.w; x++ {
						g.Set(x, y, img.At(x, y))
					}
				}
				img = g
			}
			compare(t, tc.name, synth.JPEG(img, tc.q))
		})
	}
}

// testdata/*.jpg are small files from other encoders (PIL/libjpeg-turbo:
// progressive, 4:4:4, 4:2:2, restart intervals, optimised tables).
func TestTestdataFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.jpg")
	if len(files) == 0 {
		t.Fatal("no testdata/*.jpg")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		compare(t, filepath.Base(f), data)
	}
}

func TestTruncated(t *testing.T) {
	data := synth.JPEG(synth.Photo(200, 160, 3), 85)
	got, err := Decode(data[:len(data)*2/3])
	if err != nil {
		t.Fatalf("truncated baseline: %v", err)
	}
	if !got.Truncated {
		t.Error("Truncated not reported")
	}
	for _, n := range []int{0, 1, 2, 20, 100} {
		if _, err := Decode(data[:n]); err == nil {
			t.Errorf("prefix %d: no error", n)
		}
	}
}

func TestUnsupportedAndCorrupt(t *testing.T) {
	data := synth.JPEG(synth.Photo(32, 32, 3), 85)
	// Turn SOF0 into SOF3 (lossless).
	i := bytes.Index(data, []byte{0xFF, 0xC0})
	lossless := bytes.Clone(data)
	lossless[i+1] = 0xC3
	if _, err := Decode(lossless); !errors.Is(err, ErrUnsupported) {
		t.Errorf("SOF3: %v, want ErrUnsupported", err)
	}
	// An Adobe APP14 segment with transform 0 (RGB) right after SOI.
	app14 := []byte{0xFF, 0xEE, 0x00, 0x0E, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0}
	rgb := append(append([]byte{0xFF, 0xD8}, app14...), data[2:]...)
	if _, err := Decode(rgb); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Adobe RGB: %v, want ErrUnsupported", err)
	}
	zero := bytes.Clone(data)
	zero[i+5], zero[i+6] = 0, 0 // height
	var fe FormatError
	if _, err := Decode(zero); !errors.As(err, &fe) {
		t.Errorf("zero height: %v, want FormatError", err)
	}
	if _, err := Decode([]byte("\x89PNG\r\n\x1a\n")); !errors.As(err, &fe) {
		t.Errorf("png: %v, want FormatError", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(synth.JPEG(synth.Photo(24, 16, 1), 50))
	f.Add(synth.JPEG(synth.Photo(9, 9, 2), 90))
	files, _ := filepath.Glob("testdata/*.jpg")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 8<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeMax(data, 1<<14)
		if err == nil && (img.Gray == nil || img.Width <= 0 || img.Height <= 0) {
			t.Fatalf("nil image without error")
		}
	})
}

// testdata/gofails/restart-prog420.jpg is prog420.jpg made progressive with
// a restart marker per MCU by jpegtran (lossless: the coefficients are the
// same). image/jpeg rejects it ("missing 0xff00 sequence"), so compare
// with the DC plane of the original instead.
func TestProgressiveRestartLossless(t *testing.T) {
	a, err := os.ReadFile("testdata/prog420.jpg")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/gofails/restart-prog420.jpg")
	if err != nil {
		t.Fatal(err)
	}
	da, err := Decode(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if db.Truncated || !bytes.Equal(da.Gray.Pix, db.Gray.Pix) {
		t.Errorf("restart version differs (truncated %v)", db.Truncated)
	}
}
