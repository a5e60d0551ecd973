// Package event is the registration event contract (waspada.registration/v1):
// the Go types, the strict decoder and the published JSON Schema
// (registration.v1.schema.json beside this file).
//
// Decoding is strict: unknown major versions, bad JSON, unknown fields,
// missing or mistyped required fields are a *DecodeError, which the pipeline
// treats as permanent (dead letter with the reason, commit, move on).
package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// SchemaV1 is the schema id written by producers; events without "schema"
// are read as v1. Any "waspada.registration/1.x" or "/v1.x" minor is accepted.
const SchemaV1 = "waspada.registration/v1"

// Type is the event type.
type Type string

const (
	Submitted        Type = "registration.submitted"
	DocumentUploaded Type = "document.uploaded"
	VerificationSent Type = "email.verification_sent"
	EmailVerified    Type = "email.verified"
	Login            Type = "login"
	PasswordReset    Type = "password.reset"
	PayoutChanged    Type = "payout.changed"
)

var knownTypes = map[Type]bool{Submitted: true, DocumentUploaded: true, VerificationSent: true,
	EmailVerified: true, Login: true, PasswordReset: true, PayoutChanged: true}

// Document is a photo named by an event.
type Document struct {
	Kind   string `json:"kind"` // "ktp" or "selfie"
	URI    string `json:"uri"`
	SHA256 string `json:"sha256,omitempty"`
	PHash  string `json:"phash,omitempty"`
}

// Event is one registration event. Field names are the JSON contract.
type Event struct {
	Schema         string     `json:"schema,omitempty"`
	EventID        string     `json:"event_id"`
	Type           Type       `json:"type"`
	OccurredAt     time.Time  `json:"occurred_at"`
	RegistrationID string     `json:"registration_id"`
	NIK            string     `json:"nik,omitempty"`
	FullName       string     `json:"full_name,omitempty"`
	BirthDate      string     `json:"birth_date,omitempty"` // YYYY-MM-DD
	Gender         string     `json:"gender,omitempty"`     // M or F
	Email          string     `json:"email,omitempty"`
	Phone          string     `json:"phone,omitempty"`
	RegionCode     string     `json:"region_code,omitempty"`
	IP             string     `json:"ip,omitempty"`
	DeviceID       string     `json:"device_id,omitempty"`
	UserAgent      string     `json:"user_agent,omitempty"`
	PayoutAccount  string     `json:"payout_account,omitempty"`
	Documents      []Document `json:"documents,omitempty"`
}

// Before reports whether e comes before o in the decision order
// (occurred_at, event_id). Every detector compares with earlier events only
// in this order, never in arrival order.
func (e *Event) Before(o *Event) bool {
	if !e.OccurredAt.Equal(o.OccurredAt) {
		return e.OccurredAt.Before(o.OccurredAt)
	}
	return e.EventID < o.EventID
}

// Order is the sortable form of the decision order: occurred_at in unix
// nanoseconds, then event id.
type Order struct {
	At      int64
	EventID string
}

func (e *Event) Order() Order { return Order{e.OccurredAt.UnixNano(), e.EventID} }

// Less compares two orders.
func (o Order) Less(p Order) bool {
	if o.At != p.At {
		return o.At < p.At
	}
	return o.EventID < p.EventID
}

// DecodeError is a permanent problem with one event. Reason is a short
// machine-friendly class (bad_json, unknown_schema, missing_field,
// invalid_field, unknown_type, too_large); Detail says what exactly.
type DecodeError struct {
	Reason string
	Detail string
}

func (e *DecodeError) Error() string { return e.Reason + ": " + e.Detail }

// IsDecodeError reports whether err is a permanent decode problem.
func IsDecodeError(err error) bool {
	var d *DecodeError
	return errors.As(err, &d)
}

// MaxEventBytes is the default cap on one encoded event.
const MaxEventBytes = 256 << 10

// Limits bounds what the decoder accepts.
type Limits struct {
	MaxBytes     int // whole event
	MaxDocuments int
	MaxField     int // any single string field
}

// DefaultLimits are safe for registration events.
func DefaultLimits() Limits { return Limits{MaxBytes: MaxEventBytes, MaxDocuments: 16, MaxField: 4096} }

// Decode parses and validates one event with the default limits.
func Decode(b []byte) (*Event, error) { return DefaultLimits().Decode(b) }

// Decode parses and validates one event.
func (l Limits) Decode(b []byte) (*Event, error) {
	if len(b) > l.MaxBytes {
		return nil, &DecodeError{"too_large", fmt.Sprintf("event is %d bytes, limit %d", len(b), l.MaxBytes)}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, &DecodeError{"bad_json", "empty message"}
	}
	// Check the schema first so that a v2 event is reported as such rather
	// than as whatever field it renamed.
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, &DecodeError{"bad_json", jsonDetail(err)}
	}
	if head.Schema != nil {
		if err := checkSchema(*head.Schema); err != nil {
			return nil, err
		}
	}
	var raw struct {
		Event
		OccurredAt *string `json:"occurred_at"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, &DecodeError{"bad_json", jsonDetail(err)}
	}
	if dec.More() {
		return nil, &DecodeError{"bad_json", "trailing data after the event object"}
	}
	ev := raw.Event
	if ev.Schema == "" {
		ev.Schema = SchemaV1
	}
	if raw.OccurredAt == nil {
		return nil, &DecodeError{"missing_field", "occurred_at"}
	}
	t, err := time.Parse(time.RFC3339Nano, *raw.OccurredAt)
	if err != nil {
		return nil, &DecodeError{"invalid_field", "occurred_at: not an RFC 3339 timestamp: " + quote(*raw.OccurredAt)}
	}
	ev.OccurredAt = t.UTC()
	if err := l.validate(&ev); err != nil {
		return nil, err
	}
	return &ev, nil
}

func checkSchema(s string) error {
	rest, ok := strings.CutPrefix(s, "waspada.registration/")
	if !ok {
		return &DecodeError{"unknown_schema", "schema " + quote(s) + " is not a waspada.registration schema"}
	}
	rest = strings.TrimPrefix(rest, "v")
	major, _, _ := strings.Cut(rest, ".")
	if major != "1" {
		return &DecodeError{"unknown_schema", "unsupported major version in schema " + quote(s) + " (this build reads v1)"}
	}
	return nil
}

func (l Limits) validate(ev *Event) error {
	var missing []string
	need := func(name, v string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	need("event_id", ev.EventID)
	need("type", string(ev.Type))
	need("registration_id", ev.RegistrationID)
	if ev.Type == Submitted {
		need("nik", ev.NIK)
		need("full_name", ev.FullName)
		need("birth_date", ev.BirthDate)
		need("email", ev.Email)
	}
	if ev.Type == DocumentUploaded && len(ev.Documents) == 0 {
		missing = append(missing, "documents")
	}
	if ev.Type == VerificationSent {
		need("email", ev.Email)
	}
	if len(missing) > 0 {
		return &DecodeError{"missing_field", strings.Join(missing, ", ")}
	}
	if !knownTypes[ev.Type] {
		return &DecodeError{"unknown_type", "type " + quote(string(ev.Type))}
	}
	var bad []string
	for name, v := range map[string]string{"event_id": ev.EventID, "registration_id": ev.RegistrationID,
		"nik": ev.NIK, "full_name": ev.FullName, "email": ev.Email, "phone": ev.Phone, "region_code": ev.RegionCode,
		"ip": ev.IP, "device_id": ev.DeviceID, "user_agent": ev.UserAgent, "payout_account": ev.PayoutAccount} {
		if len(v) > l.MaxField {
			bad = append(bad, fmt.Sprintf("%s: longer than %d bytes", name, l.MaxField))
		}
	}
	if ev.BirthDate != "" {
		if _, err := time.Parse("2006-01-02", ev.BirthDate); err != nil {
			bad = append(bad, "birth_date: not a YYYY-MM-DD date: "+quote(ev.BirthDate))
		}
	}
	if ev.Gender != "" && ev.Gender != "M" && ev.Gender != "F" {
		bad = append(bad, "gender: must be M or F, got "+quote(ev.Gender))
	}
	if ev.Email != "" {
		if a, err := mail.ParseAddress(ev.Email); err != nil || a.Name != "" || a.Address != ev.Email {
			bad = append(bad, "email: not a bare address: "+quote(ev.Email))
		}
	}
	if len(ev.Documents) > l.MaxDocuments {
		bad = append(bad, fmt.Sprintf("documents: %d, limit %d", len(ev.Documents), l.MaxDocuments))
	}
	for i, d := range ev.Documents {
		if d.Kind == "" || d.URI == "" {
			bad = append(bad, fmt.Sprintf("documents[%d]: kind and uri are required", i))
		}
		if len(d.URI) > l.MaxField {
			bad = append(bad, fmt.Sprintf("documents[%d].uri: longer than %d bytes", i, l.MaxField))
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return &DecodeError{"invalid_field", strings.Join(bad, "; ")}
	}
	return nil
}

func jsonDetail(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return fmt.Sprintf("%q", s)
}
