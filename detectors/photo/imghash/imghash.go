package imghash

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif"
	"image/jpeg"
	_ "image/png"
	"math"
	"runtime/debug"
	"strings"
	"time"

	"github.com/corona10/goimagehash"

	"github.com/waspada/waspada/detectors/photo/jpegdc"
)

// Config bounds what Hash accepts. The zero value is not usable; start
// from DefaultConfig.
type Config struct {
	// MaxBytes is the largest encoded image accepted (callers reading from
	// a network or disk read at most MaxBytes+1 bytes).
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxPixels is the pixel budget (width x height) checked from the header
	// before decoding; it is what stops decompression bombs.
	MaxPixels int64 `yaml:"max_pixels"`
	// MaxDimension rejects absurd widths or heights (and absurd aspect
	// ratios) even within the pixel budget.
	MaxDimension int `yaml:"max_dimension"`
	// Timeout is the per-image decode time limit.
	Timeout time.Duration `yaml:"timeout"`
	// ROI, when set, adds a pHash of that region (fractions of the image,
	// e.g. the portrait area of a KTP card) to the result.
	ROI *Rect `yaml:"roi"`
	// ROIFullDecode hashes the ROI from a full-resolution decode instead of
	// the 1/8-scale DC image (whose portrait area on a phone photo of a
	// card is only ~30 pixels wide): better discrimination between
	// different portraits on one template, at the cost of a full decode.
	ROIFullDecode bool `yaml:"roi_full_decode"`
}

// ROIShift is how far (as a fraction of the image) the shifted ROI hashes
// move the region.
const ROIShift = 0.0125

// ROIScales are the region sizes (relative to the configured ROI, about
// its centre) the shifted ROI hashes are taken at: a card cropped by 5 %
// shows its portrait 5 % larger, relative to the image, than the
// uncropped card does.
var ROIScales = []float64{1, 0.95, 1.05}

// Rect is a region as fractions (0..1) of the image width and height.
type Rect struct {
	X0, Y0, X1, Y1 float64
}

// DefaultConfig suits phone photos of ID cards and selfies.
func DefaultConfig() Config {
	return Config{
		MaxBytes:     20 << 20,
		MaxPixels:    50_000_000, // a 48 MP phone photo passes, a 20000x20000 bomb does not
		MaxDimension: 16384,
		Timeout:      10 * time.Second,
	}
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBytes <= 0 {
		errs = append(errs, errors.New("imghash: max_bytes must be positive"))
	}
	if c.MaxPixels <= 0 {
		errs = append(errs, errors.New("imghash: max_pixels must be positive"))
	}
	if c.MaxDimension <= 0 {
		errs = append(errs, errors.New("imghash: max_dimension must be positive"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("imghash: timeout must be positive"))
	}
	if r := c.ROI; r != nil {
		if r.X0 < 0 || r.Y0 < 0 || r.X1 > 1 || r.Y1 > 1 || r.X0 >= r.X1 || r.Y0 >= r.Y1 {
			errs = append(errs, fmt.Errorf("imghash: roi %+v must satisfy 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1", *r))
		}
	}
	return errors.Join(errs...)
}

// Reason classifies why an image could not be hashed. Each is counted
// separately by the detector.
type Reason string

const (
	ReasonEmpty         Reason = "empty"          // zero bytes
	ReasonTooLarge      Reason = "too_large"      // more than MaxBytes
	ReasonUnknownFormat Reason = "unknown_format" // not JPEG, PNG or GIF
	ReasonZeroSize      Reason = "zero_size"      // header says 0 x N
	ReasonAbsurdSize    Reason = "absurd_size"    // a side above MaxDimension or aspect ratio above 100:1
	ReasonPixelBudget   Reason = "pixel_budget"   // width x height above MaxPixels: decompression bomb
	ReasonTruncated     Reason = "truncated"      // data ends early
	ReasonCorrupt       Reason = "corrupt"        // malformed data
	ReasonUnsupported   Reason = "unsupported"    // valid but unsupported variant (e.g. arithmetic JPEG)
	ReasonTimeout       Reason = "timeout"        // decode exceeded Timeout
	ReasonPanic         Reason = "decoder_panic"  // the decoder panicked; recovered
)

// Reasons lists every reason, for metrics and docs.
var Reasons = []Reason{ReasonEmpty, ReasonTooLarge, ReasonUnknownFormat, ReasonZeroSize, ReasonAbsurdSize,
	ReasonPixelBudget, ReasonTruncated, ReasonCorrupt, ReasonUnsupported, ReasonTimeout, ReasonPanic}

// DecodeError is a permanent failure to hash one image.
type DecodeError struct {
	Reason Reason
	Detail string
}

func (e *DecodeError) Error() string { return "image " + string(e.Reason) + ": " + e.Detail }

// ReasonOf returns the reason of a *DecodeError in err's chain, or "".
func ReasonOf(err error) Reason {
	var d *DecodeError
	if errors.As(err, &d) {
		return d.Reason
	}
	return ""
}

// Hashes is what the detector keeps about one image.
type Hashes struct {
	SHA256 [32]byte
	PHash  uint64 // goimagehash PerceptionHash
	DHash  uint64 // goimagehash DifferenceHash
	// ROIPHash is the pHash of Config.ROI; zero when no ROI is configured.
	ROIPHash uint64
	HasROI   bool
	// ROIShifts are pHashes of the ROI moved by ROIShift of the image size
	// in each direction (8 neighbours): a cropped or re-photographed card
	// puts the portrait a little elsewhere. Matching takes the smallest
	// distance from any of them to the other image's ROIPHash; only the
	// image being inserted needs them, so the detector does not keep them.
	ROIShifts []uint64
	// ROIDHash and ROIDShifts are the same for dHash: a second, partly
	// independent look at the portrait.
	ROIDHash   uint64
	ROIDShifts []uint64
	// ROIColour is the colour layout of the ROI (HasColour: the image has
	// chroma), and ROIColourShifts the layouts of the shifted regions.
	ROIColour       Colour
	HasColour       bool
	ROIColourShifts []Colour

	Format        string // "jpeg", "png", "gif"
	Width, Height int
	// Path is "dc" (JPEG DC coefficients only) or "full" (full decode).
	Path string
	// StdDev is the standard deviation (0..127) of the grey levels of the
	// reduced image: near-uniform images (blank, lens cap, a wall) have
	// little and their hashes are noise.
	StdDev float64
}

// SHA256Hex is the lowercase hex SHA-256.
func (h Hashes) SHA256Hex() string { return hex.EncodeToString(h.SHA256[:]) }

// Hash hashes one encoded image under cfg's limits. Errors are *DecodeError.
// Safe for concurrent use.
func Hash(cfg Config, data []byte) (Hashes, error) { return hashWith(cfg, data, decodeSync) }

func hashWith(cfg Config, data []byte, decode func([]byte, string, int64) decoded) (Hashes, error) {
	var h Hashes
	if len(data) == 0 {
		return h, &DecodeError{ReasonEmpty, "no bytes"}
	}
	if int64(len(data)) > cfg.MaxBytes {
		return h, &DecodeError{ReasonTooLarge, fmt.Sprintf("%d bytes, limit %d", len(data), cfg.MaxBytes)}
	}
	h.SHA256 = sha256.Sum256(data)
	// Our own look at the header first: the standard decoders report zero
	// sizes as generic format errors, and we want them told apart.
	if w, ht, ok := headerSize(data); ok {
		if err := checkSize(cfg, w, ht); err != nil {
			return h, err
		}
	}
	ic, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return h, &DecodeError{ReasonUnknownFormat, sniff(data)}
		}
		return h, classify(err, "header")
	}
	h.Format, h.Width, h.Height = format, ic.Width, ic.Height
	if err := checkSize(cfg, ic.Width, ic.Height); err != nil {
		return h, err
	}
	dec := decodeGrey(cfg, data, format, decode)
	if dec.err != nil {
		return h, dec.err
	}
	h.Path = dec.path
	roiOnDC := cfg.ROI
	if cfg.ROIFullDecode && dec.path == "dc" {
		roiOnDC = nil
	}
	if err := hashGrey(&h, dec.img, dec.chroma, roiOnDC); err != nil {
		return h, err
	}
	if cfg.ROI != nil && roiOnDC == nil {
		full := decodeGrey(cfg, data, format, decodeFull)
		if full.err != nil {
			return h, full.err
		}
		if err := roiHashes(&h, full.img, chromaOf(full.img), *cfg.ROI); err != nil {
			return h, err
		}
	}
	return h, nil
}

func checkSize(cfg Config, w, h int) error {
	switch {
	case w <= 0 || h <= 0:
		return &DecodeError{ReasonZeroSize, fmt.Sprintf("%dx%d", w, h)}
	case w > cfg.MaxDimension || h > cfg.MaxDimension:
		return &DecodeError{ReasonAbsurdSize, fmt.Sprintf("%dx%d, limit %d per side", w, h, cfg.MaxDimension)}
	case int64(w)*int64(h) > cfg.MaxPixels:
		return &DecodeError{ReasonPixelBudget, fmt.Sprintf("%dx%d = %d pixels, budget %d", w, h, int64(w)*int64(h), cfg.MaxPixels)}
	case w > 100*h || h > 100*w:
		return &DecodeError{ReasonAbsurdSize, fmt.Sprintf("%dx%d aspect ratio", w, h)}
	}
	return nil
}

type decoded struct {
	img    image.Image
	chroma chromaPlanes // the DC path's chroma planes; a full decode's are derived only when a ROI needs them
	path   string
	err    error
}

// decodeGrey runs the decode in a goroutine so that a pathological input
// can be abandoned at the deadline (the goroutine finishes in the
// background; the pixel budget bounds what it can allocate meanwhile) and
// so that a decoder panic is recovered.
func decodeGrey(cfg Config, data []byte, format string, decode func([]byte, string, int64) decoded) decoded {
	done := make(chan decoded, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- decoded{err: &DecodeError{ReasonPanic, fmt.Sprintf("%v\n%s", r, firstLines(debug.Stack(), 12))}}
			}
		}()
		done <- decode(data, format, cfg.MaxPixels)
	}()
	t := time.NewTimer(cfg.Timeout)
	defer t.Stop()
	select {
	case d := <-done:
		return d
	case <-t.C:
		return decoded{err: &DecodeError{ReasonTimeout, fmt.Sprintf("decode took longer than %v", cfg.Timeout)}}
	}
}

// smallSide: below this, a full decode is cheap and the DC plane (1/8)
// would be smaller than goimagehash's 64x64 working size, so take the full
// path for fidelity.
const smallSide = 512

func decodeSync(data []byte, format string, maxPixels int64) decoded {
	if format == "jpeg" {
		dc, err := jpegdc.DecodeMax(data, int(maxPixels/64)+1)
		if err == nil && dc.Truncated {
			return decoded{err: &DecodeError{ReasonTruncated, "jpeg: entropy-coded data ends before the last block"}}
		}
		if err == nil && min(dc.Width, dc.Height) >= smallSide {
			return decoded{img: dc.Gray, chroma: chromaPlanes{dc.Cb, dc.Cr}, path: "dc"}
		}
		var small *jpegdc.Image
		if err == nil {
			small, err = dc, jpegdc.ErrUnsupported // small: full decode below
		}
		if !errors.Is(err, jpegdc.ErrUnsupported) {
			return decoded{err: classify(err, "jpeg")}
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			if small != nil {
				// image/jpeg rejects some valid files (progressive with
				// restart markers); the DC plane is good enough.
				return decoded{img: small.Gray, chroma: chromaPlanes{small.Cb, small.Cr}, path: "dc"}
			}
			return decoded{err: classify(err, "jpeg")}
		}
		return decoded{img: img, path: "full"}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return decoded{err: classify(err, format)}
	}
	return decoded{img: img, path: "full"}
}

func classify(err error, what string) error {
	var d *DecodeError
	if errors.As(err, &d) {
		return err
	}
	msg := err.Error()
	switch {
	case errors.Is(err, jpegdc.ErrUnsupported), strings.Contains(msg, "unsupported"):
		return &DecodeError{ReasonUnsupported, what + ": " + msg}
	case strings.Contains(msg, "truncated"), strings.Contains(msg, "unexpected EOF"), strings.Contains(msg, "not enough pixel data"),
		errors.Is(err, errUnexpectedEOF()):
		return &DecodeError{ReasonTruncated, what + ": " + msg}
	default:
		return &DecodeError{ReasonCorrupt, what + ": " + msg}
	}
}

func hashGrey(h *Hashes, img image.Image, chroma chromaPlanes, roi *Rect) error {
	if roi != nil && chroma.cb == nil {
		chroma = chromaOf(img) // a full decode (or a grey DC plane: none)
	}
	img = shrink(img)
	h.StdDev = stdDev(img)
	p, err := goimagehash.PerceptionHash(img)
	if err != nil {
		return &DecodeError{ReasonCorrupt, "phash: " + err.Error()}
	}
	d, err := goimagehash.DifferenceHash(img)
	if err != nil {
		return &DecodeError{ReasonCorrupt, "dhash: " + err.Error()}
	}
	h.PHash, h.DHash = p.GetHash(), d.GetHash()
	if roi != nil {
		return roiHashes(h, img, chroma, *roi)
	}
	return nil
}

func decodeFull(data []byte, format string, _ int64) decoded {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return decoded{err: classify(err, format)}
	}
	return decoded{img: img, path: "full"}
}

func roiHashes(h *Hashes, img image.Image, chroma chromaPlanes, roi Rect) error {
	h.ROIShifts, h.ROIDShifts, h.ROIColourShifts = nil, nil, nil
	g := toGray(img)
	cx, cy, hw, hh := (roi.X0+roi.X1)/2, (roi.Y0+roi.Y1)/2, (roi.X1-roi.X0)/2, (roi.Y1-roi.Y0)/2
	for _, sc := range ROIScales {
		for _, dy := range []float64{0, -ROIShift, ROIShift} {
			for _, dx := range []float64{0, -ROIShift, ROIShift} {
				rr := Rect{cx + dx - hw*sc, cy + dy - hh*sc, cx + dx + hw*sc, cy + dy + hh*sc}
				if rr.X0 < 0 || rr.Y0 < 0 || rr.X1 > 1 || rr.Y1 > 1 {
					continue
				}
				// The region is area-averaged (with fractional pixel coverage)
				// to a fixed small size before hashing, so that its hash does
				// not depend on which decode path produced the grey image (the
				// 1/8-scale DC plane of a large JPEG, or a full decode of a PNG
				// or a small JPEG) nor on where the region's edges fall on that
				// image's pixel grid; goimagehash's own bilinear resize of a
				// 25-pixel region versus a 200-pixel one did.
				p, err := goimagehash.PerceptionHash(areaGray(g, rr, roiPSide, roiPSide))
				if err != nil {
					return &DecodeError{ReasonCorrupt, "roi phash: " + err.Error()}
				}
				d, err := goimagehash.DifferenceHash(areaGray(g, rr, 9, 8))
				if err != nil {
					return &DecodeError{ReasonCorrupt, "roi dhash: " + err.Error()}
				}
				c, hasColour := chroma.layout(rr)
				if dx == 0 && dy == 0 && sc == 1 {
					h.ROIPHash, h.ROIDHash, h.HasROI = p.GetHash(), d.GetHash(), true
					h.ROIColour, h.HasColour = c, hasColour
					continue
				}
				h.ROIShifts = append(h.ROIShifts, p.GetHash())
				h.ROIDShifts = append(h.ROIDShifts, d.GetHash())
				if hasColour {
					h.ROIColourShifts = append(h.ROIColourShifts, c)
				}
			}
		}
	}
	return nil
}

// roiPSide is the side of the area-averaged region that the ROI pHash is
// computed from: small enough that the DC plane of a phone photo of a card
// (whose portrait area is ~25 pixels wide) has as much detail as a full
// decode, large enough for the 8x8 lowest DCT frequencies pHash keeps.
const roiPSide = 16

// toGray returns img as *image.Gray (converting if needed).
func toGray(img image.Image) *image.Gray {
	switch m := img.(type) {
	case *image.Gray:
		return m
	case *image.YCbCr:
		return &image.Gray{Pix: m.Y, Stride: m.YStride, Rect: m.Rect}
	}
	b := img.Bounds()
	g := image.NewGray(b)
	draw.Draw(g, b, img, b.Min, draw.Src)
	return g
}

// areaGray resamples the region r (fractions of g's bounds) to a w x h
// grey image; each output pixel is the mean of the source area it covers,
// weighting partly covered source pixels by the covered fraction.
func areaGray(g *image.Gray, r Rect, w, h int) *image.Gray {
	b := g.Bounds()
	xw := areaWeights(r.X0*float64(b.Dx()), r.X1*float64(b.Dx()), w, b.Dx())
	yw := areaWeights(r.Y0*float64(b.Dy()), r.Y1*float64(b.Dy()), h, b.Dy())
	// horizontal pass: rows of the region's vertical span only
	y0, y1 := yw[0].first, yw[h-1].first+len(yw[h-1].w)
	tmp := make([]float64, (y1-y0)*w)
	for y := y0; y < y1; y++ {
		row := g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):]
		for x, cw := range xw {
			var s float64
			for i, wt := range cw.w {
				s += wt * float64(row[cw.first+i])
			}
			tmp[(y-y0)*w+x] = s
		}
	}
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y, cw := range yw {
		for x := 0; x < w; x++ {
			var s float64
			for i, wt := range cw.w {
				s += wt * tmp[(cw.first+i-y0)*w+x]
			}
			out.Pix[y*out.Stride+x] = uint8(math.Min(255, math.Max(0, s+0.5)))
		}
	}
	return out
}

type coverage struct {
	first int       // first source pixel
	w     []float64 // normalised weights of pixels first, first+1, ...
}

// areaWeights splits the source span [a, b) (in pixels, of a line of n)
// into m equal cells and returns each cell's source pixel weights.
func areaWeights(a, b float64, m, n int) []coverage {
	out := make([]coverage, m)
	step := (b - a) / float64(m)
	for i := range out {
		lo, hi := a+float64(i)*step, a+float64(i+1)*step
		first := max(0, min(n-1, int(math.Floor(lo))))
		last := max(first, min(n-1, int(math.Ceil(hi))-1))
		c := coverage{first: first, w: make([]float64, last-first+1)}
		var sum float64
		for p := first; p <= last; p++ {
			cov := math.Min(hi, float64(p+1)) - math.Max(lo, float64(p))
			if cov < 0 {
				cov = 0
			}
			c.w[p-first] = cov
			sum += cov
		}
		if sum == 0 { // a cell narrower than rounding: take its pixel
			c.w[0], sum = 1, 1
		}
		for k := range c.w {
			c.w[k] /= sum
		}
		out[i] = c
	}
	return out
}

// shrink box-filters a full-resolution image to a grey image no more than
// 8x larger than goimagehash's 64x64 working size, so that its bilinear
// resize stays cheap whatever the input. Images already small pass as is.
func shrink(img image.Image) image.Image {
	b := img.Bounds()
	f := min(b.Dx(), b.Dy()) / 128
	if f < 2 {
		return img
	}
	w, hh := b.Dx()/f, b.Dy()/f
	g := image.NewGray(image.Rect(0, 0, w, hh))
	var src *image.Gray
	switch m := img.(type) {
	case *image.Gray:
		src = m
	case *image.YCbCr:
		src = &image.Gray{Pix: m.Y, Stride: m.YStride, Rect: m.Rect}
	default:
		src = image.NewGray(b)
		draw.Draw(src, b, img, b.Min, draw.Src)
	}
	n := uint32(f * f)
	for y := 0; y < hh; y++ {
		for x := 0; x < w; x++ {
			var s uint32
			for yy := 0; yy < f; yy++ {
				o := src.PixOffset(b.Min.X+x*f, b.Min.Y+y*f+yy)
				for _, v := range src.Pix[o : o+f] {
					s += uint32(v)
				}
			}
			g.Pix[y*g.Stride+x] = uint8((s + n/2) / n)
		}
	}
	return g
}

func stdDev(img image.Image) float64 {
	b := img.Bounds()
	var sum, sq float64
	n := 0
	g, isGray := img.(*image.Gray)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			var v float64
			if isGray {
				v = float64(g.Pix[g.PixOffset(x, y)])
			} else {
				r, gg, bb, _ := img.At(x, y).RGBA()
				v = (0.299*float64(r) + 0.587*float64(gg) + 0.114*float64(bb)) / 257
			}
			sum += v
			sq += v * v
			n++
		}
	}
	if n == 0 {
		return 0
	}
	m := sum / float64(n)
	return math.Sqrt(max(0, sq/float64(n)-m*m))
}

// headerSize reads width and height from a PNG IHDR or a JPEG SOF.
func headerSize(data []byte) (w, h int, ok bool) {
	if len(data) >= 24 && string(data[:8]) == "\x89PNG\r\n\x1a\n" && string(data[12:16]) == "IHDR" {
		w = int(uint32(data[16])<<24 | uint32(data[17])<<16 | uint32(data[18])<<8 | uint32(data[19]))
		h = int(uint32(data[20])<<24 | uint32(data[21])<<16 | uint32(data[22])<<8 | uint32(data[23]))
		return w, h, true
	}
	if len(data) >= 2 && data[0] == 0xFF && data[1] == 0xD8 {
		w, h, err := jpegdc.DecodeConfig(data)
		if err == nil || errors.Is(err, jpegdc.ErrZeroSize) {
			return w, h, true
		}
	}
	return 0, 0, false
}

func sniff(data []byte) string {
	n := min(len(data), 8)
	return fmt.Sprintf("not a JPEG, PNG or GIF (starts with %x)", data[:n])
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
