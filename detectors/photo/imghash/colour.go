package imghash

import (
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"math"
)

// Colour is the colour layout of a region: the mean chroma (Cb-128,
// Cr-128) of each cell of a ColourGrid x ColourGrid grid, row by row.
// The grey hashes cannot see colour, and the portraits on ID cards of one
// template differ in it more than in grey structure: the background
// (red or blue), the clothes, a headscarf, the skin. Compared by cosine
// similarity, so it does not change when the brightness of the whole
// image is scaled.
type Colour [2 * ColourGrid * ColourGrid]int8

// ColourGrid is the side of the colour layout's grid.
const ColourGrid = 3

// minChroma is the root-mean-square chroma below which a region counts as
// colourless (a grey scan or photocopy): its layout is noise and is not
// compared.
const minChroma = 3.0

// Chromatic reports whether c carries colour worth comparing.
func (c Colour) Chromatic() bool {
	var s float64
	for _, v := range c {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s/float64(len(c))) >= minChroma
}

// Similarity is the cosine similarity of two colour layouts (-1..1); 1 when
// either is colourless, so that a grey copy is judged on its grey hashes.
func (c Colour) Similarity(o Colour) float64 {
	if !c.Chromatic() || !o.Chromatic() {
		return 1
	}
	var ab, aa, bb float64
	for i := range c {
		x, y := float64(c[i]), float64(o[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	return ab / math.Sqrt(aa*bb)
}

// chromaPlanes are an image's Cb and Cr at reduced resolution, each
// covering the whole image; nil for a grey image.
type chromaPlanes struct{ cb, cr *image.Gray }

// layout is the colour layout of region r (fractions of the image).
func (p chromaPlanes) layout(r Rect) (Colour, bool) {
	var c Colour
	if p.cb == nil || p.cr == nil {
		return c, false
	}
	cb := areaGray(p.cb, r, ColourGrid, ColourGrid)
	cr := areaGray(p.cr, r, ColourGrid, ColourGrid)
	for i := 0; i < ColourGrid*ColourGrid; i++ {
		c[2*i] = int8(int(cb.Pix[i]) - 128)
		c[2*i+1] = int8(int(cr.Pix[i]) - 128)
	}
	return c, true
}

// chromaOf returns the chroma planes of a fully decoded image: the planes
// themselves for a JPEG's YCbCr, block means of RGB converted to YCbCr
// otherwise; none for a grey image.
func chromaOf(img image.Image) chromaPlanes {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.Gray, *image.Gray16:
		return chromaPlanes{}
	case *image.YCbCr:
		if b.Min == (image.Point{}) {
			cw, ch := b.Dx(), b.Dy()
			switch m.SubsampleRatio {
			case image.YCbCrSubsampleRatio444:
			case image.YCbCrSubsampleRatio422:
				cw = (cw + 1) / 2
			case image.YCbCrSubsampleRatio420:
				cw, ch = (cw+1)/2, (ch+1)/2
			case image.YCbCrSubsampleRatio440:
				ch = (ch + 1) / 2
			default:
				return rgbChroma(img)
			}
			r := image.Rect(0, 0, cw, ch)
			return chromaPlanes{&image.Gray{Pix: m.Cb, Stride: m.CStride, Rect: r}, &image.Gray{Pix: m.Cr, Stride: m.CStride, Rect: r}}
		}
	}
	return rgbChroma(img)
}

// rgbChroma averages f x f blocks (f keeps the planes near 128 pixels on
// the short side) and converts each mean colour to Cb, Cr: the mean of a
// linear transform is the transform of the mean.
func rgbChroma(img image.Image) chromaPlanes {
	b := img.Bounds()
	f := max(1, min(b.Dx(), b.Dy())/128)
	w, h := (b.Dx()+f-1)/f, (b.Dy()+f-1)/f
	cb, cr := image.NewGray(image.Rect(0, 0, w, h)), image.NewGray(image.Rect(0, 0, w, h))
	for by := 0; by < h; by++ {
		for bx := 0; bx < w; bx++ {
			var sr, sg, sb, n uint64
			for y := b.Min.Y + by*f; y < min(b.Max.Y, b.Min.Y+(by+1)*f); y++ {
				for x := b.Min.X + bx*f; x < min(b.Max.X, b.Min.X+(bx+1)*f); x++ {
					r, g, bl := rgbAt(img, x, y)
					sr, sg, sb, n = sr+uint64(r), sg+uint64(g), sb+uint64(bl), n+1
				}
			}
			_, u, v := color.RGBToYCbCr(uint8((sr+n/2)/n), uint8((sg+n/2)/n), uint8((sb+n/2)/n))
			cb.Pix[by*cb.Stride+bx], cr.Pix[by*cr.Stride+bx] = u, v
		}
	}
	return chromaPlanes{cb, cr}
}

// rgbAt is the 8-bit colour at (x, y), with fast paths for the decoders'
// usual outputs.
func rgbAt(img image.Image, x, y int) (r, g, b uint8) {
	switch m := img.(type) {
	case *image.RGBA:
		i := m.PixOffset(x, y)
		return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
	case *image.NRGBA:
		i := m.PixOffset(x, y)
		return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
	}
	c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
	return c.R, c.G, c.B
}

// String is the layout as hex, one byte (two's complement) per value.
func (c Colour) String() string {
	var b [len(c)]byte
	for i, v := range c {
		b[i] = byte(v)
	}
	return hex.EncodeToString(b[:])
}

// ParseColour reads what Colour.String wrote.
func ParseColour(s string) (Colour, error) {
	var c Colour
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(c) {
		return c, fmt.Errorf("imghash: bad colour layout %q", s)
	}
	for i, v := range b {
		c[i] = int8(v)
	}
	return c, nil
}
