package email

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline/event"
)

// A report that travels as an email.misuse_reported event (encoded,
// decoded by the strict decoder, observed) has exactly the effect of
// ApplyReport: the same final signals, for both channels.
func TestReportEventSameAsApplyReport(t *testing.T) {
	received := time.Date(2026, 4, 11, 9, 30, 0, 125e6, time.UTC)
	reps := []report.Report{
		{ID: "MR1", Channel: report.ChannelEmail, RegistrationID: "R1", Address: "nanang@gmail.com", ReceivedAt: received,
			MessageID: "<m1@gmail.com>", Signer: "gmail.com", TokenID: "t1"},
		{ID: "MR2", Channel: report.ChannelLink, RegistrationID: "R5", Address: "budi@mailinator.com", ReceivedAt: received.Add(time.Minute), TokenID: "t2"},
	}
	var direct, viaEvent []step
	for _, s := range scenario() {
		if s.ev != nil {
			direct, viaEvent = append(direct, s), append(viaEvent, s)
		}
	}
	for _, r := range reps {
		b, err := json.Marshal(ReportEvent(r))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.Decode(b)
		if err != nil {
			t.Fatalf("report event rejected by the decoder: %v\n%s", err, b)
		}
		if ev.EventID != r.ID || ev.Type != event.MisuseReported || !ev.OccurredAt.Equal(r.ReceivedAt) {
			t.Errorf("event %+v", ev)
		}
		if back := ReportFromEvent(ev); !reflect.DeepEqual(back, r) {
			t.Errorf("round trip:\n got %+v\nwant %+v", back, r)
		}
		r := r
		direct = append(direct, step{rep: &r})
		viaEvent = append(viaEvent, step{ev: ev})
	}
	want := run(New(DefaultConfig()), direct)
	got := run(New(DefaultConfig()), viaEvent)
	if encode(t, got) != encode(t, want) {
		t.Fatalf("via event:\n%s\nvia ApplyReport:\n%s", encode(t, got), encode(t, want))
	}
	if _, ok := find(got, "R1", KindReportedMisuse); !ok {
		t.Fatal("no reported_misuse for R1")
	}
	if _, ok := find(got, "R6", KindLinkedToReported); !ok {
		t.Fatal("no linked_to_reported for R6")
	}
}
