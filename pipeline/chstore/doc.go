// Package chstore is Waspada's ClickHouse edge: the versioned schema
// migrations, the batch writer for every table, the reads that rebuild
// detector state at start-up, and the analyst queries shipped with the
// binary.
//
// Two servers must run every statement here: Debian's clickhouse-server
// 18.16 (the wire-level tests) and a current release (checked through chdb).
// That rules out LowCardinality, DateTime64, TTL, CODEC and server-side
// query parameters; every INSERT names its columns, which the native
// protocol of 18.16 needs.
//
// Idempotence: every table is a ReplacingMergeTree whose sorting key is the
// row's deterministic id (event id, registration id + score version, signal
// id, dead-letter source position), so a batch written twice after a crash
// collapses to one row on merge; readers that must not see the transient
// duplicate use FINAL or the *_latest view.
package chstore
