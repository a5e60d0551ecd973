package burst_test

import (
	"fmt"
	"time"

	"github.com/waspada/waspada/detectors/burst"
	"github.com/waspada/waspada/pipeline/event"
)

// A proxy registrant types twelve villagers into one phone: from the tenth
// distinct person on, every member carries a proxy_ring signal.
func Example() {
	d := burst.New(burst.DefaultConfig())
	t0 := time.Date(2026, 4, 11, 1, 0, 0, 0, time.UTC)
	members := map[string]bool{}
	for i := range 12 {
		ev := &event.Event{EventID: fmt.Sprintf("E%02d", i), Type: event.Submitted,
			OccurredAt: t0.Add(time.Duration(i) * 5 * time.Minute), RegistrationID: fmt.Sprintf("R%02d", i),
			NIK: fmt.Sprintf("32010141019%05d", i), FullName: fmt.Sprintf("WARGA %c", 'A'+i), BirthDate: "1990-01-01",
			Email: fmt.Sprintf("warga%d@gmail.com", i), Phone: "+6281311112222", DeviceID: "Djoki", IP: "114.122.4.4", RegionCode: "3201"}
		for _, s := range d.Observe(ev) {
			if s.Kind == burst.KindRing && s.Key == "phone:6281311112222" {
				members[s.RegistrationID] = true
			}
		}
	}
	fmt.Println("ring members signalled:", len(members))
	// Output: ring members signalled: 12
}
