package jpegdc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
)

// ErrUnsupported marks a valid-looking JPEG this decoder does not handle.
var ErrUnsupported = errors.New("jpegdc: unsupported JPEG variant")

// FormatError is a corrupt or truncated JPEG.
type FormatError string

// ErrZeroSize is a frame header with zero width or height.
var ErrZeroSize = FormatError("zero width or height")

func (e FormatError) Error() string { return "jpegdc: invalid JPEG: " + string(e) }

// Image is the DC plane of the luma component, and of the chroma
// components when the scan that carried luma's DC carried theirs too (as
// in every baseline interleaved file and libjpeg's progressive files).
type Image struct {
	Gray *image.Gray // ceil(W/8) x ceil(H/8) for a 1x1-sampled luma; see DecodeConfig for the size
	// Cb and Cr are the chroma DC planes, one pixel per chroma block
	// (covering 8*hmax/h x 8*vmax/v image pixels), nil for a grey JPEG or
	// one whose chroma came in scans of their own.
	Cb, Cr *image.Gray
	// Width and Height are the full-resolution dimensions from the frame header.
	Width, Height int
	// Progressive reports an SOF2 frame.
	Progressive bool
	// Truncated reports that the entropy-coded data ended before every
	// block was decoded; missing blocks are mid-grey.
	Truncated bool
}

// DefaultMaxBlocks bounds the luma blocks Decode allocates (4M blocks,
// 268 megapixels); callers check their pixel budget with DecodeConfig first.
const DefaultMaxBlocks = 1 << 22

type huffman struct {
	// lut maps the next lutBits bits to (code length << 8 | symbol); a
	// zero entry means the code is longer than lutBits.
	lut     [1 << lutBits]uint16
	maxcode [17]int32 // largest code of each length, -1 if none
	valptr  [17]int32 // index into vals of the first code of each length
	mincode [17]int32
	vals    [256]uint8
	defined bool
	// skip (AC tables only) maps the next skipBits bits to the bits one
	// AC coefficient occupies (code + magnitude bits) in the low byte and
	// how far it advances the zig-zag index (r+1, 16 for ZRL, 64 for EOB)
	// in the high byte; zero means the code is longer than skipBits.
	skip [1 << skipBits]uint16
}

const (
	lutBits  = 9
	skipBits = 11
)

type component struct {
	id     uint8
	h, v   int
	tq     uint8
	bw, bh int // blocks across and down that hold image data for this component
}

type decoder struct {
	data      []byte
	pos       int
	maxBlocks int

	width, height int
	progressive   bool
	comps         []component
	hmax, vmax    int
	mcusX, mcusY  int
	qt            [4][64]uint16
	qtDefined     [4]bool
	dc, ac        [4]huffman
	restart       int
	adobe         bool
	adobeXform    int

	// luma DC coefficients (quantised, before Al shift handling), padded to
	// the MCU grid for interleaved scans: stride lbw.
	coef     []int32
	lbw, lbh int // allocated block grid
	lumaQ0   uint16
	// chroma DC coefficients, when they share luma's DC scan: stride cbw[i]
	ccoef     [2][]int32
	cbw, cbh  [2]int
	chromaQ0  [2]uint16
	lumaDone  bool // a complete DC pass over luma was decoded (baseline: we can stop)
	dcSeen    bool
	truncated bool

	// bit reader
	acc    uint64
	nbits  uint
	marker bool // hit a marker or end of data; further reads return zeros
	zeros  int  // zero bits fed past the end, to detect runaway decoding
}

// Decode returns the DC plane of the JPEG in data, refusing frames with more
// than DefaultMaxBlocks luma blocks.
func Decode(data []byte) (*Image, error) { return DecodeMax(data, DefaultMaxBlocks) }

// DecodeMax is Decode with a caller-chosen cap on luma 8x8 blocks.
func DecodeMax(data []byte, maxBlocks int) (*Image, error) {
	d := &decoder{data: data, maxBlocks: maxBlocks}
	if err := d.run(); err != nil {
		return nil, err
	}
	return d.image(), nil
}

// DecodeConfig reads only the headers.
func DecodeConfig(data []byte) (w, h int, err error) {
	d := &decoder{data: data, maxBlocks: DefaultMaxBlocks}
	err = d.headers(true)
	return d.width, d.height, err
}

func (d *decoder) u16(p int) int { return int(d.data[p])<<8 | int(d.data[p+1]) }

// nextMarker returns the marker code at d.pos, skipping fill bytes.
func (d *decoder) nextMarker() (byte, error) {
	for {
		if d.pos+1 >= len(d.data) {
			return 0, FormatError("missing marker (truncated file)")
		}
		if d.data[d.pos] != 0xFF {
			// Tolerate garbage between segments as libjpeg does: search.
			i := bytes.IndexByte(d.data[d.pos:], 0xFF)
			if i < 0 {
				return 0, FormatError("missing marker (truncated file)")
			}
			d.pos += i
			continue
		}
		m := d.data[d.pos+1]
		if m == 0xFF {
			d.pos++
			continue
		}
		d.pos += 2
		return m, nil
	}
}

// segment returns the payload of a marker segment at d.pos and advances.
func (d *decoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, FormatError("truncated segment length")
	}
	n := d.u16(d.pos)
	if n < 2 || d.pos+n > len(d.data) {
		return nil, FormatError("truncated segment")
	}
	p := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return p, nil
}

// headers parses up to the first SOS (configOnly: up to SOF).
func (d *decoder) headers(configOnly bool) error {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != 0xD8 {
		return FormatError("missing SOI marker")
	}
	d.pos = 2
	for {
		m, err := d.nextMarker()
		if err != nil {
			return err
		}
		switch {
		case m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01:
			continue // standalone markers
		case m == 0xD9:
			if d.dcSeen {
				return nil // progressive: all scans read
			}
			return FormatError("EOI before image data")
		}
		seg, err := d.segment()
		if err != nil {
			return err
		}
		switch m {
		case 0xC0, 0xC1, 0xC2:
			if d.comps != nil {
				return FormatError("multiple SOF markers")
			}
			if err := d.sof(seg, m == 0xC2); err != nil {
				return err
			}
			if configOnly {
				return nil
			}
		case 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF:
			if configOnly {
				return ErrUnsupported
			}
			return fmt.Errorf("%w: SOF%d (arithmetic, lossless or hierarchical)", ErrUnsupported, m-0xC0)
		case 0xC4:
			if err := d.dht(seg); err != nil {
				return err
			}
		case 0xDB:
			if err := d.dqt(seg); err != nil {
				return err
			}
		case 0xDD:
			if len(seg) < 2 {
				return FormatError("bad DRI")
			}
			d.restart = int(seg[0])<<8 | int(seg[1])
		case 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe = true
				d.adobeXform = int(seg[11])
			}
		case 0xDA:
			if configOnly {
				return FormatError("SOS before SOF")
			}
			if d.comps == nil {
				return FormatError("SOS before SOF")
			}
			if len(d.comps) == 3 && d.adobe && d.adobeXform == 0 {
				// Adobe APP14 transform 0: the components are R, G, B,
				// not Y, Cb, Cr; the first is not luma.
				return fmt.Errorf("%w: Adobe RGB components", ErrUnsupported)
			}
			if err := d.sos(seg); err != nil {
				return err
			}
			if d.lumaDone && !d.progressive {
				return nil
			}
		}
	}
}

func (d *decoder) run() error {
	err := d.headers(false)
	if err != nil {
		var fe FormatError
		// A truncated file after a complete luma DC pass is still usable.
		if errors.As(err, &fe) && d.dcSeen {
			d.truncated = true
			return nil
		}
		return err
	}
	return nil
}

func (d *decoder) sof(seg []byte, progressive bool) error {
	if len(seg) < 6 {
		return FormatError("short SOF")
	}
	if seg[0] != 8 {
		return fmt.Errorf("%w: %d-bit precision", ErrUnsupported, seg[0])
	}
	d.progressive = progressive
	d.height = int(seg[1])<<8 | int(seg[2])
	d.width = int(seg[3])<<8 | int(seg[4])
	n := int(seg[5])
	if d.width == 0 || d.height == 0 {
		return ErrZeroSize
	}
	if n != 1 && n != 3 {
		return fmt.Errorf("%w: %d components", ErrUnsupported, n)
	}
	if len(seg) != 6+3*n {
		return FormatError("bad SOF length")
	}
	d.comps = make([]component, n)
	d.hmax, d.vmax = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		c.id = seg[6+3*i]
		c.h, c.v = int(seg[7+3*i]>>4), int(seg[7+3*i]&15)
		c.tq = seg[8+3*i]
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return FormatError("bad component sampling or table")
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	if n == 1 {
		// A single-component scan is never interleaved: 1 block per MCU.
		d.comps[0].h, d.comps[0].v, d.hmax, d.vmax = 1, 1, 1, 1
	}
	for i := range d.comps {
		c := &d.comps[i]
		cw := (d.width*c.h + d.hmax - 1) / d.hmax
		ch := (d.height*c.v + d.vmax - 1) / d.vmax
		c.bw, c.bh = (cw+7)/8, (ch+7)/8
	}
	if n == 3 {
		if d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B' {
			return fmt.Errorf("%w: RGB components", ErrUnsupported)
		}
	}
	d.mcusX = (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcusY = (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	l := d.comps[0]
	d.lbw, d.lbh = d.mcusX*l.h, d.mcusY*l.v
	if d.lbw*d.lbh > d.maxBlocks || d.lbw <= 0 || d.lbh <= 0 {
		return FormatError(fmt.Sprintf("image too large: %dx%d", d.width, d.height))
	}
	return nil
}

func (d *decoder) dqt(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if tq > 3 {
			return FormatError("bad DQT table id")
		}
		seg = seg[1:]
		switch pq {
		case 0:
			if len(seg) < 64 {
				return FormatError("short DQT")
			}
			for i := 0; i < 64; i++ {
				d.qt[tq][i] = uint16(seg[i])
			}
			seg = seg[64:]
		case 1:
			if len(seg) < 128 {
				return FormatError("short DQT")
			}
			for i := 0; i < 64; i++ {
				d.qt[tq][i] = uint16(seg[2*i])<<8 | uint16(seg[2*i+1])
			}
			seg = seg[128:]
		default:
			return FormatError("bad DQT precision")
		}
		d.qtDefined[tq] = true
	}
	return nil
}

func (d *decoder) dht(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return FormatError("short DHT")
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || th > 3 {
			return FormatError("bad DHT class or id")
		}
		var h *huffman
		if tc == 0 {
			h = &d.dc[th]
		} else {
			h = &d.ac[th]
		}
		var counts [17]int
		total := 0
		for i := 1; i <= 16; i++ {
			counts[i] = int(seg[i])
			total += counts[i]
		}
		if total == 0 || total > 256 || len(seg) < 17+total {
			return FormatError("bad DHT counts")
		}
		*h = huffman{defined: true}
		copy(h.vals[:], seg[17:17+total])
		code, k := int32(0), int32(0)
		for l := 1; l <= 16; l++ {
			h.valptr[l] = k
			h.mincode[l] = code
			code += int32(counts[l])
			k += int32(counts[l])
			if counts[l] == 0 {
				h.maxcode[l] = -1
			} else {
				h.maxcode[l] = code - 1
			}
			if code > 1<<l {
				return FormatError("bad Huffman table (over-subscribed)")
			}
			if l <= lutBits {
				for c := h.mincode[l]; c <= h.maxcode[l]; c++ {
					sym := h.vals[h.valptr[l]+c-h.mincode[l]]
					shift := uint(lutBits - l)
					base := int(c) << shift
					for j := 0; j < 1<<shift; j++ {
						h.lut[base+j] = uint16(l)<<8 | uint16(sym)
					}
				}
			}
			if tc == 1 && l <= skipBits {
				for c := h.mincode[l]; c <= h.maxcode[l]; c++ {
					rs := h.vals[h.valptr[l]+c-h.mincode[l]]
					r, sz := int(rs>>4), int(rs&15)
					inc := r + 1
					if sz == 0 {
						if r == 15 {
							inc = 16
						} else {
							inc = 64
						}
					}
					e := uint16(inc)<<8 | uint16(l+sz)
					shift := uint(skipBits - l)
					base := int(c) << shift
					for j := 0; j < 1<<shift; j++ {
						h.skip[base+j] = e
					}
				}
			}
			code <<= 1
		}
		seg = seg[17+total:]
	}
	return nil
}

// ---- bit reader ----

func (d *decoder) resetBits() {
	d.acc, d.nbits, d.marker = 0, 0, false
}

// fill tops the accumulator up to at least 56 bits. Past a marker or the end
// of data it feeds zero bits (as libjpeg does) and counts them.
func (d *decoder) fill() {
	// Fast path: the next 8 bytes hold no 0xFF (no stuffing, no marker),
	// so append as many whole bytes as fit in one go.
	if !d.marker && d.pos+8 <= len(d.data) && d.nbits <= 32 {
		x := binary.BigEndian.Uint64(d.data[d.pos:])
		if v := ^x; (v-0x0101010101010101)&^v&0x8080808080808080 == 0 {
			n := (64 - d.nbits) >> 3
			x &= ^uint64(0) << (64 - 8*n)
			d.acc |= x >> d.nbits
			d.pos += int(n)
			d.nbits += 8 * n
			return
		}
	}
	for d.nbits <= 56 {
		if d.marker || d.pos >= len(d.data) {
			d.marker = true
			d.nbits += 8
			d.zeros += 8
			continue
		}
		b := d.data[d.pos]
		if b == 0xFF {
			if d.pos+1 < len(d.data) && d.data[d.pos+1] == 0 {
				d.pos += 2
			} else {
				d.marker = true
				continue
			}
		} else {
			d.pos++
		}
		d.acc |= uint64(b) << (56 - d.nbits)
		d.nbits += 8
	}
}

func (d *decoder) bits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if d.nbits < n {
		d.fill()
	}
	v := int32(d.acc >> (64 - n))
	d.acc <<= n
	d.nbits -= n
	return v
}

func extend(v int32, s uint) int32 {
	if v < 1<<(s-1) {
		return v - (1 << s) + 1
	}
	return v
}

var errBadCode = FormatError("bad Huffman code")

func (d *decoder) decodeHuff(h *huffman) (uint8, error) {
	if d.nbits < 16 {
		d.fill()
	}
	e := h.lut[d.acc>>(64-lutBits)]
	if e != 0 {
		l := uint(e >> 8)
		d.acc <<= l
		d.nbits -= l
		return uint8(e), nil
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | int32(d.acc>>63)
		d.acc <<= 1
		d.nbits--
		if h.maxcode[l] >= 0 && code <= h.maxcode[l] && code >= h.mincode[l] {
			return h.vals[h.valptr[l]+code-h.mincode[l]], nil
		}
	}
	return 0, errBadCode
}

// skipAC skips the AC coefficients of one baseline block. This is the hot
// loop of the whole package: the bit buffer lives in locals (the compiler
// keeps them in registers, not in *d), the common refill is inlined and
// tops the buffer up to at least 57 bits, and symbols are then consumed
// while at least 26 bits remain (the most one AC symbol takes: 16 code
// bits + 10 magnitude bits), so a refill happens once per 4-5 symbols.
func (d *decoder) skipAC(h *huffman) error {
	acc, nbits := d.acc, d.nbits
	skip := &h.skip
	for k := 1; k < 64; {
		if nbits < 57 {
			refilled := false
			if !d.marker && d.pos+8 <= len(d.data) {
				x := binary.BigEndian.Uint64(d.data[d.pos:])
				if v := ^x; (v-0x0101010101010101)&^v&0x8080808080808080 == 0 {
					n := (64 - nbits) >> 3
					acc |= (x &^ (1<<(64-8*n) - 1)) >> nbits
					d.pos += int(n)
					nbits += 8 * n
					refilled = true
				}
			}
			if !refilled {
				d.acc, d.nbits = acc, nbits
				d.fill()
				acc, nbits = d.acc, d.nbits
			}
		}
		slow := false
		for nbits >= 26 {
			e := skip[acc>>(64-skipBits)]
			if e == 0 {
				slow = true
				break
			}
			n := uint(e & 0xFF)
			acc <<= n
			nbits -= n
			k += int(e >> 8)
			if k >= 64 {
				d.acc, d.nbits = acc, nbits
				return nil
			}
		}
		if !slow {
			continue
		}
		// Long code: the table-driven slow path (needs >= 32 bits).
		if nbits < 32 {
			d.acc, d.nbits = acc, nbits
			d.fill()
			acc, nbits = d.acc, d.nbits
		}
		d.acc, d.nbits = acc, nbits
		rs, err := d.decodeHuff(h)
		if err != nil {
			return err
		}
		acc, nbits = d.acc, d.nbits
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				break // EOB
			}
			k += 16
			continue
		}
		k += r + 1
		acc <<= s
		nbits -= s
	}
	d.acc, d.nbits = acc, nbits
	return nil
}

// ---- scans ----

func (d *decoder) sos(seg []byte) error {
	if len(seg) < 1 {
		return FormatError("short SOS")
	}
	ns := int(seg[0])
	if ns < 1 || ns > len(d.comps) || len(seg) != 4+2*ns {
		return FormatError("bad SOS length")
	}
	type scomp struct {
		ci     int
		dc, ac *huffman
	}
	sc := make([]scomp, ns)
	for i := 0; i < ns; i++ {
		id := seg[1+2*i]
		ci := -1
		for j, c := range d.comps {
			if c.id == id {
				ci = j
			}
		}
		if ci < 0 {
			return FormatError("SOS names an unknown component")
		}
		td, ta := seg[2+2*i]>>4, seg[2+2*i]&15
		if td > 3 || ta > 3 {
			return FormatError("bad SOS table selector")
		}
		sc[i] = scomp{ci, &d.dc[td], &d.ac[ta]}
	}
	ss, se := int(seg[1+2*ns]), int(seg[2+2*ns])
	ah, al := uint(seg[3+2*ns]>>4), uint(seg[3+2*ns]&15)

	lumaIn := false
	for _, s := range sc {
		if s.ci == 0 {
			lumaIn = true
		}
	}
	dcScan := ss == 0
	if d.progressive {
		if (ss == 0) != (se == 0) || se > 63 || ss > se || al > 13 {
			return FormatError("bad progressive scan parameters")
		}
		if ss > 0 && ns != 1 {
			return FormatError("interleaved AC scan")
		}
	} else if ss != 0 || se != 63 || ah != 0 || al != 0 {
		// Tolerate, as libjpeg does for sequential files: Ss/Se/Ah/Al are ignored.
		ss, se, ah, al = 0, 63, 0, 0
		dcScan = true
	}
	if !lumaIn || (d.progressive && !dcScan) {
		return d.skipScan()
	}
	for _, s := range sc {
		if !s.dc.defined && (!d.progressive || ah == 0) {
			return FormatError("scan uses an undefined DC Huffman table")
		}
		if !d.progressive && !s.ac.defined {
			return FormatError("scan uses an undefined AC Huffman table")
		}
	}
	if !d.qtDefined[d.comps[0].tq] {
		return FormatError("luma quantisation table not defined")
	}
	d.lumaQ0 = d.qt[d.comps[0].tq][0]
	if d.coef == nil {
		d.coef = make([]int32, d.lbw*d.lbh)
	}
	for _, s := range sc {
		if i := s.ci - 1; i >= 0 && i < 2 && d.ccoef[i] == nil && ah == 0 && d.qtDefined[d.comps[s.ci].tq] {
			c := d.comps[s.ci]
			d.cbw[i], d.cbh[i] = d.mcusX*c.h, d.mcusY*c.v
			d.chromaQ0[i] = d.qt[c.tq][0]
			d.ccoef[i] = make([]int32, d.cbw[i]*d.cbh[i])
		}
	}
	d.resetBits()
	d.zeros = 0

	var preds [4]int32
	// Blocks of one MCU: interleaved scans use each component's h x v blocks;
	// a single-component scan is 1 block per "MCU" over that component's own grid.
	interleaved := ns > 1
	var mx, my int
	if interleaved {
		mx, my = d.mcusX, d.mcusY
	} else {
		c := d.comps[sc[0].ci]
		mx, my = c.bw, c.bh
	}
	total := mx * my
	// Bound runaway decoding of garbage: past the data, at most a few bits per block.
	maxZeros := 64 + 8*total*len(sc)
	rstCount := 0
	for n := 0; n < total; n++ {
		if d.restart > 0 && n > 0 && n%d.restart == 0 {
			if err := d.handleRestart(&rstCount); err != nil {
				return err
			}
			preds = [4]int32{}
		}
		bx0, by0 := n%mx, n/mx
		for _, s := range sc {
			c := &d.comps[s.ci]
			hb, vb := 1, 1
			if interleaved {
				hb, vb = c.h, c.v
			}
			for v := 0; v < vb; v++ {
				for h := 0; h < hb; h++ {
					if !d.progressive || ah == 0 {
						t, err := d.decodeHuff(s.dc)
						if err != nil {
							return d.scanErr(err)
						}
						if t > 11 {
							return d.scanErr(FormatError("bad DC magnitude"))
						}
						diff := int32(0)
						if t > 0 {
							diff = extend(d.bits(uint(t)), uint(t))
						}
						preds[s.ci&3] += diff
						bx, by := bx0*hb+h, by0*vb+v
						if s.ci == 0 {
							if bx < d.lbw && by < d.lbh {
								d.coef[by*d.lbw+bx] = preds[0] << al
							}
						} else if i := s.ci - 1; i < 2 && d.ccoef[i] != nil && bx < d.cbw[i] && by < d.cbh[i] {
							d.ccoef[i][by*d.cbw[i]+bx] = preds[s.ci&3] << al
						}
						if !d.progressive {
							if err := d.skipAC(s.ac); err != nil {
								return d.scanErr(err)
							}
						}
					} else {
						// DC refinement: one bit per block.
						bit := d.bits(1)
						bx, by := bx0*hb+h, by0*vb+v
						if s.ci == 0 && bit != 0 {
							if bx < d.lbw && by < d.lbh {
								d.coef[by*d.lbw+bx] |= 1 << al
							}
						} else if i := s.ci - 1; bit != 0 && i >= 0 && i < 2 && d.ccoef[i] != nil && bx < d.cbw[i] && by < d.cbh[i] {
							d.ccoef[i][by*d.cbw[i]+bx] |= 1 << al
						}
					}
				}
			}
		}
		if d.zeros > maxZeros {
			d.truncated = true
			break
		}
	}
	if d.zeros > 64 {
		d.truncated = true
	}
	if ah == 0 {
		d.dcSeen = true
	}
	d.lumaDone = true
	if !d.progressive {
		return nil // baseline: the luma DC plane is complete, stop here
	}
	// Move to the byte after the entropy-coded data.
	return d.skipScan()
}

func (d *decoder) scanErr(err error) error {
	if d.marker && d.dcSeen {
		d.truncated = true
		return nil
	}
	if d.marker {
		// Garbage after the data ended: treat as truncation of this pass.
		d.truncated = true
		d.dcSeen = true
		return nil
	}
	return err
}

func (d *decoder) handleRestart(count *int) error {
	d.resetBits()
	// Zero bits fed while prefetching past the marker are not truncation.
	d.zeros = 0
	// Expect RSTn at d.pos; tolerate fill bytes and garbage by searching.
	for d.pos+1 < len(d.data) {
		if d.data[d.pos] == 0xFF {
			m := d.data[d.pos+1]
			if m >= 0xD0 && m <= 0xD7 {
				d.pos += 2
				*count++
				return nil
			}
			if m == 0xFF {
				d.pos++
				continue
			}
			if m != 0 {
				// Another marker: data is missing; keep decoding zeros.
				d.marker = true
				return nil
			}
		}
		d.pos++
	}
	d.marker = true
	return nil
}

// skipScan moves d.pos to the next marker that is not RSTn or stuffing.
func (d *decoder) skipScan() error {
	for {
		i := bytes.IndexByte(d.data[d.pos:], 0xFF)
		if i < 0 {
			d.pos = len(d.data)
			return FormatError("entropy-coded data runs to end of file")
		}
		d.pos += i
		if d.pos+1 >= len(d.data) {
			d.pos = len(d.data)
			return FormatError("entropy-coded data runs to end of file")
		}
		m := d.data[d.pos+1]
		if m == 0 || (m >= 0xD0 && m <= 0xD7) || m == 0xFF {
			d.pos++
			continue
		}
		return nil
	}
}

func (d *decoder) image() *Image {
	l := d.comps[0]
	img := &Image{Gray: dcPlane(d.coef, d.lbw, l.bw, l.bh, d.lumaQ0), Width: d.width, Height: d.height, Progressive: d.progressive, Truncated: d.truncated}
	if len(d.comps) == 3 && d.ccoef[0] != nil && d.ccoef[1] != nil {
		img.Cb = dcPlane(d.ccoef[0], d.cbw[0], d.comps[1].bw, d.comps[1].bh, d.chromaQ0[0])
		img.Cr = dcPlane(d.ccoef[1], d.cbw[1], d.comps[2].bw, d.comps[2].bh, d.chromaQ0[1])
	}
	return img
}

// dcPlane turns quantised DC coefficients (stride stride) into the w x h
// plane of block means.
func dcPlane(coef []int32, stride, w, h int, q0 uint16) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	q := int32(q0)
	for y := 0; y < h; y++ {
		row := coef[y*stride : y*stride+w]
		out := g.Pix[y*g.Stride : y*g.Stride+w]
		for x, c := range row {
			// DC = 8 x (block mean - 128) after dequantisation; round.
			v := (c*q+4)>>3 + 128
			if c*q < 0 {
				v = -((-c*q + 4) >> 3) + 128
			}
			if v < 0 {
				v = 0
			} else if v > 255 {
				v = 255
			}
			out[x] = uint8(v)
		}
	}
	return g
}
