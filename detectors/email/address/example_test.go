package address_test

import (
	"fmt"

	"github.com/waspada/waspada/detectors/email/address"
)

func ExampleParse() {
	a, _ := address.Parse("N.A.Nang+prakerja@GoogleMail.com")
	fmt.Println(a.Canonical, a.Registrable)
	b, _ := address.Parse("n\u0430nang@gmail.com") // Cyrillic а
	fmt.Println(b.Skeleton == a.Canonical, b.MixedScript, b.Scripts)
	// Output:
	// nanang@gmail.com gmail.com
	// true true [Cyrillic Latin]
}
