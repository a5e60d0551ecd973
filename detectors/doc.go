// Package detectors holds what every detector shares: the Signal a detector
// emits and the evidence it carries. Each detector lives in its own
// sub-package (identity, photo, email, burst) with a pure core over plain
// values; Kafka, ClickHouse and HTTP stay in package pipeline.
//
// The contract every detector follows (the pipeline declares the interface
// where it uses it):
//
//   - Observe is called once per event, in the order the pipeline decides;
//     it returns the current signals of every registration whose picture the
//     event changed: the event's own registration and earlier ones (a later
//     duplicate re-scores the earlier registration too).
//   - A returned signal replaces any earlier signal with the same
//     (RegistrationID, Detector, Kind, Key). Signals are never withdrawn.
//   - Observing the same event twice is a no-op for the state and returns
//     the same signals (replays after a crash must not invent duplicates).
//   - The final signals of a registration depend only on the set of events,
//     never on their arrival order: evidence lists are sorted by the event
//     order (occurred_at, event_id), not by arrival.
//   - Detectors are not safe for concurrent use; the pipeline serialises
//     calls per detector.
package detectors
