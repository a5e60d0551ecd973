package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// FuzzDecode holds the decoder to its contract on any input: it never
// panics, every rejection is a *DecodeError, every accepted event is
// canonical and survives json.Marshal + Decode unchanged, tighter limits
// accept a subset, and the published schema agrees with the decoder.
//
// Seeds: every example in testdata/good and testdata/bad, plus
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, ex := range examples(f) {
		f.Add(ex.data)
	}
	mustSchema(f)
	tight := Limits{MaxBytes: 1 << 10, MaxDocuments: 2, MaxField: 16}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := Decode(b)
		if err != nil {
			if ev != nil {
				t.Fatalf("event returned with error %v", err)
			}
			if !IsDecodeError(err) {
				t.Fatalf("not a DecodeError: %T %v", err, err)
			}
			if _, terr := tight.Decode(b); terr == nil {
				t.Fatalf("tight limits accept what the defaults reject (%v)", err)
			}
			checkSchemaAgrees(t, b, err)
			return
		}
		if ev.Schema == "" || ev.OccurredAt.Location() != time.UTC ||
			(ev.Documents != nil && len(ev.Documents) == 0) || !knownTypes[ev.Type] {
			t.Fatalf("accepted event is not canonical: %+v", ev)
		}
		if y := ev.OccurredAt.Year(); y < 1900 || y > 2199 {
			t.Fatalf("occurred_at %v outside 1900-2199 UTC", ev.OccurredAt)
		}
		if o := ev.Order(); time.Unix(0, o.At).UTC() != ev.OccurredAt {
			t.Fatalf("Order().At %d does not give back %v", o.At, ev.OccurredAt)
		}
		roundTrip(t, ev, DefaultLimits())
		tight.Decode(b) // must not panic; may reject
		checkSchemaAgrees(t, b, nil)
	})
}

// FuzzDecodeFields fuzzes field values inside well-formed events, where the
// byte-level FuzzDecode rarely gets: emails, timestamps, dates, white space,
// the schema id, documents. The same properties hold.
func FuzzDecodeFields(f *testing.F) {
	f.Add("registration.submitted", "2026-04-11T08:00:00.298Z", "E1", "R1", "3201010101900001", "SITI", "1990-01-01", "F", "siti@example.com", "", "ktp", "file:///k.jpg", uint8(0))
	f.Add("email.verification_sent", "2026-04-11T15:00:00+07:00", "E2", "R2", "", "", "", "", "Siti <siti@example.com>", "waspada.registration/v1.3", "", "", uint8(1))
	f.Add("document.uploaded", "1900-01-01T00:00:00-00:00", " ", "R3", "", "", "2000-02-30", "M", "a..b@x", "waspada.registration/v2", "selfie", "", uint8(2))
	f.Add("login", "2199-12-31T23:59:59.999999999+01:00", "E\u00a0", "\u3000", "", "", "", "m", "\"a b\"@x.id", "waspada.registration/1", "", "", uint8(3))
	mustSchema(f)
	f.Fuzz(func(t *testing.T, typ, at, id, reg, nik, name, birth, gender, email, schema, kind, uri string, mask uint8) {
		m := map[string]any{"type": typ, "occurred_at": at, "event_id": id, "registration_id": reg,
			"nik": nik, "full_name": name, "birth_date": birth, "gender": gender, "email": email, "schema": schema}
		// mask drops fields or turns them into null, so absence is explored too.
		dropMasked(m, mask, "nik", "full_name", "birth_date", "gender", "email", "schema")
		if mask&(1<<6) != 0 {
			m["email"] = nil
		}
		if mask&(1<<7) != 0 {
			m["documents"] = []any{map[string]any{"kind": kind, "uri": uri}}
		}
		decodeAndCheck(t, m)
	})
}

// The first pass's fast key scanner and the map path must agree on every
// input: same outcome, same reason and detail.
func FuzzFirstPass(f *testing.F) {
	for _, ex := range examples(f) {
		f.Add(ex.data)
	}
	for _, s := range []string{`{"nik":"1","NIK":"2"}`, `{"documents":[{"kind":"ktp","URI":"x"},{"zz":1,"aa":2}]}`,
		`{"schema":null,"schema":"waspada.registration/v9"}`, `{"documents":[1,{"b":1}],"documents":[]}`,
		`{"documents":{"a":1}}`, `{"a\u0062":1}`, `{"documents":[{"k\u0069nd":"x"}]}`, ` {"x":"}{][\"","y":[{"z":"]"}]} `,
		`{"schema":"waspada.registration/v1","zz":1,"documents":[{"q":1}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(bytes.TrimLeft(b, " \t\r\n")) == 0 || bytes.TrimLeft(b, " \t\r\n")[0] != '{' {
			return // Decode rejects these before the first pass
		}
		fast, slow := firstPass(b), firstPassMaps(b)
		if fmt.Sprint(fast) != fmt.Sprint(slow) {
			t.Fatalf("fast %v, maps %v for %q", fast, slow, b)
		}
	})
}

// FuzzDecodeReportFields is FuzzDecodeFields for the email.misuse_reported
// fields: present, absent, null, on other event types, with any channel.
func FuzzDecodeReportFields(f *testing.F) {
	f.Add("email.misuse_reported", "2026-04-11T08:00:00Z", "E1", "R1", "siti@example.com", "rep-1", "email", "<m1@mail.example>", "d=example.com; s=sel", "", uint8(0))
	f.Add("email.misuse_reported", "2026-04-11T08:00:00Z", "E2", "R2", "siti@example.com", "rep-2", "link", "", "", "tok-9", uint8(0))
	f.Add("registration.submitted", "2026-04-11T08:00:00Z", "E3", "R3", "siti@example.com", "rep-3", "email", "", "", "", uint8(0))
	f.Add("email.misuse_reported", "2026-04-11T08:00:00Z", "E4", "R4", "siti@example.com", "", "sms", "", "", "", uint8(1<<5))
	mustSchema(f)
	f.Fuzz(func(t *testing.T, typ, at, id, reg, email, reportID, channel, messageID, signer, tokenID string, mask uint8) {
		m := map[string]any{"type": typ, "occurred_at": at, "event_id": id, "registration_id": reg, "email": email,
			"report_id": reportID, "report_channel": channel, "report_message_id": messageID, "report_signer": signer, "report_token_id": tokenID}
		dropMasked(m, mask, "report_id", "report_channel", "report_message_id", "report_signer", "report_token_id")
		if mask&(1<<5) != 0 {
			m["report_id"] = nil
		}
		if mask&(1<<6) != 0 {
			delete(m, "email")
		}
		decodeAndCheck(t, m)
	})
}

// decodeAndCheck encodes m, decodes it, checks a decoded event round-trips
// and a rejection is a DecodeError, and that the JSON Schema agrees.
func decodeAndCheck(t *testing.T, m map[string]any) {
	b, err := json.Marshal(m)
	if err != nil {
		t.Skip()
	}
	ev, err := Decode(b)
	if err == nil {
		roundTrip(t, ev, DefaultLimits())
	} else if !IsDecodeError(err) {
		t.Fatalf("not a DecodeError: %T %v", err, err)
	}
	checkSchemaAgrees(t, b, err)
}

// dropMasked deletes names[i] from m for every bit i set in mask.
func dropMasked(m map[string]any, mask uint8, names ...string) {
	for i, k := range names {
		if mask&(1<<i) != 0 {
			delete(m, k)
		}
	}
}
