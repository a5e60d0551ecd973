package imghash

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/waspada/waspada/detectors/photo/internal/synth"
)

func TestColourSimilarity(t *testing.T) {
	var a Colour
	for i := range a {
		a[i] = int8(10 + 3*i%40 - 20)
	}
	half := a
	for i := range half {
		half[i] /= 2
	}
	if s := a.Similarity(half); s < 0.99 {
		t.Errorf("a layout and the same at half the saturation: %.3f, want ~1 (brightness scaling)", s)
	}
	neg := a
	for i := range neg {
		neg[i] = -neg[i]
	}
	if s := a.Similarity(neg); s > -0.99 {
		t.Errorf("opposite layouts: %.3f, want ~-1", s)
	}
	var grey Colour
	grey[0] = 2
	if grey.Chromatic() || a.Similarity(grey) != 1 {
		t.Errorf("a near-grey layout is compared: chromatic %v, similarity %.3f", grey.Chromatic(), a.Similarity(grey))
	}
	back, err := ParseColour(a.String())
	if err != nil || back != a {
		t.Errorf("ParseColour(String) = %v, %v; want %v", back, err, a)
	}
	if _, err := ParseColour("zz"); err == nil {
		t.Error("ParseColour accepted garbage")
	}
}

// The colour layout is the same through the DC path (large JPEG), a full
// decode (small JPEG) and a PNG, and it tells apart portraits that differ
// only in colour.
func TestROIColourLayout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ROI = &Rect{0.6, 0.2, 0.95, 0.8}
	red := synth.Card(color.RGBA{200, 30, 30, 255}, color.RGBA{30, 30, 30, 255})
	blue := synth.Card(color.RGBA{30, 60, 200, 255}, color.RGBA{30, 30, 30, 255})
	redGreen := synth.Card(color.RGBA{200, 30, 30, 255}, color.RGBA{40, 180, 60, 255})
	big := synth.Resize(red, 1600, 1000)
	hash := func(name string, data []byte, path string) Hashes {
		h, err := Hash(cfg, data)
		if err != nil {
			t.Fatal(name, err)
		}
		if !h.HasColour || h.Path != path || len(h.ROIColourShifts) != len(h.ROIShifts) {
			t.Fatalf("%s: colour %v, path %s (want %s), %d colour shifts for %d hash shifts", name, h.HasColour, h.Path, path, len(h.ROIColourShifts), len(h.ROIShifts))
		}
		return h
	}
	ref := hash("red png", synth.PNG(red), "full")
	for _, c := range []struct {
		name string
		h    Hashes
		same bool
	}{
		{"red jpeg q85 (full decode)", hash("red jpeg", synth.JPEG(red, 85), "full"), true},
		{"red 1600x1000 jpeg q40 (DC path)", hash("big", synth.JPEG(big, 40), "dc"), true},
		{"red 20% darker", hash("dark", synth.PNG(synth.Brightness(red, 0.8)), "full"), true},
		{"blue background", hash("blue", synth.PNG(blue), "full"), false},
		{"red background, green clothes", hash("green", synth.PNG(redGreen), "full"), false},
	} {
		s := ref.ROIColour.Similarity(c.h.ROIColour)
		t.Logf("%s: similarity %.3f, ROI pHash distance %d", c.name, s, popcount(ref.ROIPHash^c.h.ROIPHash))
		if c.same && s < 0.97 || !c.same && s > 0.9 {
			t.Errorf("%s: similarity %.3f", c.name, s)
		}
	}
	g := image.NewGray(red.Bounds())
	for i := range g.Pix {
		g.Pix[i] = red.Pix[4*i+1]
	}
	if h, _ := Hash(cfg, synth.PNG(g)); h.HasColour {
		t.Error("a grey image has a colour layout")
	}
	if math.IsNaN(ref.ROIColour.Similarity(ref.ROIColour)) {
		t.Error("NaN")
	}
}
