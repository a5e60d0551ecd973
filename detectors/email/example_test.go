package email_test

import (
	"fmt"
	"time"

	"github.com/waspada/waspada/detectors/email"
	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline/event"
)

func Example() {
	d := email.New(email.DefaultConfig())
	t0 := time.Date(2026, 4, 11, 8, 0, 0, 0, time.UTC)
	d.Observe(&event.Event{EventID: "E1", Type: event.Submitted, OccurredAt: t0, RegistrationID: "R1",
		NIK: "1306040107850001", Email: "nanang@gmail.com", DeviceID: "D1"})
	d.Observe(&event.Event{EventID: "E2", Type: event.Submitted, OccurredAt: t0.Add(time.Minute), RegistrationID: "R2",
		NIK: "3201010101900002", Email: "Na.Nang+x@googlemail.com", DeviceID: "D2"})
	// The owner of nanang@gmail.com confirms the not-me link for R2.
	for _, s := range d.ApplyReport(report.Report{ID: "MR1", Channel: report.ChannelLink, RegistrationID: "R2", Address: "nanang@gmail.com"}) {
		fmt.Println(s.RegistrationID, s.Kind, s.Evidence["other_registrations"], s.Evidence["report_ids"])
	}
	// Output:
	// R1 address_reused [R2] <nil>
	// R1 reported_misuse <nil> [MR1]
	// R2 address_reused [R1] <nil>
	// R2 reported_misuse <nil> [MR1]
}
