package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/waspada/waspada/detectors/email"
	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/rules"
)

const reportedAddr = "siti.aminah@provider.example"

func reportScenario(t *testing.T) (subs []*event.Event, rep *event.Event) {
	t.Helper()
	s1 := sub("E1", "R1", "3201010101900001", 1)
	s1.Email, s1.DeviceID = "Siti.Aminah@provider.example", "DX"
	s2 := sub("E2", "R2", "3201010101900002", 2)
	s2.Email, s2.DeviceID = "budi@else.example", "DX" // shares R1's device
	rep = email.ReportEvent(report.Report{ID: "MR1", Channel: report.ChannelEmail, RegistrationID: "R1", Address: reportedAddr,
		ReceivedAt: time.Date(2026, 4, 11, 9, 0, 0, 5e6, time.UTC), MessageID: `<a"b\c@provider.example>`, Signer: "provider.example", TokenID: "tok1"})
	return []*event.Event{s1, s2}, rep
}

func defaultRules(t *testing.T) *rules.RuleSet {
	rs, err := rules.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func lastReasons(sc []rules.Score) []string {
	if len(sc) == 0 {
		return nil
	}
	var k []string
	for _, r := range sc[len(sc)-1].Reasons {
		k = append(k, r.Detector+"."+r.Kind)
	}
	return k
}

// The processor turns a report event into a misuse_reports row and an
// address-released message, and tells OnReport; a rebuild (Replay)
// tells OnReport too but produces nothing.
func TestProcessorMisuseReport(t *testing.T) {
	subs, rep := reportScenario(t)
	var seen []string
	p := &Processor{Engine: NewEngine(defaultRules(t), email.New(email.DefaultConfig())), Limits: event.DefaultLimits(),
		OnReport: func(ev *event.Event) { seen = append(seen, ev.ReportID) }}
	var msgs []Message
	for i, ev := range append(subs, rep) {
		msgs = append(msgs, Message{Value: encode(t, ev), Source: "file:" + string(rune('1'+i))})
	}
	res, err := p.Process(context.Background(), msgs)
	if err != nil || len(res.DeadLetters) != 0 {
		t.Fatalf("%v %+v", err, res.DeadLetters)
	}
	if len(res.Rows.MisuseReports) != 1 || len(res.Released) != 1 || !slices.Equal(seen, []string{"MR1"}) {
		t.Fatalf("rows %+v released %+v seen %v", res.Rows.MisuseReports, res.Released, seen)
	}
	row := res.Rows.MisuseReports[0]
	if row.ReportID != "MR1" || row.Address != reportedAddr || row.RegistrationID != "R1" || row.Channel != "email" ||
		row.MessageID != `<a"b\c@provider.example>` || !row.ReceivedAt.Equal(rep.OccurredAt) || row.Source != "file:3" {
		t.Errorf("row %+v", row)
	}
	want := AddressReleased{Schema: AddressReleasedSchema, Address: reportedAddr, RegistrationID: "R1", ReportID: "MR1",
		Channel: "email", ReportedAt: rep.OccurredAt}
	if res.Released[0] != want {
		t.Errorf("released %+v", res.Released[0])
	}
	got := map[string][]string{}
	for _, sc := range res.Scores {
		got[sc.RegistrationID] = lastReasons([]rules.Score{sc})
	}
	if !slices.Contains(got["R1"], "email.reported_misuse") || !slices.Contains(got["R2"], "email.linked_to_reported") {
		t.Errorf("scores %v", got)
	}

	// Rebuilding from the stored events: OnReport again, no outputs kept.
	seen = nil
	p2 := &Processor{Engine: NewEngine(defaultRules(t), email.New(email.DefaultConfig())), Limits: event.DefaultLimits(),
		OnReport: func(ev *event.Event) { seen = append(seen, ev.ReportID) }}
	for _, m := range msgs {
		if err := p2.Replay(m.Value, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(seen, []string{"MR1"}) {
		t.Fatalf("replay seen %v", seen)
	}
	if s := p2.Engine.Signals("R1"); len(s) == 0 {
		t.Fatal("replay did not rebuild R1's reported_misuse")
	}
}

func readTopic(t *testing.T, cfg Config, topic string) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for p := 0; p < cfg.Kafka.Partitions; p++ {
		conn, err := kafka.DialLeader(context.Background(), "tcp", cfg.Kafka.Brokers[0], topic, p)
		if err != nil {
			t.Fatal(err)
		}
		last, _ := conn.ReadLastOffset()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for off := int64(0); off < last; {
			batch := conn.ReadBatch(1, 10<<20)
			for {
				m, err := batch.ReadMessage()
				if err != nil {
					break
				}
				out = append(out, m)
				off = m.Offset + 1
			}
			batch.Close()
		}
		conn.Close()
	}
	return out
}

// The whole route on the embedded broker: the report event is produced
// onto the registrations topic (twice, as a retried sink would), the
// runner gives R1 reported_misuse and R2 (same device) linked_to_reported,
// and the address-released topic says the address is free, keyed by the
// address, the same bytes for the duplicate.
func TestRunnerMisuseReportEmbeddedKafka(t *testing.T) {
	cfg, _ := embeddedConfig(t)
	subs, rep := reportScenario(t)
	produce(t, cfg, encode(t, subs[0]), encode(t, subs[1]))
	prod := NewEventProducer(cfg.Kafka, event.DefaultLimits())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 2 {
		if err := prod.Produce(ctx, rep); err != nil {
			t.Fatal(err)
		}
	}
	bad := *rep
	bad.ReportChannel = "sms"
	if err := prod.Produce(ctx, &bad); err == nil {
		t.Fatal("an invalid event was produced")
	}
	prod.Close()

	var seen []string
	r := NewRunner(cfg, NewEngine(defaultRules(t), email.New(email.DefaultConfig())), nil, NewMetrics(),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.OnReport(func(ev *event.Event) { seen = append(seen, ev.ReportID) })
	runUntil(t, r, 4)
	if st := r.Stats(); st.DeadLetters != 0 || st.Events != 4 {
		t.Fatalf("stats %+v", st)
	}
	if len(seen) != 2 || seen[0] != "MR1" {
		t.Errorf("OnReport saw %v", seen)
	}
	scores := readScores(t, cfg)
	if !slices.Contains(lastReasons(scores["R1"]), "email.reported_misuse") {
		t.Errorf("R1 %+v", scores["R1"])
	}
	if !slices.Contains(lastReasons(scores["R2"]), "email.linked_to_reported") {
		t.Errorf("R2 %+v", scores["R2"])
	}
	msgs := readTopic(t, cfg, cfg.Kafka.AddressReleasedTopic)
	if len(msgs) != 2 || !bytes.Equal(msgs[0].Value, msgs[1].Value) {
		t.Fatalf("address-released topic: %d messages", len(msgs))
	}
	var a AddressReleased
	if err := json.Unmarshal(msgs[0].Value, &a); err != nil {
		t.Fatal(err)
	}
	if string(msgs[0].Key) != reportedAddr || a.Address != reportedAddr || a.ReportID != "MR1" || a.RegistrationID != "R1" {
		t.Errorf("released %s: %+v", msgs[0].Key, a)
	}
}
