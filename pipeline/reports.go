package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/waspada/waspada/pipeline/chstore"
	"github.com/waspada/waspada/pipeline/event"
)

// AddressReleasedSchema is the schema id of AddressReleased messages.
const AddressReleasedSchema = "waspada.address-released/v1"

// AddressReleased is the message on the address-released topic (key = the
// canonical address): the owner of Address proved that registration
// RegistrationID was not made by them, so the registration platform may
// detach the address from the registrations that used it and let its
// owner register with it.
//
// The runner produces one when it processes an email.misuse_reported
// event, before it writes the batch to ClickHouse and commits. Delivery is
// at least once and idempotent: every field comes from the event, so a
// replay (a restart before the offset commit, a rebalance) produces the
// same key and the same bytes again, and consumers can dedupe on
// report_id. Rebuilding state at start-up produces nothing.
type AddressReleased struct {
	Schema         string    `json:"schema"`
	Address        string    `json:"address"`
	RegistrationID string    `json:"registration_id"`
	ReportID       string    `json:"report_id"`
	Channel        string    `json:"channel"`
	ReportedAt     time.Time `json:"reported_at"`
}

// addressReleased is the message for one report event.
func addressReleased(ev *event.Event) AddressReleased {
	return AddressReleased{Schema: AddressReleasedSchema, Address: ev.Email, RegistrationID: ev.RegistrationID,
		ReportID: ev.ReportID, Channel: ev.ReportChannel, ReportedAt: ev.OccurredAt}
}

// misuseReportRow is the misuse_reports row of one report event.
func misuseReportRow(ev *event.Event, source string) chstore.MisuseReportRow {
	return chstore.MisuseReportRow{ReportID: ev.ReportID, RegistrationID: ev.RegistrationID, Address: ev.Email,
		Channel: ev.ReportChannel, ReceivedAt: ev.OccurredAt, MessageID: ev.ReportMessageID, Signer: ev.ReportSigner,
		TokenID: ev.ReportTokenID, Source: source}
}

// EventProducer writes the events Waspada makes itself (misuse reports)
// onto the registrations topic, keyed by registration_id as the platform
// keys its events, so that they are consumed, stored and replayed like
// every other event. Safe for concurrent use; Close once.
type EventProducer struct {
	w      *kafka.Writer
	limits event.Limits
}

// NewEventProducer produces to cfg.RegistrationsTopic. It partitions with
// murmur2, as the Java client's default partitioner does, so that a report
// lands on the partition of the platform's own events of that
// registration when the platform produces with a Java client. (Nothing
// depends on it: detectors order by (occurred_at, event_id), not by
// arrival.)
func NewEventProducer(cfg KafkaConfig, limits event.Limits) *EventProducer {
	w := NewWriter(cfg.Brokers, cfg.RegistrationsTopic)
	w.Balancer = kafka.Murmur2Balancer{}
	return &EventProducer{w: w, limits: limits}
}

// Produce encodes ev, checks it with the strict decoder (an event the
// pipeline would dead-letter is refused here, as a permanent error), and
// returns once every in-sync replica acked it. Any other error is
// transient: the caller answers "retry later".
func (p *EventProducer) Produce(ctx context.Context, ev *event.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if _, err := p.limits.Decode(b); err != nil {
		return fmt.Errorf("refusing to produce an invalid event: %w", err)
	}
	return p.w.WriteMessages(ctx, kafka.Message{Key: []byte(ev.RegistrationID), Value: b})
}

// Close flushes and closes the producer.
func (p *EventProducer) Close() error { return CloseWriter(p.w) }
