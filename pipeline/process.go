package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/waspada/waspada/pipeline/chstore"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/rules"
)

// Message is one input record, from Kafka or a file.
type Message struct {
	Key   []byte
	Value []byte
	// Source is the record's position: "topic/partition/offset" or
	// "file:line". It is the dead letter's deterministic id.
	Source    string
	Topic     string
	Partition int
	Offset    int64
	Time      time.Time // broker timestamp; zero for files
}

// DeadLetter is the JSON on the dead-letter topic and in `waspada score`'s
// dead-letter output.
type DeadLetter struct {
	ID           string    `json:"id"`
	Reason       string    `json:"reason"`
	Detail       string    `json:"detail"`
	Key          string    `json:"key,omitempty"`
	Payload      string    `json:"payload"`
	PayloadBytes int       `json:"payload_bytes"`
	Truncated    bool      `json:"truncated,omitempty"`
	ReceivedAt   time.Time `json:"received_at,omitzero"`
}

// Result is what one batch produced, ready for the sinks.
type Result struct {
	Events      int
	Scores      []rules.Score
	DeadLetters []DeadLetter
	// Released are the address-released messages of the batch's misuse
	// reports (email.misuse_reported events).
	Released []AddressReleased
	Rows     chstore.Batch
}

// Processor decodes a batch, runs it through the engine in decision order
// and shapes the rows and messages for the sinks. It is the shared core of
// `waspada run` and `waspada score`. Not safe for concurrent use.
type Processor struct {
	Engine  *Engine
	Limits  event.Limits
	Metrics *Metrics // optional
	// MaxDeadPayload caps the raw payload kept with a dead letter.
	MaxDeadPayload int
	// PrepareWorkers bounds the events prepared at once (photo fetches);
	// 0 means 8.
	PrepareWorkers int
	// IdleAfter is how long a partition may deliver nothing before it no
	// longer holds back the watermark of windowed detectors (see
	// WatermarkHolder); 0 means DefaultIdleAfter.
	IdleAfter time.Duration
	// Now is the wall clock for partition idleness; nil means time.Now.
	Now func() time.Time

	clock partitionClock
	// OnReport, when set, is called with every email.misuse_reported event
	// the engine processed, live (Process) or when rebuilding (Replay),
	// on the processing goroutine: `waspada run` rebuilds the report
	// intake's single-use store from it.
	OnReport func(ev *event.Event)
}

// Process handles one batch. Valid events are prepared (detector IO such
// as photo fetches, concurrently), then processed in decision order
// (occurred_at, event_id) within the batch, so batch boundaries and arrival
// order inside a batch do not change the result. The only error is a
// *TransientError from preparing, before any state has changed: retry the
// batch later.
func (p *Processor) Process(ctx context.Context, msgs []Message) (Result, error) {
	var res Result
	type decoded struct {
		ev  *event.Event
		msg *Message
	}
	var evs []decoded
	parsed, errs := p.decodeAll(msgs)
	for i := range msgs {
		if errs[i] != nil {
			res.DeadLetters = append(res.DeadLetters, p.deadLetter(&msgs[i], errs[i]))
			continue
		}
		evs = append(evs, decoded{parsed[i], &msgs[i]})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].ev.Before(evs[j].ev) })
	plain := make([]*event.Event, len(evs))
	for i, d := range evs {
		plain[i] = d.ev
	}
	workers := p.PrepareWorkers
	if workers == 0 {
		workers = 8
	}
	prepared, err := prepare(ctx, p.Engine.preparers(), plain, workers)
	if err != nil {
		return Result{}, err
	}
	now := p.now()
	for i, d := range evs {
		p.Engine.HoldWatermark(p.clock.observe(streamOf(d.msg.Source), d.ev.OccurredAt, now, p.idleAfter()))
		out, err := p.safeProcess(d.ev)
		if err != nil {
			res.DeadLetters = append(res.DeadLetters, p.deadLetter(d.msg, err))
			continue
		}
		res.Events++
		canonical, _ := json.Marshal(d.ev)
		res.Rows.Events = append(res.Rows.Events, chstore.EventRow{Event: d.ev, Canonical: canonical,
			Prepared: prepared[i], Source: d.msg.Source})
		p.shape(out, &res)
		if d.ev.Type == event.MisuseReported {
			res.Rows.MisuseReports = append(res.Rows.MisuseReports, misuseReportRow(d.ev, d.msg.Source))
			res.Released = append(res.Released, addressReleased(d.ev))
			if p.OnReport != nil {
				p.OnReport(d.ev)
			}
		}
		if p.Metrics != nil {
			p.Metrics.Events.WithLabelValues(string(d.ev.Type)).Inc()
		}
	}
	for _, d := range res.DeadLetters {
		res.Rows.DeadLetters = append(res.Rows.DeadLetters, p.deadLetterRow(d, msgs))
		if p.Metrics != nil {
			p.Metrics.DeadLetters.WithLabelValues(d.Reason).Inc()
			p.Metrics.Events.WithLabelValues("invalid").Inc()
		}
	}
	if p.Metrics != nil {
		p.Metrics.SnapshotStats(p.Engine)
	}
	return res, nil
}

// Replay re-observes one stored event with what was prepared for it, for
// rebuilding state at start-up; the outputs are dropped (they were written
// before).
func (p *Processor) Replay(raw, prepared []byte) error { return p.ReplayFrom(raw, prepared, "") }

// ReplayFrom is Replay for an event read from source (its message source,
// "topic/partition/offset"), so that the partitions' event-time clocks are
// rebuilt too: a partition that was behind when the pipeline stopped still
// holds the windowed detectors' watermark back after the restart.
func (p *Processor) ReplayFrom(raw, prepared []byte, source string) error {
	ev, err := p.Limits.Decode(raw)
	if err != nil {
		return fmt.Errorf("stored event does not decode (%w): %.200s", err, raw)
	}
	if err := restore(p.Engine.preparers(), ev, prepared); err != nil {
		return err
	}
	p.Engine.HoldWatermark(p.clock.observe(streamOf(source), ev.OccurredAt, p.now(), p.idleAfter()))
	p.Engine.Process(ev)
	if ev.Type == event.MisuseReported && p.OnReport != nil {
		p.OnReport(ev)
	}
	return nil
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Processor) idleAfter() time.Duration {
	if p.IdleAfter > 0 {
		return p.IdleAfter
	}
	return DefaultIdleAfter
}

// decodeAll decodes a batch on every CPU: decoding is pure, about a third
// of the CPU an event costs, and would otherwise run on the one goroutine
// that must stay serial (the engine). Results keep the input's positions.
func (p *Processor) decodeAll(msgs []Message) ([]*event.Event, []error) {
	evs, errs := make([]*event.Event, len(msgs)), make([]error, len(msgs))
	const minChunk = 128
	workers := min(runtime.GOMAXPROCS(0), (len(msgs)+minChunk-1)/minChunk)
	if workers <= 1 {
		for i := range msgs {
			evs[i], errs[i] = p.Limits.Decode(msgs[i].Value)
		}
		return evs, errs
	}
	var wg sync.WaitGroup
	chunk := (len(msgs) + workers - 1) / workers
	for lo := 0; lo < len(msgs); lo += chunk {
		hi := min(lo+chunk, len(msgs))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				evs[i], errs[i] = p.Limits.Decode(msgs[i].Value)
			}
		})
	}
	wg.Wait()
	return evs, errs
}

// Flush ends a finite input: detectors with open windows judge them (see
// Engine.Flush). Only `waspada score` and evaluations call it.
func (p *Processor) Flush() Result {
	var res Result
	p.shape(p.Engine.Flush(), &res)
	return res
}

// shape turns an engine output into rows and counts it.
func (p *Processor) shape(out Output, res *Result) {
	for _, s := range out.Signals {
		ev, _ := json.Marshal(s.Evidence)
		sum := sha256.Sum256([]byte(s.ID() + "\x00" + string(ev)))
		res.Rows.Signals = append(res.Rows.Signals, chstore.SignalRow{
			SignalID: hex.EncodeToString(sum[:12]), RegistrationID: s.RegistrationID, Detector: s.Detector,
			Kind: s.Kind, Key: s.Key, Weight: uint8(s.Weight), Evidence: string(ev), EventID: s.EventID, AsOf: s.AsOf})
		if p.Metrics != nil {
			p.Metrics.Signals.WithLabelValues(s.Detector, s.Kind).Inc()
		}
	}
	for _, sc := range out.Scores {
		res.Scores = append(res.Scores, sc)
		res.Rows.Scores = append(res.Rows.Scores, ScoreRow(sc))
		if p.Metrics != nil {
			p.Metrics.Scores.WithLabelValues(string(sc.Band)).Inc()
		}
	}
}

// safeProcess turns a detector panic into a permanent error for that event:
// one poisonous event must not stop the pipeline.
func (p *Processor) safeProcess(ev *event.Event) (out Output, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &event.DecodeError{Reason: "detector_panic", Detail: fmt.Sprint(r)}
		}
	}()
	return p.Engine.Process(ev), nil
}

func (p *Processor) deadLetter(m *Message, err error) DeadLetter {
	reason, detail := "invalid", err.Error()
	if de, ok := err.(*event.DecodeError); ok {
		reason, detail = de.Reason, de.Detail
	}
	payload := m.Value
	truncated := false
	if len(payload) > p.MaxDeadPayload {
		payload, truncated = payload[:p.MaxDeadPayload], true
	}
	text := string(payload)
	if !utf8.ValidString(text) {
		text = "base64:" + encodeBase64(payload)
	}
	return DeadLetter{ID: m.Source, Reason: reason, Detail: detail, Key: string(m.Key), Payload: text,
		PayloadBytes: len(m.Value), Truncated: truncated, ReceivedAt: m.Time}
}

func (p *Processor) deadLetterRow(d DeadLetter, msgs []Message) chstore.DeadLetterRow {
	row := chstore.DeadLetterRow{ID: d.ID, Source: "file", Key: d.Key, Reason: d.Reason, Detail: d.Detail,
		Payload: d.Payload, PayloadBytes: uint32(d.PayloadBytes), ReceivedAt: d.ReceivedAt}
	for _, m := range msgs {
		if m.Source == d.ID && m.Topic != "" {
			row.Source, row.Topic, row.Partition, row.Offset = "kafka", m.Topic, int32(m.Partition), m.Offset
			break
		}
	}
	if row.ReceivedAt.IsZero() {
		row.ReceivedAt = time.Unix(0, 0).UTC()
	}
	return row
}

// ScoreRow shapes a score for the risk_scores table.
func ScoreRow(sc rules.Score) chstore.ScoreRow {
	reasons, _ := json.Marshal(sc.Reasons)
	kinds := make([]string, 0, len(sc.Reasons))
	seen := map[string]bool{}
	for _, r := range sc.Reasons {
		k := r.Detector + "." + r.Kind
		if !seen[k] {
			seen[k] = true
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	return chstore.ScoreRow{RegistrationID: sc.RegistrationID, ScoreVersion: sc.ScoreVersion, Score: uint8(sc.Score),
		Band: string(sc.Band), Reasons: string(reasons), ReasonKinds: kinds, RuleSet: sc.RuleSet, AsOf: sc.AsOf,
		EventID: sc.EventID, ContentHash: ContentHash(sc)}
}

// KafkaSource formats a Kafka position as a Message.Source.
func KafkaSource(topic string, partition int, offset int64) string {
	return topic + "/" + strconv.Itoa(partition) + "/" + strconv.FormatInt(offset, 10)
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
