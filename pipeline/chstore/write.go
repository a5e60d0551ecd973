package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/waspada/waspada/pipeline/event"
)

// EventRow is one accepted event, as the detectors saw it.
type EventRow struct {
	Event *event.Event
	// Canonical is the event's canonical JSON: what a rebuild re-observes.
	Canonical []byte
	// Prepared is what detectors with IO (photo hashes) found for the
	// event, a JSON object by detector name; a rebuild hands it back
	// instead of fetching again. Empty when no detector prepared anything.
	Prepared []byte
	// Source is where it came from: "topic/partition/offset" or "file:line".
	Source string
}

// SignalRow is one new or changed signal.
type SignalRow struct {
	SignalID       string
	RegistrationID string
	Detector       string
	Kind           string
	Key            string
	Weight         uint8
	Evidence       string // JSON object
	EventID        string
	AsOf           time.Time
}

// ScoreRow is one score version.
type ScoreRow struct {
	RegistrationID string
	ScoreVersion   uint32
	Score          uint8
	Band           string
	Reasons        string // JSON array
	ReasonKinds    []string
	RuleSet        string
	AsOf           time.Time
	EventID        string
	ContentHash    uint64
}

// DeadLetterRow is an event that could not be processed, with the reason.
type DeadLetterRow struct {
	ID           string // source position: deterministic, so a replay is one row
	Source       string // "kafka" or "file"
	Topic        string
	Partition    int32
	Offset       int64
	Key          string
	Reason       string
	Detail       string
	Payload      string // size-capped
	PayloadBytes uint32
	ReceivedAt   time.Time
}

// MisuseReportRow is one accepted misuse report (an email.misuse_reported
// event), for the misuse_reports table.
type MisuseReportRow struct {
	ReportID       string
	RegistrationID string
	Address        string // canonical
	Channel        string // "email" or "link"
	ReceivedAt     time.Time
	MessageID      string
	Signer         string
	TokenID        string
	Source         string // where the event was read: "topic/partition/offset" or "file:line"
}

// Batch is everything one pipeline batch writes.
type Batch struct {
	Events        []EventRow
	Signals       []SignalRow
	Scores        []ScoreRow
	DeadLetters   []DeadLetterRow
	MisuseReports []MisuseReportRow
}

// Rows is the number of rows in the batch.
func (b *Batch) Rows() int {
	return len(b.Events) + len(b.Signals) + len(b.Scores) + len(b.DeadLetters) + len(b.MisuseReports)
}

// Write inserts the batch, one INSERT per non-empty table, in an order
// that makes a crash anywhere in between recoverable: dead letters, then
// signals, then scores (never a score without its evidence), then misuse
// reports, and the registrations last. The registrations table is what a restart re-observes
// (EachEvent), so a stored event means everything it produced is stored
// too. Written the other way round, a crash after the registrations insert
// would lose the new score versions of *other* registrations (the earlier
// holder of a re-used NIK): the restart re-observes the event silently and
// its redelivery is a replay that re-emits only its own registration's
// signals. A crash before the registrations insert leaves signal and score
// rows that the redelivered event reproduces with the same ids and
// content, so nothing shows twice. Errors are returned as they are; the
// caller retries the whole batch (rows are idempotent by key).
func (s *Store) Write(ctx context.Context, b *Batch) error {
	if len(b.DeadLetters) > 0 {
		if err := s.insert(ctx, "dead_letters", `dead_letter_id, source, kafka_topic, kafka_partition, kafka_offset, key,
reason, detail, payload, payload_bytes, received_at`, len(b.DeadLetters), func(i int) []any {
			d := b.DeadLetters[i]
			return []any{d.ID, d.Source, d.Topic, d.Partition, d.Offset, d.Key, d.Reason, d.Detail, d.Payload,
				d.PayloadBytes, d.ReceivedAt}
		}); err != nil {
			return err
		}
	}
	if len(b.Signals) > 0 {
		if err := s.insert(ctx, "signals", `signal_id, registration_id, detector, kind, key, weight, evidence, event_id, as_of`,
			len(b.Signals), func(i int) []any {
				r := b.Signals[i]
				return []any{r.SignalID, r.RegistrationID, r.Detector, r.Kind, r.Key, r.Weight, r.Evidence, r.EventID, r.AsOf}
			}); err != nil {
			return err
		}
	}
	if len(b.Scores) > 0 {
		if err := s.insert(ctx, "risk_scores", `registration_id, score_version, score, band, reasons, reason_kinds,
rule_set, as_of, event_id, content_hash`, len(b.Scores), func(i int) []any {
			r := b.Scores[i]
			kinds := r.ReasonKinds
			if kinds == nil {
				kinds = []string{}
			}
			return []any{r.RegistrationID, r.ScoreVersion, r.Score, r.Band, r.Reasons, kinds, r.RuleSet, r.AsOf,
				r.EventID, r.ContentHash}
		}); err != nil {
			return err
		}
	}
	if len(b.MisuseReports) > 0 {
		if err := s.insert(ctx, "misuse_reports", `report_id, registration_id, address, channel, received_at, message_id,
signer, token_id, source`, len(b.MisuseReports), func(i int) []any {
			r := b.MisuseReports[i]
			return []any{r.ReportID, r.RegistrationID, r.Address, r.Channel, r.ReceivedAt, r.MessageID, r.Signer, r.TokenID, r.Source}
		}); err != nil {
			return err
		}
	}
	if len(b.Events) > 0 {
		if err := s.insert(ctx, "registrations", `event_id, registration_id, type, occurred_at, occurred_at_ns, nik, full_name,
birth_date, gender, email, phone, region_code, ip, device_id, user_agent, documents, event, prepared, source`, len(b.Events), func(i int) []any {
			r := b.Events[i]
			e := r.Event
			docs := documentsJSON(e.Documents)
			return []any{e.EventID, e.RegistrationID, string(e.Type), e.OccurredAt, uint32(e.OccurredAt.Nanosecond()),
				e.NIK, e.FullName, e.BirthDate, e.Gender, e.Email, e.Phone, e.RegionCode, e.IP, e.DeviceID,
				e.UserAgent, docs, string(r.Canonical), string(r.Prepared), r.Source}
		}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) insert(ctx context.Context, table, cols string, n int, row func(int) []any) error {
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+"."+table+" ("+cols+")")
	if err != nil {
		return fmt.Errorf("insert %s: %w", table, err)
	}
	for i := 0; i < n; i++ {
		if err := batch.Append(row(i)...); err != nil {
			batch.Abort()
			return fmt.Errorf("insert %s: row %d: %w", table, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %s: %w", table, err)
	}
	return nil
}
