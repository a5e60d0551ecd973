package email

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/waspada/waspada/pipeline/event"
)

// BenchmarkMemoryPerRegistration reports the live heap per registration
// after 100,000 submissions plus a verification email and a click each
// (the whole state, indexes included):
//
//	go test -run '^$' -bench MemoryPerRegistration -benchtime 1x ./detectors/email/
func BenchmarkMemoryPerRegistration(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := New(DefaultConfig())
		for i := range n {
			reg := fmt.Sprintf("R%08d", i)
			at := t0.Add(time.Duration(i) * time.Millisecond)
			d.Observe(&event.Event{EventID: fmt.Sprintf("S%08d", i), Type: event.Submitted, RegistrationID: reg, OccurredAt: at,
				NIK: fmt.Sprintf("%016d", i), Email: fmt.Sprintf("user%d@example.com", i), DeviceID: fmt.Sprintf("D%d", i%70000),
				IP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Phone: fmt.Sprintf("+62812%07d", i)})
			d.Observe(&event.Event{EventID: fmt.Sprintf("V%08d", i), Type: event.VerificationSent, RegistrationID: reg, OccurredAt: at.Add(time.Second)})
			d.Observe(&event.Event{EventID: fmt.Sprintf("C%08d", i), Type: event.EmailVerified, RegistrationID: reg, OccurredAt: at.Add(time.Minute)})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/reg")
		runtime.KeepAlive(d)
	}
}
