// Package pipeline owns everything between the outside world and the
// detectors: the Kafka source (kafka-go consumer groups), batching, the
// engine that runs detectors and rules, the sinks (ClickHouse, the
// risk-scores and dead-letter topics), offsets, retries, metrics and HTTP.
//
// The delivery rule is at-least-once in, idempotent out: a batch's offsets
// are committed only after every row and message it produced is durably
// written, and every row and message carries a deterministic id, so a
// replay after a crash produces no visible duplicates.
//
// Write order per batch: the risk-scores and dead-letter topics first, then
// ClickHouse, then the offset commit. At start-up the engine is rebuilt from
// ClickHouse (stored events re-observed in decision order, score versions
// reloaded), so anything ClickHouse has was also published, and anything it
// lacks is produced again by the replay.
package pipeline
