package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// roundTrip checks that an accepted event re-encodes and decodes to an
// equal event. The second decode lifts MaxBytes: json.Marshal may escape
// (<, >, &, U+2028 as \u003c...) and so grow a near-limit event.
func roundTrip(t testing.TB, ev *Event, l Limits) {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("accepted event does not encode: %v\n%+v", err, ev)
	}
	l.MaxBytes = max(l.MaxBytes, 8*len(b))
	again, err := l.Decode(b)
	if err != nil {
		t.Fatalf("re-encoded event rejected: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(ev, again) {
		t.Fatalf("round trip changed the event:\n%+v\n%+v", ev, again)
	}
}

func TestDecode(t *testing.T) {
	design := mustRead(t, "testdata/good/design-example.json")
	sub := minimal(Submitted)
	login := minimal(Login)
	big := strings.Repeat("x", MaxEventBytes)
	cases := []struct {
		name   string
		in     []byte
		reason string // "" means accepted
		detail string // a substring of Detail (the field it names)
		check  func(t *testing.T, ev *Event)
	}{
		{name: "design example", in: design, check: func(t *testing.T, ev *Event) {
			want := &Event{Schema: SchemaV1, EventID: "E000000123", Type: Submitted,
				OccurredAt: time.Date(2026, 4, 11, 8, 0, 0, 298e6, time.UTC), RegistrationID: "R00000123",
				NIK: "1306040107850001", FullName: "NANANG SARFINAL", BirthDate: "1985-07-01", Gender: "M",
				Email: "nanang@example.co.id", Phone: "+6281234567890", RegionCode: "1306", IP: "114.122.10.7",
				DeviceID: "D822f9bac1a83", UserAgent: "Mozilla/5.0 ...",
				Documents: []Document{{Kind: "ktp", URI: "file:///uploads/R00000123/ktp.jpg"},
					{Kind: "selfie", URI: "https://blobs.internal/R00000123/selfie.jpg"}}}
			if !reflect.DeepEqual(ev, want) {
				t.Errorf("got  %+v\nwant %+v", ev, want)
			}
		}},
		{name: "no schema reads as v1", in: login.json(t), check: func(t *testing.T, ev *Event) {
			if ev.Schema != SchemaV1 {
				t.Errorf("schema %q", ev.Schema)
			}
		}},
		{name: "schema null reads as v1", in: login.with(fields{"schema": nil}).json(t), check: func(t *testing.T, ev *Event) {
			if ev.Schema != SchemaV1 {
				t.Errorf("schema %q", ev.Schema)
			}
		}},
		{name: "v1.3 accepted and kept", in: login.with(fields{"schema": "waspada.registration/v1.3"}).json(t), check: func(t *testing.T, ev *Event) {
			if ev.Schema != "waspada.registration/v1.3" {
				t.Errorf("schema %q", ev.Schema)
			}
		}},
		{name: "1.12 without v", in: login.with(fields{"schema": "waspada.registration/1.12"}).json(t)},
		{name: "v2", in: login.with(fields{"schema": "waspada.registration/v2"}).json(t), reason: "unknown_schema", detail: "v2"},
		{name: "v2.0", in: login.with(fields{"schema": "waspada.registration/v2.0"}).json(t), reason: "unknown_schema", detail: "v2.0"},
		{name: "v10", in: login.with(fields{"schema": "waspada.registration/v10"}).json(t), reason: "unknown_schema", detail: "v10"},
		{name: "v1 with a word for minor", in: login.with(fields{"schema": "waspada.registration/v1.x"}).json(t), reason: "unknown_schema", detail: "v1.x"},
		{name: "other schema name", in: login.with(fields{"schema": "acme.signup/v1"}).json(t), reason: "unknown_schema", detail: "acme.signup"},
		{name: "empty schema", in: login.with(fields{"schema": ""}).json(t), reason: "unknown_schema", detail: `""`},
		{name: "v2 wins over its renamed fields", in: []byte(`{"schema":"waspada.registration/v2","id":"E1","kind":"login"}`), reason: "unknown_schema", detail: "v2"},
		{name: "schema number", in: login.with(fields{"schema": 1}).json(t), reason: "bad_json", detail: "schema"},

		{name: "empty", in: []byte(" \n"), reason: "bad_json", detail: "empty"},
		{name: "bad json", in: []byte(`{"event_id": "E1",`), reason: "bad_json"},
		{name: "bad json mid-object", in: []byte(`{"event_id": "E1", "type": }`), reason: "bad_json", detail: "(at byte 28)"},
		{name: "not an object", in: []byte(`["E1"]`), reason: "bad_json", detail: "not a JSON object"},
		{name: "null", in: []byte(`null`), reason: "bad_json", detail: "not a JSON object"},
		{name: "trailing data", in: append(login.json(t), ` {"event_id":"E2"}`...), reason: "bad_json", detail: "trailing data"},
		{name: "trailing brace", in: append(login.json(t), '}'), reason: "bad_json", detail: "trailing data"},
		{name: "trailing newline is fine", in: append(login.json(t), "\r\n\t "...)},
		{name: "unknown field", in: login.with(fields{"referrer": "x"}).json(t), reason: "bad_json", detail: `unknown field "referrer"`},
		{name: "field in other case", in: login.with(fields{"event_id": del, "Event_ID": "E1"}).json(t), reason: "bad_json", detail: `"Event_ID"`},
		{name: "unknown document field", in: login.with(fields{"documents": []any{map[string]any{"kind": "ktp", "uri": "x", "Kind": "y"}}}).json(t), reason: "bad_json", detail: `documents[0]: unknown field "Kind"`},
		{name: "number for nik", in: sub.with(fields{"nik": 3201010101900001}).json(t), reason: "bad_json", detail: "nik: expected string, got JSON number"},
		{name: "string for documents", in: login.with(fields{"documents": "ktp.jpg"}).json(t), reason: "bad_json", detail: "documents: expected array"},
		{name: "object for documents item", in: login.with(fields{"documents": []any{"ktp.jpg"}}).json(t), reason: "bad_json", detail: "documents"},
		{name: "number for kind", in: login.with(fields{"documents": []any{map[string]any{"kind": 1, "uri": "x"}}}).json(t), reason: "bad_json", detail: "kind"},
		{name: "bool for occurred_at", in: login.with(fields{"occurred_at": true}).json(t), reason: "bad_json", detail: "occurred_at"},
		{name: "object for type", in: login.with(fields{"type": map[string]any{}}).json(t), reason: "bad_json", detail: "type"},

		{name: "unknown type", in: login.with(fields{"type": "registration.submited"}).json(t), reason: "unknown_type", detail: "registration.submited"},
		{name: "missing several", in: []byte(`{"type":"registration.submitted","occurred_at":"2026-04-11T08:00:00Z"}`), reason: "missing_field",
			detail: "event_id, registration_id, nik, full_name, birth_date, email"},

		{name: "birth_date Feb 30", in: sub.with(fields{"birth_date": "1985-02-30"}).json(t), reason: "invalid_field", detail: "birth_date"},
		{name: "birth_date Feb 29 non-leap", in: sub.with(fields{"birth_date": "1985-02-29"}).json(t), reason: "invalid_field", detail: "birth_date"},
		{name: "birth_date Feb 29 leap", in: sub.with(fields{"birth_date": "2000-02-29"}).json(t)},
		{name: "birth_date DD-MM-YYYY", in: sub.with(fields{"birth_date": "01-07-1985"}).json(t), reason: "invalid_field", detail: "birth_date"},
		{name: "birth_date with time", in: sub.with(fields{"birth_date": "1985-07-01T00:00:00Z"}).json(t), reason: "invalid_field", detail: "birth_date"},
		{name: "birth_date one-digit month", in: sub.with(fields{"birth_date": "1985-7-01"}).json(t), reason: "invalid_field", detail: "birth_date"},
		{name: "gender L", in: login.with(fields{"gender": "L"}).json(t), reason: "invalid_field", detail: "gender"},
		{name: "gender lower case", in: login.with(fields{"gender": "m"}).json(t), reason: "invalid_field", detail: "gender"},
		{name: "gender F", in: login.with(fields{"gender": "F"}).json(t)},
		{name: "misuse report", in: minimal(MisuseReported).with(fields{"report_signer": "provider.example", "report_message_id": "<m1@provider.example>"}).json(t),
			check: func(t *testing.T, ev *Event) {
				if ev.ReportID != "MR1" || ev.ReportChannel != ChannelEmail || ev.ReportSigner != "provider.example" || ev.Email != "siti@example.com" {
					t.Errorf("%+v", ev)
				}
			}},
		{name: "misuse report by link", in: minimal(MisuseReported).with(fields{"report_channel": "link", "report_token_id": "abc"}).json(t)},
		{name: "misuse report without address", in: minimal(MisuseReported).with(fields{"email": del}).json(t), reason: "missing_field", detail: "email"},
		{name: "misuse report without id and channel", in: minimal(MisuseReported).with(fields{"report_id": " ", "report_channel": nil}).json(t),
			reason: "missing_field", detail: "report_id, report_channel"},
		{name: "misuse report channel sms", in: minimal(MisuseReported).with(fields{"report_channel": "sms"}).json(t), reason: "invalid_field", detail: "report_channel: must be"},
		{name: "misuse report channel upper case", in: minimal(MisuseReported).with(fields{"report_channel": "EMAIL"}).json(t), reason: "invalid_field", detail: "report_channel"},
		{name: "report fields on a login", in: login.with(fields{"report_id": "MR1", "report_token_id": "x"}).json(t), reason: "invalid_field",
			detail: "report_id: only on email.misuse_reported events; report_token_id: only on"},
		{name: "empty report fields on a login are absent", in: login.with(fields{"report_id": "", "report_channel": nil}).json(t)},
		{name: "email display name", in: sub.with(fields{"email": "Nanang <nanang@example.co.id>"}).json(t), reason: "invalid_field", detail: "email"},
		{name: "email no @", in: sub.with(fields{"email": "nanang.example.co.id"}).json(t), reason: "invalid_field", detail: "email"},
		{name: "email with comment", in: sub.with(fields{"email": "nanang@example.co.id (rumah)"}).json(t), reason: "invalid_field", detail: "email"},
		{name: "email blank on login", in: login.with(fields{"email": " "}).json(t), reason: "invalid_field", detail: "email"},
		{name: "several invalid, sorted", in: sub.with(fields{"gender": "X", "birth_date": "x"}).json(t), reason: "invalid_field",
			detail: `birth_date: not a YYYY-MM-DD date: "x"; gender: must be M or F, got "X"`},
		{name: "document without kind", in: login.with(fields{"documents": []any{map[string]any{"uri": "x"}}}).json(t), reason: "invalid_field", detail: "documents[0]"},
		{name: "document null", in: login.with(fields{"documents": []any{nil}}).json(t), reason: "invalid_field", detail: "documents[0]"},

		{name: "oversize event", in: []byte(`{"user_agent":"` + big + `"}`), reason: "too_large", detail: fmt.Sprint(MaxEventBytes)},
		{name: "too many documents", in: sub.with(fields{"documents": slices.Repeat([]any{map[string]any{"kind": "ktp", "uri": "x"}}, 17)}).json(t),
			reason: "invalid_field", detail: "documents: 17, limit 16"},

		{name: "occurred_at without zone", in: login.with(fields{"occurred_at": "2026-04-11T08:00:00"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at date only", in: login.with(fields{"occurred_at": "2026-04-11"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at space", in: login.with(fields{"occurred_at": "2026-04-11 08:00:00Z"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at unix seconds", in: login.with(fields{"occurred_at": "1775894400"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at comma fraction", in: login.with(fields{"occurred_at": "2026-04-11T08:00:00,5Z"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at ten fraction digits", in: login.with(fields{"occurred_at": "2026-04-11T08:00:00.1234567891Z"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at offset +24:00", in: login.with(fields{"occurred_at": "2026-04-11T08:00:00+24:00"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at one-digit hour (time.Parse takes it)", in: login.with(fields{"occurred_at": "2026-04-11T8:00:00Z"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at leap second", in: login.with(fields{"occurred_at": "2016-12-31T23:59:60Z"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at lower case", in: login.with(fields{"occurred_at": "2026-04-11t08:00:00z"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at Apr 31", in: login.with(fields{"occurred_at": "2026-04-31T08:00:00Z"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at year 2200", in: login.with(fields{"occurred_at": "2200-01-01T00:00:00Z"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at null", in: login.with(fields{"occurred_at": nil}).json(t), reason: "missing_field", detail: "occurred_at"},
		{name: "occurred_at with offset normalised to UTC", in: login.with(fields{"occurred_at": "2026-04-11T15:00:00.5+07:00"}).json(t),
			check: func(t *testing.T, ev *Event) {
				if want := time.Date(2026, 4, 11, 8, 0, 0, 5e8, time.UTC); !ev.OccurredAt.Equal(want) || ev.OccurredAt.Location() != time.UTC {
					t.Errorf("occurred_at %v (%v), want %v in UTC", ev.OccurredAt, ev.OccurredAt.Location(), want)
				}
				if b, _ := json.Marshal(ev); !bytes.Contains(b, []byte(`"occurred_at":"2026-04-11T08:00:00.5Z"`)) {
					t.Errorf("re-encoded as %s", b)
				}
			}},
		{name: "occurred_at -00:00 and edge years", in: login.with(fields{"occurred_at": "1900-01-01T00:00:00-00:00"}).json(t)},
		{name: "occurred_at pushed past 2199 by the offset", in: login.with(fields{"occurred_at": "2199-12-31T23:30:00-01:00"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at pulled before 1900 by the offset", in: login.with(fields{"occurred_at": "1900-01-01T00:30:00+01:00"}).json(t), reason: "invalid_field", detail: "occurred_at"},
		{name: "occurred_at last day, positive offset", in: login.with(fields{"occurred_at": "2199-12-31T23:59:59.999999999+23:59"}).json(t)},
		{name: "occurred_at first day, negative offset", in: login.with(fields{"occurred_at": "1900-01-01T00:00:00-23:59"}).json(t)},
		{name: "occurred_at first day, +00:00", in: login.with(fields{"occurred_at": "1900-01-01T00:00:00+00:00"}).json(t)},
		{name: "occurred_at year 1899", in: login.with(fields{"occurred_at": "1899-12-31T23:59:59Z"}).json(t), reason: "invalid_field", detail: "occurred_at"},

		{name: "optional null and empty read as absent", in: sub.with(fields{"gender": "", "phone": nil, "documents": nil, "ip": ""}).json(t),
			check: func(t *testing.T, ev *Event) {
				if ev.Gender != "" || ev.Phone != "" || ev.Documents != nil || ev.IP != "" {
					t.Errorf("%+v", ev)
				}
			}},
		{name: "empty documents list becomes nil", in: login.with(fields{"documents": []any{}}).json(t), check: func(t *testing.T, ev *Event) {
			if ev.Documents != nil {
				t.Errorf("documents %#v, want nil", ev.Documents)
			}
		}},
		{name: "invalid UTF-8 becomes U+FFFD", in: []byte("{\"event_id\":\"E\xff1\",\"type\":\"login\",\"occurred_at\":\"2026-04-11T08:00:00Z\",\"registration_id\":\"R1\"}"),
			check: func(t *testing.T, ev *Event) {
				if ev.EventID != "E\uFFFD1" {
					t.Errorf("event_id %q", ev.EventID)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := Decode(c.in)
			if c.reason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if c.check != nil {
					c.check(t, ev)
				}
				roundTrip(t, ev, DefaultLimits())
			} else {
				if ev != nil {
					t.Errorf("returned an event with the error: %+v", ev)
				}
				var de *DecodeError
				if !errors.As(err, &de) || !IsDecodeError(err) {
					t.Fatalf("want *DecodeError %s, got %T %v", c.reason, err, err)
				}
				if de.Reason != c.reason || !strings.Contains(de.Detail, c.detail) {
					t.Errorf("got %q: %q\nwant %q with %q", de.Reason, de.Detail, c.reason, c.detail)
				}
				if de.Error() != de.Reason+": "+de.Detail {
					t.Errorf("Error() = %q", de.Error())
				}
			}
			checkSchemaAgrees(t, c.in, err)
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	l := Limits{MaxBytes: 200, MaxDocuments: 1, MaxField: 8}
	ok := minimal(Login).json(t)
	if _, err := l.Decode(ok); err != nil {
		t.Fatalf("small event rejected: %v", err)
	}
	for _, c := range []struct {
		name, reason, detail string
		in                   []byte
	}{
		{"bytes", "too_large", "limit 200", minimal(Login).with(fields{"user_agent": strings.Repeat("u", 200)}).json(t)},
		{"field", "invalid_field", "registration_id: longer than 8 characters", minimal(Login).with(fields{"registration_id": "R12345678"}).json(t)},
		{"documents", "invalid_field", "documents: 2, limit 1", minimal(Login).with(fields{"documents": []any{
			map[string]any{"kind": "k", "uri": "u"}, map[string]any{"kind": "k", "uri": "u"}}}).json(t)},
	} {
		_, err := l.Decode(c.in)
		wantReason(t, err, c.reason, c.detail)
	}
	if IsDecodeError(errors.New("broker down")) || IsDecodeError(nil) {
		t.Error("IsDecodeError is true for a plain error")
	}
	if !IsDecodeError(fmt.Errorf("wrapped: %w", &DecodeError{"bad_json", "x"})) {
		t.Error("IsDecodeError misses a wrapped DecodeError")
	}
}

func TestBeforeOrder(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	ev := func(ts, id string) *Event { return &Event{EventID: id, OccurredAt: at(ts)} }
	cases := []struct {
		name string
		a, b *Event
		want bool // a before b
	}{
		{"earlier time", ev("2026-04-11T08:00:00Z", "E9"), ev("2026-04-11T08:00:01Z", "E1"), true},
		{"later time", ev("2026-04-11T08:00:01Z", "E1"), ev("2026-04-11T08:00:00Z", "E9"), false},
		{"nanosecond apart", ev("2026-04-11T08:00:00.000000001Z", "E1"), ev("2026-04-11T08:00:00.000000002Z", "E0"), true},
		{"same time, id decides", ev("2026-04-11T08:00:00Z", "E1"), ev("2026-04-11T08:00:00Z", "E2"), true},
		{"same time, id decides (reverse)", ev("2026-04-11T08:00:00Z", "E2"), ev("2026-04-11T08:00:00Z", "E1"), false},
		{"ids compare as strings", ev("2026-04-11T08:00:00Z", "E10"), ev("2026-04-11T08:00:00Z", "E9"), true},
		{"same instant in two zones", ev("2026-04-11T15:00:00+07:00", "E1"), ev("2026-04-11T08:00:00Z", "E2"), true},
		{"same instant in two zones (reverse)", ev("2026-04-11T08:00:00Z", "E2"), ev("2026-04-11T15:00:00+07:00", "E1"), false},
		{"equal", ev("2026-04-11T08:00:00Z", "E1"), ev("2026-04-11T08:00:00Z", "E1"), false},
		{"oldest accepted year", ev("1900-01-01T00:00:00-23:59", "E1"), ev("2199-12-31T23:59:59+23:59", "E1"), true},
	}
	for _, c := range cases {
		if got := c.a.Before(c.b); got != c.want {
			t.Errorf("%s: Before = %v, want %v", c.name, got, c.want)
		}
		if got := c.a.Order().Less(c.b.Order()); got != c.want {
			t.Errorf("%s: Order().Less = %v, want %v", c.name, got, c.want)
		}
	}
	// Sorting by Order gives the same sequence as sorting with Before, and
	// no two events are equal unless their (time, id) are.
	var evs []*Event
	for _, c := range cases {
		evs = append(evs, c.a, c.b)
	}
	byBefore := slices.Clone(evs)
	slices.SortStableFunc(byBefore, func(x, y *Event) int {
		switch {
		case x.Before(y):
			return -1
		case y.Before(x):
			return 1
		}
		return 0
	})
	byOrder := slices.Clone(evs)
	slices.SortStableFunc(byOrder, func(x, y *Event) int {
		switch {
		case x.Order().Less(y.Order()):
			return -1
		case y.Order().Less(x.Order()):
			return 1
		}
		return 0
	})
	if !slices.Equal(byBefore, byOrder) {
		t.Error("Before and Order sort differently")
	}
	for i := 1; i < len(byOrder); i++ {
		if byOrder[i].Before(byOrder[i-1]) {
			t.Errorf("not sorted at %d", i)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"design-example", "no-schema-login"} {
		in := mustRead(b, "testdata/good/"+name+".json")
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
