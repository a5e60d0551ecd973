package imghash

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/corona10/goimagehash"
)

func naivePHash(data []byte) (uint64, uint64, error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return 0, 0, err
	}
	p, err := goimagehash.PerceptionHash(img)
	if err != nil {
		return 0, 0, err
	}
	return p.GetHash(), 0, nil
}

type namedData struct {
	name string
	data []byte
}

func testdataCases(t *testing.T) []namedData {
	var out []namedData
	for _, glob := range []string{"../jpegdc/testdata/*.jpg", "testdata/*.jpg", "testdata/*.png"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, namedData{filepath.Base(f), b})
		}
	}
	return out
}
