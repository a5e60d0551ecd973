package imghash_test

import (
	"fmt"

	"github.com/waspada/waspada/detectors/photo/imghash"
)

func ExampleHash() {
	// A decompression bomb's header: 10000 x 10000 pixels in a few bytes.
	bomb := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x27\x10\x00\x00\x27\x10\x08\x02\x00\x00\x00")
	_, err := imghash.Hash(imghash.DefaultConfig(), bomb)
	fmt.Println(imghash.ReasonOf(err))
	_, err = imghash.Hash(imghash.DefaultConfig(), []byte("GIF89a"))
	fmt.Println(imghash.ReasonOf(err))
	// Output:
	// pixel_budget
	// truncated
}
