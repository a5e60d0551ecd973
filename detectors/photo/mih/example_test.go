package mih_test

import (
	"fmt"

	"github.com/waspada/waspada/detectors/photo/mih"
)

func Example() {
	x := mih.New(mih.DefaultConfig())
	x.Insert(0xc2924c5532bddfc8, 1) // a KTP photo's pHash, document 1
	x.Insert(0x857a6a8c32718fba, 2) // another photo
	// The same photo re-encoded: 3 bits differ.
	x.Search(0xc2924c5532bddfc8^0b1011, 8, func(code uint64, id uint32, dist int) bool {
		fmt.Printf("document %d at distance %d\n", id, dist)
		return true
	})
	// Output: document 1 at distance 3
}
