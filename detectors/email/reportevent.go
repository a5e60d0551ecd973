package email

import (
	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline/event"
)

// ReportEvent is the email.misuse_reported event of an accepted report: what
// the intake produces onto the registrations topic (key = registration id),
// so that the report is stored and replayed with every other event. The
// event id is the report id, so a report produced twice is one event
// downstream; occurred_at is when the report was received.
func ReportEvent(r report.Report) *event.Event {
	return &event.Event{
		Schema:          event.SchemaV1,
		EventID:         r.ID,
		Type:            event.MisuseReported,
		OccurredAt:      r.ReceivedAt.UTC(),
		RegistrationID:  r.RegistrationID,
		Email:           r.Address,
		ReportID:        r.ID,
		ReportChannel:   r.Channel,
		ReportMessageID: r.MessageID,
		ReportSigner:    r.Signer,
		ReportTokenID:   r.TokenID,
	}
}

// ReportFromEvent is the inverse of ReportEvent. It does not check the
// type; Observe calls it for email.misuse_reported events only.
func ReportFromEvent(ev *event.Event) report.Report {
	return report.Report{
		ID:             ev.ReportID,
		Channel:        ev.ReportChannel,
		RegistrationID: ev.RegistrationID,
		Address:        ev.Email,
		ReceivedAt:     ev.OccurredAt,
		MessageID:      ev.ReportMessageID,
		Signer:         ev.ReportSigner,
		TokenID:        ev.ReportTokenID,
	}
}
