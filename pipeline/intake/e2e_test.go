package intake

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/detectors/email"
	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline/event"
)

// The address owner replies; the report is accepted and the registrations
// using the address (and the one sharing their device) get the strong signals.
func TestReplyToSignals(t *testing.T) {
	e := newEnv(t, nil)
	det := email.New(email.DefaultConfig())
	t0 := time.Date(2026, 4, 11, 8, 0, 0, 0, time.UTC)
	for i, ev := range []*event.Event{
		{EventID: "E1", Type: event.Submitted, RegistrationID: "R1", NIK: "3201010101900001", Email: owner, DeviceID: "DX"},
		{EventID: "E2", Type: event.Submitted, RegistrationID: "R2", NIK: "3201010101900002", Email: "someone@else.example", DeviceID: "DX"},
	} {
		ev.OccurredAt = t0.Add(time.Duration(i) * time.Minute)
		det.Observe(ev)
	}
	var mu sync.Mutex
	got := map[string]detectors.Signal{}
	e.in.deps.Sink = func(_ context.Context, r report.Report) error {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range det.ApplyReport(r) {
			got[s.RegistrationID+"."+s.Kind] = s
		}
		return nil
	}
	srv, _ := e.server()
	defer srv.Close()
	code, r, _ := post(t, srv.URL+"/v1/reports/email", e.message(t, e.token(t, e.now.Add(time.Hour))))
	if code != http.StatusAccepted {
		t.Fatalf("%d %+v", code, r)
	}
	if s, ok := got["R1."+email.KindReportedMisuse]; !ok || s.Evidence["report_ids"].([]string)[0] != r.ReportID {
		t.Fatalf("R1 signals %v", got)
	}
	if s, ok := got["R2."+email.KindLinkedToReported]; !ok || s.Evidence["via"].([]string)[0] != "device" {
		t.Fatalf("R2 signals %v", got)
	}
}
