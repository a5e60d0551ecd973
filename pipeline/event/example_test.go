package event_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/waspada/waspada/pipeline/event"
)

func ExampleDecode() {
	ev, err := event.Decode([]byte(`{"event_id": "E000000123", "type": "registration.submitted",
		"occurred_at": "2026-04-11T15:00:00.298+07:00", "registration_id": "R00000123",
		"nik": "1306040107850001", "full_name": "NANANG SARFINAL", "birth_date": "1985-07-01",
		"email": "nanang@example.co.id", "phone": "",
		"documents": [{"kind": "ktp", "uri": "file:///uploads/R00000123/ktp.jpg"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Schema, ev.Type, ev.RegistrationID)
	fmt.Println(ev.OccurredAt) // normalised to UTC
	fmt.Println(ev.Documents[0].Kind, ev.Phone == "")
	// Output:
	// waspada.registration/v1 registration.submitted R00000123
	// 2026-04-11 08:00:00.298 +0000 UTC
	// ktp true
}

func ExampleDecode_badEvent() {
	for _, msg := range []string{
		`{"schema": "waspada.registration/v2", "id": "E1"}`,
		`{"event_id": "E1", "type": "login", "occurred_at": "2026-04-11T08:00:00Z", "registration_id": "R1"} x`,
		`{"event_id": "E1", "type": "registration.submitted", "occurred_at": "2026-04-11T08:00:00Z", "registration_id": "R1"}`,
		`{"event_id": "E1", "type": "login", "occurred_at": "2026-04-11T08:00:00Z", "registration_id": "R1", "email": "Budi <budi@example.com>"}`,
	} {
		_, err := event.Decode([]byte(msg))
		var de *event.DecodeError
		if errors.As(err, &de) {
			// The pipeline dead-letters the message with de.Reason and moves on.
			fmt.Printf("%s | %s\n", de.Reason, de.Detail)
		}
	}
	// Output:
	// unknown_schema | unsupported version in schema "waspada.registration/v2" (this build reads v1 and v1.<minor>)
	// bad_json | trailing data after the event object
	// missing_field | nik, full_name, birth_date, email
	// invalid_field | email: not a bare address (local@domain): "Budi <budi@example.com>"
}

func ExampleSchemaJSON() {
	// Publish it as is, or feed it to any draft 2020-12 validator that
	// asserts formats.
	var s struct {
		Schema   string   `json:"$schema"`
		Title    string   `json:"title"`
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(event.SchemaJSON(), &s); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Title)
	fmt.Println(s.Schema)
	fmt.Println(s.Required)
	// Output:
	// waspada.registration/v1
	// https://json-schema.org/draft/2020-12/schema
	// [event_id type occurred_at registration_id]
}
