package burst

import (
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/pipeline/event"
)

// FuzzObserve feeds untrusted field values through key extraction and the
// detector: no panic, keys bounded, replays change nothing.
func FuzzObserve(f *testing.F) {
	f.Add("114.122.10.7", "+6281234567890", "a@GMAIL.com", "D1", "3201", "NAMA", int64(0))
	f.Add("2001:448a::1", "0812", "@", "", "", "", int64(-1))
	f.Add("::ffff:1.2.3.4", "++++", "x@y@z", strings.Repeat("d", 5000), "9", "  a  b ", int64(1<<40))
	f.Add("1.2.3", "62", "", "D", "", "", int64(3600_000))
	f.Fuzz(func(t *testing.T, ip, phone, email, dev, region, name string, ms int64) {
		ev := &event.Event{EventID: "E1", Type: event.Submitted, RegistrationID: "R1", NIK: "3201010101900001",
			FullName: name, Email: email, Phone: phone, IP: ip, DeviceID: dev, RegionCode: region,
			OccurredAt: time.UnixMilli(ms % (1 << 45))}
		var kb keyBuf
		kb.fill(ev)
		for c, k := range kb.keys {
			if len(k) > maxKeyLen+8 {
				t.Fatalf("class %v key of %d bytes", Class(c), len(k))
			}
		}
		d := New(DefaultConfig())
		d.Observe(ev)
		before := d.Stats()
		d.Observe(ev)
		after := d.Stats()
		after.Events--
		if before != after {
			t.Fatalf("replay changed state: %+v -> %+v", before, after)
		}
		d.Flush()
	})
}
