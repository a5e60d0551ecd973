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
	type blob struct{ cx, cy, rx, ry float64; c [3]float64 }
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
