// Package event is the registration event contract (waspada.registration/v1):
// the Go types, the strict decoder and the published JSON Schema
// (registration.v1.schema.json beside this file, also SchemaJSON()).
//
// Decoding is strict: unknown major versions, bad JSON, unknown fields,
// missing or mistyped required fields are a *DecodeError, which the pipeline
// treats as permanent (dead letter with the reason, commit, move on).
//
// The schema and the decoder accept the same events (tests and FuzzDecode
// hold them to it), with two exceptions the schema cannot state: the
// whole-event byte cap (Limits.MaxBytes), and limits other than
// DefaultLimits. Validators must assert "format" (date, date-time).
//
// Non-obvious:
//   - null or "" in an optional field means absent; in a required field
//     (and "" or white space only) it is missing. "schema": "" is not absent
//     but an unknown schema. A decoded event never carries an empty
//     Documents slice.
//   - Keys match exactly (encoding/json alone would take "Event_ID").
//   - Limits.MaxField counts characters (code points), not bytes, because
//     that is what JSON Schema's maxLength counts.
//   - email.misuse_reported is the one type Waspada produces itself (the
//     report intake, onto the registrations topic keyed by registration_id):
//     event_id is the deterministic report id, occurred_at the time the
//     report was received, email the owner's canonical address. Its report_*
//     fields are rejected on every other type.
//   - occurred_at is normalised to UTC and limited to years 1900-2199, so
//     Order's unix nanoseconds never overflow.
package event
