// Package synth makes deterministic photo-like test images: smooth shading,
// hard edges, a face-like blob and sensor-like noise, so that JPEG files made
// from them have a realistic number of AC coefficients (about 1-2 bits per
// pixel at quality 85-90) rather than the near-empty blocks of a flat
// synthetic image, which would flatter any decoder benchmark.
package synth

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
)

// Photo returns a w x h RGBA image determined by seed.
func Photo(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// a few random shapes over a gradient
	type blob struct {
		cx, cy, rx, ry float64
		c              [3]float64
	}
	blobs := make([]blob, 6)
	for i := range blobs {
		blobs[i] = blob{r.Float64() * float64(w), r.Float64() * float64(h),
			(0.1 + 0.3*r.Float64()) * float64(w), (0.1 + 0.3*r.Float64()) * float64(h),
			[3]float64{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}}
	}
	fx, fy := 2+r.Float64()*6, 2+r.Float64()*6
	base := [3]float64{r.Float64() * 200, r.Float64() * 200, r.Float64() * 200}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			u, v := float64(x)/float64(w), float64(y)/float64(h)
			var c [3]float64
			for k := 0; k < 3; k++ {
				c[k] = base[k]*(0.6+0.4*u) + 30*math.Sin(fx*u*math.Pi+float64(k))*math.Cos(fy*v*math.Pi)
			}
			for _, b := range blobs {
				dx, dy := (float64(x)-b.cx)/b.rx, (float64(y)-b.cy)/b.ry
				if dx*dx+dy*dy < 1 {
					for k := 0; k < 3; k++ {
						c[k] = 0.3*c[k] + 0.7*b.c[k]*(1-0.3*(dx*dx+dy*dy))
					}
				}
			}
			// fine texture (fabric, skin pores, sensor noise)
			n := r.NormFloat64()*7 + 6*math.Sin(float64(x)*0.9+float64(y)*0.4)
			img.SetRGBA(x, y, color.RGBA{clamp(c[0] + n), clamp(c[1] + n), clamp(c[2] + n), 255})
		}
	}
	return img
}

func clamp(v float64) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v + 0.5)
}

// JPEG encodes img at quality q.
func JPEG(img image.Image, q int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// PNG encodes img.
func PNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// Resize scales img to w x h by area averaging (downscale) or nearest
// neighbour (upscale); good enough to imitate a re-upload.
func Resize(img image.Image, w, h int) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		y0, y1 := b.Min.Y+y*b.Dy()/h, b.Min.Y+max((y+1)*b.Dy()/h, y*b.Dy()/h+1)
		for x := 0; x < w; x++ {
			x0, x1 := b.Min.X+x*b.Dx()/w, b.Min.X+max((x+1)*b.Dx()/w, x*b.Dx()/w+1)
			var r, g, bb, n uint32
			for yy := y0; yy < y1; yy++ {
				for xx := x0; xx < x1; xx++ {
					cr, cg, cb, _ := img.At(xx, yy).RGBA()
					r, g, bb, n = r+cr>>8, g+cg>>8, bb+cb>>8, n+1
				}
			}
			out.SetRGBA(x, y, color.RGBA{uint8(r / n), uint8(g / n), uint8(bb / n), 255})
		}
	}
	return out
}

// Crop cuts frac of the width and height, split evenly between the sides.
func Crop(img image.Image, frac float64) *image.RGBA {
	b := img.Bounds()
	dx, dy := int(float64(b.Dx())*frac/2), int(float64(b.Dy())*frac/2)
	r := image.Rect(b.Min.X+dx, b.Min.Y+dy, b.Max.X-dx, b.Max.Y-dy)
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			out.Set(x, y, img.At(r.Min.X+x, r.Min.Y+y))
		}
	}
	return out
}

// Brightness multiplies every channel by f.
func Brightness(img image.Image, f float64) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			out.SetRGBA(x, y, color.RGBA{clamp(float64(r>>8) * f), clamp(float64(g>>8) * f), clamp(float64(bb>>8) * f), 255})
		}
	}
	return out
}

// Uniform is a flat image of one grey level.
func Uniform(w, h int, v uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v
	}
	return g
}

// Card is one ID-card-like layout (the same grey structure every time: a
// Photo background with a head-and-shoulders portrait area) whose portrait
// has the given background and clothes colours: cards of one template
// that differ only in colour.
func Card(bg, cloth color.RGBA) *image.RGBA {
	img := Photo(800, 500, 5)
	for y := 100; y < 400; y++ {
		for x := 480; x < 760; x++ {
			c := bg
			dx, dy := float64(x-620)/70, float64(y-210)/90
			switch {
			case dx*dx+dy*dy < 1:
				c = color.RGBA{200, 160, 120, 255}
			case y > 320:
				c = cloth
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}
