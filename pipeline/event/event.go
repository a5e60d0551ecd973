package event

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// SchemaV1 is the schema id written by producers; events without "schema"
// are read as v1. Minor versions are accepted: "waspada.registration/v1.3"
// and "waspada.registration/1.3" (see schemaPattern).
const SchemaV1 = "waspada.registration/v1"

//go:embed registration.v1.schema.json
var schemaJSON []byte

// SchemaJSON returns the published JSON Schema (draft 2020-12) of
// waspada.registration/v1. It accepts exactly what Decode with DefaultLimits
// accepts, except the whole-event byte cap (MaxBytes), which JSON Schema
// cannot express, and it needs a validator that asserts "format" (date,
// date-time). The caller gets its own copy.
func SchemaJSON() []byte { return bytes.Clone(schemaJSON) }

// The patterns below are shared with registration.v1.schema.json (a test
// keeps them equal). They use only the common subset of RE2 and ECMA-262 so
// that every JSON Schema validator reads them the same way.
const (
	// schemaPattern matches the accepted values of "schema": major 1, an
	// optional numeric minor (at most four digits, which also bounds the
	// field's length).
	schemaPattern = `^waspada\.registration/v?1(\.[0-9]{1,4})?$`
	// occurredAtPattern is RFC 3339 date-time with the ranges spelled out
	// (Go's time.Parse alone also takes "," fractions, more than nine
	// fraction digits and +24:00 offsets; validators differ on leap seconds
	// and lower-case t/z). The instant must lie in [1900-01-01T00:00:00Z,
	// 2200-01-01T00:00:00Z): inside what Order (unix nanoseconds) and
	// json.Marshal represent, and closed under normalising to UTC, so a
	// re-encoded event is accepted again. Hence the two edge days: 1900-01-01
	// takes no positive offset, 2199-12-31 no negative one.
	occurredAtPattern = `^(` +
		`((190[1-9]|19[1-9][0-9]|20[0-9][0-9]|21[0-8][0-9]|219[0-8])-` + monthDay +
		`|1900-(01-(0[2-9]|[12][0-9]|3[01])|(0[2-9]|1[0-2])-` + day + `)` +
		`|2199-((0[1-9]|1[01])-` + day + `|12-(0[1-9]|[12][0-9]|30)))` + clock + `(Z|[+-]` + offset + `)` +
		`|1900-01-01` + clock + `(Z|-` + offset + `|\+00:00)` +
		`|2199-12-31` + clock + `(Z|\+` + offset + `|-00:00)` +
		`)$`
	monthDay = `(0[1-9]|1[0-2])-` + day
	day      = `(0[1-9]|[12][0-9]|3[01])`
	clock    = `T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?`
	offset   = `([01][0-9]|2[0-3]):[0-5][0-9]`
	// birthDatePattern is YYYY-MM-DD; the day is also checked against the
	// month (format "date" in the schema, time.Parse here).
	birthDatePattern = `^[0-9]{4}-` + monthDay + `$`
	// emailPattern is a bare dot-atom address: local@domain, no display
	// name, no quotes, no comments, no domain literal. Non-ASCII characters
	// are allowed as in net/mail.
	emailPattern = `^[^\x00-\x20\x7f"(),.:;<>@\[\\\]]+(\.[^\x00-\x20\x7f"(),.:;<>@\[\\\]]+)*@[^\x00-\x20\x7f"(),.:;<>@\[\\\]]+(\.[^\x00-\x20\x7f"(),.:;<>@\[\\\]]+)*$`
)

var (
	schemaRe     = regexp.MustCompile(schemaPattern)
	occurredAtRe = regexp.MustCompile(occurredAtPattern)
	birthDateRe  = regexp.MustCompile(birthDatePattern)
	emailRe      = regexp.MustCompile(emailPattern)
)

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
	// MisuseReported is produced by Waspada itself, not by the registration
	// platform: the owner of the address in Email proved (a DKIM-verified
	// reply or a confirmed not-me link) that registration RegistrationID
	// was not made by them. EventID is the report id, OccurredAt is when
	// the report was received, Email is the owner's canonical address, and
	// the Report* fields say how it was proved. It travels through the
	// registrations topic so that it is stored and replayed with
	// every other event, and its effects are rebuilt deterministically.
	MisuseReported Type = "email.misuse_reported"
)

var knownTypes = map[Type]bool{Submitted: true, DocumentUploaded: true, VerificationSent: true,
	EmailVerified: true, Login: true, PasswordReset: true, PayoutChanged: true, MisuseReported: true}

// Report channels (Event.ReportChannel).
const (
	ChannelEmail = "email" // a DKIM-verified reply to the report mailbox
	ChannelLink  = "link"  // the confirmed not-me link of the verification email
)

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
	// Misuse reports only (type email.misuse_reported; rejected on other
	// types): the report id, its channel ("email" or "link"), and the
	// proof: the reply's Message-ID and DKIM signer (d=), or the link
	// token's id.
	ReportID        string `json:"report_id,omitempty"`
	ReportChannel   string `json:"report_channel,omitempty"`
	ReportMessageID string `json:"report_message_id,omitempty"`
	ReportSigner    string `json:"report_signer,omitempty"`
	ReportTokenID   string `json:"report_token_id,omitempty"`
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
//
// Optional fields that are null or "" are read as absent (producers in
// other languages write them for empty form fields); required fields that
// are null, "" or only white space are missing. Object keys must match the
// contract exactly: encoding/json alone would also take "Event_ID".
// An accepted event is canonical: occurred_at in UTC, schema filled in,
// an empty documents list as nil.
func (l Limits) Decode(b []byte) (*Event, error) {
	if len(b) > l.MaxBytes {
		return nil, &DecodeError{"too_large", fmt.Sprintf("event is %d bytes, limit %d", len(b), l.MaxBytes)}
	}
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	if len(bytes.TrimSpace(trimmed)) == 0 {
		return nil, &DecodeError{"bad_json", "empty message"}
	}
	if trimmed[0] != '{' {
		return nil, &DecodeError{"bad_json", "event is not a JSON object"}
	}
	// First pass: syntax, trailing data, schema version and exact keys.
	if err := firstPass(b); err != nil {
		return nil, err
	}
	// Second pass: the typed decode.
	var raw struct {
		Event
		OccurredAt *string `json:"occurred_at"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, &DecodeError{"bad_json", jsonDetail(err)}
	}
	ev := raw.Event
	if ev.Schema == "" {
		ev.Schema = SchemaV1
	}
	if len(ev.Documents) == 0 {
		ev.Documents = nil
	}
	if raw.OccurredAt == nil || strings.TrimSpace(*raw.OccurredAt) == "" {
		return nil, &DecodeError{"missing_field", "occurred_at"}
	}
	t, err := time.Parse(time.RFC3339Nano, *raw.OccurredAt)
	if err != nil || !occurredAtRe.MatchString(*raw.OccurredAt) {
		return nil, &DecodeError{"invalid_field", "occurred_at: not an RFC 3339 timestamp (YYYY-MM-DDThh:mm:ss[.fraction]Z or ±hh:mm) from 1900 to 2199 UTC: " + quote(*raw.OccurredAt)}
	}
	ev.OccurredAt = t.UTC()
	if err := l.validate(&ev); err != nil {
		return nil, err
	}
	return &ev, nil
}

var (
	eventKeys    = jsonKeys(Event{})
	documentKeys = jsonKeys(Document{})
)

// checkKeys rejects keys that are not in the contract, compared exactly,
// at the top level and in each document.
// firstPass checks syntax, trailing data, the schema version and the exact
// keys. Valid JSON whose keys have no escapes is scanned without
// allocating (keyscan.go); the rest takes the map path, which is the
// reference behaviour.
func firstPass(b []byte) error {
	if json.Valid(b) {
		if ks, ok := scanKeys(b); ok {
			if ks.schema != nil && !isNull(ks.schema) {
				if err := schemaOf(ks.schema); err != nil {
					return err
				}
			}
			if ks.hasUnknown {
				return &DecodeError{"bad_json", "unknown field " + quote(ks.unknown)}
			}
			if ks.docIndex >= 0 {
				return &DecodeError{"bad_json", fmt.Sprintf("documents[%d]: unknown field %s", ks.docIndex, quote(ks.docUnknown))}
			}
			return nil
		}
	}
	return firstPassMaps(b)
}

// firstPassMaps is the first pass through a map of the top-level keys.
func firstPassMaps(b []byte) error {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&top); err != nil {
		return &DecodeError{"bad_json", jsonDetail(err)}
	}
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) != 0 {
		return &DecodeError{"bad_json", "trailing data after the event object"}
	}
	// Check the schema first so that a v2 event is reported as such rather
	// than as whatever field it renamed.
	if raw, ok := top["schema"]; ok && !isNull(raw) {
		if err := schemaOf(raw); err != nil {
			return err
		}
	}
	return checkKeys(top)
}

// schemaOf checks the raw value of the schema key.
func schemaOf(raw []byte) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return &DecodeError{"bad_json", "schema: expected string, got JSON " + jsonKind(raw)}
	}
	return checkSchema(s)
}

func checkKeys(top map[string]json.RawMessage) error {
	if k, ok := unknownKey(top, eventKeys); ok {
		return &DecodeError{"bad_json", "unknown field " + quote(k)}
	}
	docs, ok := top["documents"]
	if !ok {
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(docs, &items) != nil {
		return nil // not an array: the typed decode says so
	}
	for i, it := range items {
		var m map[string]json.RawMessage
		if len(it) == 0 || it[0] != '{' || json.Unmarshal(it, &m) != nil {
			continue // not an object: the typed decode or validate says so
		}
		if k, ok := unknownKey(m, documentKeys); ok {
			return &DecodeError{"bad_json", fmt.Sprintf("documents[%d]: unknown field %s", i, quote(k))}
		}
	}
	return nil
}

// unknownKey returns the first (in sorted order, for a stable Detail) key
// of m that is not in known (the empty key is a key too).
func unknownKey(m map[string]json.RawMessage, known map[string]bool) (string, bool) {
	var bad []string
	for k := range m {
		if !known[k] {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return "", false
	}
	slices.Sort(bad)
	return bad[0], true
}

// jsonKeys lists the JSON names of a struct's fields.
func jsonKeys(v any) map[string]bool {
	keys := map[string]bool{}
	for _, f := range fieldsOf(v) {
		keys[f] = true
	}
	return keys
}

// fieldsOf lists the JSON names of a struct's fields, in declaration order.
func fieldsOf(v any) []string {
	t := reflect.TypeOf(v)
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func checkSchema(s string) error {
	if !strings.HasPrefix(s, "waspada.registration/") {
		return &DecodeError{"unknown_schema", "schema " + quote(s) + " is not a waspada.registration schema"}
	}
	if !schemaRe.MatchString(s) {
		return &DecodeError{"unknown_schema", "unsupported version in schema " + quote(s) + " (this build reads v1 and v1.<minor>)"}
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
	if ev.Type == MisuseReported {
		need("email", ev.Email)
		need("report_id", ev.ReportID)
		need("report_channel", ev.ReportChannel)
	}
	if len(missing) > 0 {
		return &DecodeError{"missing_field", strings.Join(missing, ", ")}
	}
	if !knownTypes[ev.Type] {
		return &DecodeError{"unknown_type", "type " + quote(string(ev.Type))}
	}
	var bad []string
	// MaxField counts characters (code points), as JSON Schema's maxLength
	// does, so that the published schema can state the same limit.
	long := func(name, v string) {
		if utf8.RuneCountInString(v) > l.MaxField {
			bad = append(bad, fmt.Sprintf("%s: longer than %d characters", name, l.MaxField))
		}
	}
	for _, f := range [...]struct{ name, v string }{{"event_id", ev.EventID},
		{"registration_id", ev.RegistrationID}, {"nik", ev.NIK}, {"full_name", ev.FullName}, {"email", ev.Email},
		{"phone", ev.Phone}, {"region_code", ev.RegionCode}, {"ip", ev.IP}, {"device_id", ev.DeviceID},
		{"user_agent", ev.UserAgent}, {"payout_account", ev.PayoutAccount}, {"report_id", ev.ReportID},
		{"report_message_id", ev.ReportMessageID}, {"report_signer", ev.ReportSigner}, {"report_token_id", ev.ReportTokenID}} {
		long(f.name, f.v)
	}
	if ev.Type != MisuseReported {
		for _, f := range [...]struct{ name, v string }{{"report_id", ev.ReportID}, {"report_channel", ev.ReportChannel},
			{"report_message_id", ev.ReportMessageID}, {"report_signer", ev.ReportSigner}, {"report_token_id", ev.ReportTokenID}} {
			if f.v != "" {
				bad = append(bad, f.name+": only on "+string(MisuseReported)+" events")
			}
		}
	} else if ev.ReportChannel != ChannelEmail && ev.ReportChannel != ChannelLink {
		bad = append(bad, "report_channel: must be email or link, got "+quote(ev.ReportChannel))
	}
	if ev.BirthDate != "" {
		if _, err := time.Parse("2006-01-02", ev.BirthDate); err != nil || !birthDateRe.MatchString(ev.BirthDate) {
			bad = append(bad, "birth_date: not a YYYY-MM-DD date: "+quote(ev.BirthDate))
		}
	}
	if ev.Gender != "" && ev.Gender != "M" && ev.Gender != "F" {
		bad = append(bad, "gender: must be M or F, got "+quote(ev.Gender))
	}
	if ev.Email != "" && !bareAddress(ev.Email) {
		bad = append(bad, "email: not a bare address (local@domain): "+quote(ev.Email))
	}
	if len(ev.Documents) > l.MaxDocuments {
		bad = append(bad, fmt.Sprintf("documents: %d, limit %d", len(ev.Documents), l.MaxDocuments))
	}
	for i, d := range ev.Documents {
		if d.Kind == "" || d.URI == "" {
			bad = append(bad, fmt.Sprintf("documents[%d]: kind and uri are required", i))
		}
		long(fmt.Sprintf("documents[%d].kind", i), d.Kind)
		long(fmt.Sprintf("documents[%d].uri", i), d.URI)
		long(fmt.Sprintf("documents[%d].sha256", i), d.SHA256)
		long(fmt.Sprintf("documents[%d].phash", i), d.PHash)
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return &DecodeError{"invalid_field", strings.Join(bad, "; ")}
	}
	return nil
}

// bareAddress reports whether s is a plain dot-atom address. The pattern is
// what the JSON Schema states; net/mail is the second opinion (the pattern
// is meant to be a subset of what it parses, and the fuzz target checks
// that the schema and the decoder agree).
func bareAddress(s string) bool {
	if !emailRe.MatchString(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

func jsonDetail(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// The typed decode goes through a wrapper that embeds Event.
		field := strings.TrimPrefix(te.Field, "Event.")
		return fmt.Sprintf("%s: expected %s, got JSON %s", field, jsonType(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	return err.Error()
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	}
	return goKind
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return fmt.Sprintf("%q", s)
}
