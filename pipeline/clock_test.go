package pipeline

import (
	"context"
	"hash/fnv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/detectors/burst"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
	"github.com/waspada/waspada/rules"
)

// holdRecorder records the holds it is given, per event.
type holdRecorder struct{ holds map[string]time.Time }

func (h *holdRecorder) Name() string              { return "hold" }
func (h *holdRecorder) HoldWatermark(t time.Time) { h.holds["next"] = t }
func (h *holdRecorder) Observe(ev *event.Event) []detectors.Signal {
	h.holds[ev.EventID] = h.holds["next"]
	return nil
}

func TestHoldIsLowWaterMarkOfActivePartitions(t *testing.T) {
	rec := &holdRecorder{holds: map[string]time.Time{}}
	wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &Processor{Engine: NewEngine(testRules(t), rec), Limits: event.DefaultLimits(), IdleAfter: 30 * time.Second,
		Now: func() time.Time { return wall }}
	msg := func(id string, part, sec int) Message {
		b, _ := sim.Encode(sub(id, "R"+id, "N"+id, sec))
		return Message{Value: b, Source: KafkaSource("in", part, int64(sec))}
	}
	at := func(sec int) time.Time { return sub("x", "x", "x", sec).OccurredAt }
	// Partition 0 is far ahead (seconds 100, 101), partition 1 behind (10, 11).
	p.Process(context.Background(), []Message{msg("A", 0, 100), msg("B", 1, 10), msg("C", 0, 101), msg("D", 1, 11)})
	// In decision order: B (p1 10), D (p1 11), A (p0 100), C (p0 101). The
	// hold is the smallest per-partition maximum seen so far.
	for id, want := range map[string]int{"B": 10, "D": 11, "A": 11, "C": 11} {
		if got := rec.holds[id]; !got.Equal(at(want)) {
			t.Errorf("%s: hold %v, want second %d", id, got, want)
		}
	}
	// Partition 1 goes quiet: after IdleAfter it no longer holds back.
	wall = wall.Add(31 * time.Second)
	p.Process(context.Background(), []Message{msg("E", 0, 102)})
	if got := rec.holds["E"]; !got.Equal(at(102)) {
		t.Errorf("after partition 1 went idle: hold %v, want second 102", got)
	}
	// Files are one stream: the hold is simply the largest seen.
	if s := streamOf("events.jsonl:12"); s != "events.jsonl" {
		t.Errorf("streamOf file = %q", s)
	}
	if s := streamOf("my.topic/3/12345"); s != "my.topic/3" {
		t.Errorf("streamOf kafka = %q", s)
	}
}

// A consumer catching up on a backlog reads its partitions at different
// paces. The burst detector's final signals must be those of in-order
// processing however far one partition runs ahead of the others, which
// only holds if windows wait for the slowest partition.
func TestBurstSignalsIndependentOfPartitionSkew(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.Events = 30000
	cfg.MeanRate = 5
	cfg.Bots.Slash24, cfg.Bots.RotatingIP = 0.03, 0.03
	var msgs [3][]Message
	var all []Message
	if err := sim.Generate(cfg, func(ev *event.Event, _ sim.Label) error {
		b, err := sim.Encode(ev)
		h := fnv.New32a()
		h.Write([]byte(ev.RegistrationID))
		part := int(h.Sum32() % 3)
		m := Message{Value: b, Source: KafkaSource("in", part, int64(len(msgs[part])))}
		msgs[part] = append(msgs[part], m)
		all = append(all, m)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	final := func(batches [][]Message) (map[string]string, burst.Stats) {
		det := burst.New(burst.DefaultConfig())
		p := &Processor{Engine: NewEngine(rules.Default(), det), Limits: event.DefaultLimits()}
		for _, b := range batches {
			if _, err := p.Process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
		}
		p.Flush()
		out := map[string]string{}
		for _, m := range all {
			ev, _ := event.DefaultLimits().Decode(m.Value)
			var ids []string
			for _, s := range p.Engine.Signals(ev.RegistrationID) {
				ids = append(ids, s.ID())
			}
			slices.Sort(ids)
			out[ev.RegistrationID] = strings.Join(ids, ",")
		}
		return out, det.Stats()
	}
	// In order: the partitions interleaved as produced, batches of 500.
	var inOrder [][]Message
	for i := 0; i < len(all); i += 500 {
		inOrder = append(inOrder, all[i:min(i+500, len(all))])
	}
	// Skewed: partition 0 delivers three batches for every one of the
	// others, so it runs ahead by most of the wave.
	var skewed [][]Message
	pos := [3]int{}
	for pos[0] < len(msgs[0]) || pos[1] < len(msgs[1]) || pos[2] < len(msgs[2]) {
		for part, n := range [3]int{1500, 500, 500} {
			hi := min(pos[part]+n, len(msgs[part]))
			if hi > pos[part] {
				skewed = append(skewed, msgs[part][pos[part]:hi])
				pos[part] = hi
			}
		}
	}
	want, ws := final(inOrder)
	got, gs := final(skewed)
	if ws.Bursts == 0 {
		t.Fatalf("the wave has no bursts to compare: %+v", ws)
	}
	if gs.Late != 0 {
		t.Errorf("skewed delivery: %d submissions counted late", gs.Late)
	}
	diff := 0
	for reg, w := range want {
		if got[reg] != w {
			if diff < 3 {
				t.Errorf("%s: in order %q, skewed %q", reg, w, got[reg])
			}
			diff++
		}
	}
	if diff > 0 {
		t.Errorf("%d of %d registrations differ (bursts in order %d, skewed %d)", diff, len(want), ws.Bursts, gs.Bursts)
	}
}
