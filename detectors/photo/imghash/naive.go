package imghash

import (
	"bytes"
	"image"
	"io"

	"github.com/corona10/goimagehash"
)

func errUnexpectedEOF() error { return io.ErrUnexpectedEOF }

// Naive is the reference path the fast path is measured against: a full
// decode with the standard library, then goimagehash on the full image.
// No limits: use it only on trusted input (benchmarks, evaluation).
func Naive(data []byte) (phash, dhash uint64, err error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return 0, 0, err
	}
	p, err := goimagehash.PerceptionHash(img)
	if err != nil {
		return 0, 0, err
	}
	d, err := goimagehash.DifferenceHash(img)
	if err != nil {
		return 0, 0, err
	}
	return p.GetHash(), d.GetHash(), nil
}
