package sim

import (
	"encoding/json"
	"time"

	"github.com/waspada/waspada/pipeline/event"
)

// TimeLayout is the canonical occurred_at format: RFC 3339, UTC,
// always three fractional digits.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// wire mirrors event.Event field for field (same JSON names, same order)
// with occurred_at as a fixed-width string. TestWireMatchesEvent keeps the
// two in step.
type wire struct {
	Schema         string           `json:"schema,omitempty"`
	EventID        string           `json:"event_id"`
	Type           event.Type       `json:"type"`
	OccurredAt     string           `json:"occurred_at"`
	RegistrationID string           `json:"registration_id"`
	NIK            string           `json:"nik,omitempty"`
	FullName       string           `json:"full_name,omitempty"`
	BirthDate      string           `json:"birth_date,omitempty"`
	Gender         string           `json:"gender,omitempty"`
	Email          string           `json:"email,omitempty"`
	Phone          string           `json:"phone,omitempty"`
	RegionCode     string           `json:"region_code,omitempty"`
	IP             string           `json:"ip,omitempty"`
	DeviceID       string           `json:"device_id,omitempty"`
	UserAgent      string           `json:"user_agent,omitempty"`
	PayoutAccount  string           `json:"payout_account,omitempty"`
	Documents      []event.Document `json:"documents,omitempty"`
	// Misuse reports (Waspada's own events; the simulator never makes them).
	ReportID        string `json:"report_id,omitempty"`
	ReportChannel   string `json:"report_channel,omitempty"`
	ReportMessageID string `json:"report_message_id,omitempty"`
	ReportSigner    string `json:"report_signer,omitempty"`
	ReportTokenID   string `json:"report_token_id,omitempty"`
}

// Encode gives the canonical JSON line of an event (no trailing newline):
// encoding/json of the Event with occurred_at in UTC at millisecond
// precision. Every producer (simulate, score inputs, Kafka) uses it so
// that the same event is the same bytes everywhere. Sub-millisecond parts
// are truncated.
func Encode(ev *event.Event) ([]byte, error) {
	w := wire{ev.Schema, ev.EventID, ev.Type, ev.OccurredAt.UTC().Truncate(time.Millisecond).Format(TimeLayout),
		ev.RegistrationID, ev.NIK, ev.FullName, ev.BirthDate, ev.Gender, ev.Email, ev.Phone, ev.RegionCode,
		ev.IP, ev.DeviceID, ev.UserAgent, ev.PayoutAccount, ev.Documents,
		ev.ReportID, ev.ReportChannel, ev.ReportMessageID, ev.ReportSigner, ev.ReportTokenID}
	return json.Marshal(&w)
}

// EncodeLabel gives the JSON line of a label (no trailing newline).
func EncodeLabel(l Label) ([]byte, error) { return json.Marshal(&l) }
