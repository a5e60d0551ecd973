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
		// Bursts for analysts. burst_episodes is filled by a materialized
		// view over signals rather than by Go-side rows: the burst evidence
		// already carries every column (one evidence object per flagged
		// window, shared by all its members' signals), so the writer stays
		// generic (it knows no detector's evidence), the episode rows come
		// with the very INSERT that writes the signals (no second path that
		// could lag or fail on its own), and a backfill from signals is one
		// INSERT ... SELECT. Only visitParamExtract* (18.16 has no
		// JSONExtract) and the non-throwing parseDateTimeBestEffortOrZero:
		// an error inside a materialized view fails the signals INSERT
		// itself, and a batch that always fails stops the pipeline.
		//
		// A window's signals arrive in one INSERT, but a replay writes them
		// again later, so the rows go to an AggregatingMergeTree keyed by
		// the window, with the evidence and min/max of written_at (the
		// first and last time the window was written) as aggregate states;
		// plain columns outside the key are refused there by current
		// releases. burst_episodes is a view that merges the states and
		// reads the columns out of the evidence: one row per flagged
		// window, no FINAL needed. Re-running the backfill is harmless for
		// the same reason.
		{2, "burst_episodes, registrations_by_region_minute", []string{
			q(`CREATE TABLE IF NOT EXISTS {db}.burst_episodes_state (
    kind            String,
    key_class       String,
    key             String,
    window_start    DateTime('UTC'),
    window_seconds  UInt32,
    evidence_state  AggregateFunction(any, String),
    first_written   AggregateFunction(min, DateTime('UTC')),
    last_written    AggregateFunction(max, DateTime('UTC'))
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_start, key_class, key, window_seconds, kind)`),
			q(`CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.burst_episodes_mv TO {db}.burst_episodes_state AS
` + burstEpisodeRows),
			q(`INSERT INTO {db}.burst_episodes_state (kind, key_class, key, window_start, window_seconds,
    evidence_state, first_written, last_written)
` + burstEpisodeRows),
			q(`CREATE VIEW IF NOT EXISTS {db}.burst_episodes AS
SELECT kind, key_class, key, window_start,
    parseDateTimeBestEffortOrZero(visitParamExtractString(evidence, 'window_end')) AS window_end,
    window_seconds,
    toUInt32(visitParamExtractUInt(evidence, 'count')) AS submissions,
    toUInt32(visitParamExtractUInt(evidence, 'distinct_identities')) AS distinct_identities,
    toUInt32(visitParamExtractUInt(evidence, 'distinct_emails')) AS distinct_emails,
    visitParamExtractFloat(evidence, 'baseline') AS baseline,
    visitParamExtractFloat(evidence, 'ratio') AS ratio,
    visitParamExtractFloat(evidence, 'excess_fraction') AS excess_fraction,
    visitParamExtractFloat(evidence, 'p_value') AS p_value,
    visitParamExtractFloat(evidence, 'score') AS score,
    extractAll(visitParamExtractRaw(evidence, 'members'), '"([^"]+)"') AS members,
    toUInt32(visitParamExtractUInt(evidence, 'members_total')) AS members_total,
    visitParamExtractBool(evidence, 'approximate') AS approximate,
    first_written, last_written, evidence
FROM (
    SELECT kind, key_class, key, window_start, window_seconds, anyMerge(evidence_state) AS evidence,
        minMerge(first_written) AS first_written, maxMerge(last_written) AS last_written
    FROM {db}.burst_episodes_state
    GROUP BY kind, key_class, key, window_start, window_seconds
)`),
			// A plain view, computed when read: it covers events stored
			// before the migration, and counting distinct event ids makes
			// a replayed (twice written) event count once without FINAL.
			q(`CREATE VIEW IF NOT EXISTS {db}.registrations_by_region_minute AS
SELECT region_code, toStartOfMinute(occurred_at) AS minute,
    uniqExact(event_id) AS submissions,
    uniqExact(registration_id) AS registrations,
    uniqExact(nik) AS distinct_niks
FROM {db}.registrations
WHERE type = 'registration.submitted'
GROUP BY region_code, minute`),
		}},
		// Accepted misuse reports ("this registration used my email, it was
		// not me"), one row per report, written by the pipeline when it
		// processes the report's email.misuse_reported event (in the same
		// batch write as the event, before the registrations row). A table
		// rather than a materialized view over registrations: the columns
		// come typed from Go instead of being parsed out of the event JSON
		// with visitParamExtract* (18.16 has no JSONExtract, and a
		// Message-ID may hold quotes and backslashes), and a replay writes
		// the same row again (ReplacingMergeTree by report id).
		{3, "misuse_reports", []string{
			q(`CREATE TABLE IF NOT EXISTS {db}.misuse_reports (
    report_id       String,
    registration_id String,
    address         String,
    channel         String,
    received_at     DateTime('UTC'),
    message_id      String,
    signer          String,
    token_id        String,
    source          String,
    written_at      DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree()
ORDER BY (registration_id, report_id)`),
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

// burstEpisodeRows turns burst signals into burst_episodes_state rows:
// one per flagged window (kind <class>_burst, evidence as documented in
// detectors/burst) and INSERT, grouped by the evidence, which all signals
// of one window share. Only the key columns are extracted here; the
// burst_episodes view reads the rest from the evidence, so the two cannot
// disagree. Used by the materialized view and by the backfill.
const burstEpisodeRows = `SELECT
    kind,
    visitParamExtractString(evidence, 'key_class') AS key_class,
    visitParamExtractString(evidence, 'key') AS key,
    parseDateTimeBestEffortOrZero(visitParamExtractString(evidence, 'window_start')) AS window_start,
    toUInt32(visitParamExtractUInt(evidence, 'window_seconds')) AS window_seconds,
    anyState(evidence) AS evidence_state,
    minState(written_at) AS first_written,
    maxState(written_at) AS last_written
FROM {db}.signals
WHERE detector = 'burst' AND endsWith(kind, '_burst')
GROUP BY kind, evidence`
