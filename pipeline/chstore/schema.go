package chstore

import (
	"embed"
	"sort"
	"strings"
)

// Migration is one schema step. Statements are idempotent on their own
// (IF NOT EXISTS), and applied versions are recorded in schema_migrations,
// so running migrate twice, or two instances at once, is harmless.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

// Migrations returns the schema steps for a database, in order.
func Migrations(db string) []Migration {
	q := func(s string) string { return strings.ReplaceAll(s, "{db}", db) }
	return []Migration{
		{1, "registrations, signals, risk_scores, dead_letters", []string{
			q(`CREATE TABLE IF NOT EXISTS {db}.registrations (
    event_id        String,
    registration_id String,
    type            String,
    occurred_at     DateTime('UTC'),
    occurred_at_ns  UInt32,
    nik             String,
    full_name       String,
    birth_date      String,
    gender          String,
    email           String,
    phone           String,
    region_code     String,
    ip              String,
    device_id       String,
    user_agent      String,
    documents       String,
    event           String,
    prepared        String,
    source          String,
    ingested_at     DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (registration_id, event_id)`),
			q(`CREATE TABLE IF NOT EXISTS {db}.signals (
    signal_id       String,
    registration_id String,
    detector        String,
    kind            String,
    key             String,
    weight          UInt8,
    evidence        String,
    event_id        String,
    as_of           DateTime('UTC'),
    written_at      DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree()
ORDER BY (registration_id, detector, kind, key, signal_id)`),
			q(`CREATE TABLE IF NOT EXISTS {db}.risk_scores (
    registration_id String,
    score_version   UInt32,
    score           UInt8,
    band            Enum8('allow' = 1, 'review' = 2, 'deny' = 3),
    reasons         String,
    reason_kinds    Array(String),
    rule_set        String,
    as_of           DateTime('UTC'),
    event_id        String,
    content_hash    UInt64,
    written_at      DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree()
ORDER BY (registration_id, score_version)`),
			// The selection service reads this view: exactly one row per
			// registration, its highest score version. FINAL hides a row
			// written twice by a replay before the merge removes it.
			q(`CREATE VIEW IF NOT EXISTS {db}.risk_scores_latest AS
SELECT registration_id, score_version, score, band, reasons, reason_kinds, rule_set, as_of, event_id
FROM {db}.risk_scores FINAL
WHERE (registration_id, score_version) IN (
    SELECT registration_id, max(score_version) FROM {db}.risk_scores GROUP BY registration_id
)`),
			q(`CREATE TABLE IF NOT EXISTS {db}.dead_letters (
    dead_letter_id  String,
    source          String,
    kafka_topic     String,
    kafka_partition Int32,
    kafka_offset    Int64,
    key             String,
    reason          String,
    detail          String,
    payload         String,
    payload_bytes   UInt32,
    received_at     DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY dead_letter_id`),
		}},
	}
}

// Bootstrap are the statements that must exist before migrations can be
// recorded.
func Bootstrap(db string) []string {
	return []string{
		"CREATE DATABASE IF NOT EXISTS " + db,
		`CREATE TABLE IF NOT EXISTS ` + db + `.schema_migrations (
    version    UInt32,
    name       String,
    applied_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree()
ORDER BY version`,
	}
}

//go:embed queries/*.sql
var queryFiles embed.FS

// Query is an analyst query shipped with the binary.
type Query struct {
	Name string // file name without .sql
	SQL  string // with {db} replaced
}

// Queries returns the shipped analyst queries for a database, by name.
func Queries(db string) []Query {
	entries, _ := queryFiles.ReadDir("queries")
	var out []Query
	for _, e := range entries {
		b, _ := queryFiles.ReadFile("queries/" + e.Name())
		out = append(out, Query{strings.TrimSuffix(e.Name(), ".sql"),
			strings.TrimSpace(strings.ReplaceAll(string(b), "{db}", db))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
