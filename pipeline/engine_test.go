package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/rules"
)

// sameKey is a small real detector for engine tests: registrations that
// share a NIK flag each other, in decision order (the later one gets
// "dup", every earlier one gets "reused"), recomputed for the whole group
// on every event, as the detector contract asks.
type sameKey struct {
	groups map[string][]*event.Event // by NIK, sorted by decision order
	seen   map[string]bool           // registration ids
}

func newSameKey() *sameKey {
	return &sameKey{groups: map[string][]*event.Event{}, seen: map[string]bool{}}
}

func (d *sameKey) Name() string { return "test" }

func (d *sameKey) Observe(ev *event.Event) []detectors.Signal {
	if ev.Type != event.Submitted || d.seen[ev.RegistrationID] {
		return nil
	}
	d.seen[ev.RegistrationID] = true
	g := append(d.groups[ev.NIK], ev)
	sort.Slice(g, func(i, j int) bool { return g[i].Before(g[j]) })
	d.groups[ev.NIK] = g
	if len(g) < 2 {
		return nil
	}
	var out []detectors.Signal
	for i, e := range g {
		var earlier, later []string
		for j, o := range g {
			if j < i {
				earlier = append(earlier, o.RegistrationID)
			} else if j > i {
				later = append(later, o.RegistrationID)
			}
		}
		if len(earlier) > 0 {
			out = append(out, detectors.Signal{RegistrationID: e.RegistrationID, Detector: "test", Kind: "dup",
				Evidence: map[string]any{"earlier": earlier}})
		}
		if len(later) > 0 {
			out = append(out, detectors.Signal{RegistrationID: e.RegistrationID, Detector: "test", Kind: "reused",
				Evidence: map[string]any{"later": later}})
		}
	}
	return out
}

func testRules(t testing.TB) *rules.RuleSet {
	rs, err := rules.Parse([]byte("version: t\nbands: {review: 40, deny: 80}\ndefault_weight: 10\nweights: {test.dup: 60, test.reused: 30}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func sub(id, reg, nik string, sec int) *event.Event {
	return &event.Event{Schema: event.SchemaV1, EventID: id, Type: event.Submitted, RegistrationID: reg, NIK: nik,
		FullName: "X", BirthDate: "1990-01-01", Email: "x@example.com",
		OccurredAt: time.Date(2026, 4, 11, 8, 0, sec, 0, time.UTC)}
}

func TestEngineRescoresEarlierRegistration(t *testing.T) {
	e := NewEngine(testRules(t), newSameKey())
	out := e.Process(sub("E1", "R1", "N", 1))
	if len(out.Scores) != 1 || out.Scores[0].ScoreVersion != 1 || out.Scores[0].Score != 0 {
		t.Fatalf("first registration: %+v", out.Scores)
	}
	out = e.Process(sub("E2", "R2", "N", 2))
	got := map[string]rules.Score{}
	for _, s := range out.Scores {
		got[s.RegistrationID] = s
	}
	if s := got["R2"]; s.ScoreVersion != 1 || s.Score != 60 || s.Band != rules.Review || s.EventID != "E2" {
		t.Errorf("later duplicate: %+v", s)
	}
	if s := got["R1"]; s.ScoreVersion != 2 || s.Score != 30 || s.EventID != "E2" || !s.AsOf.Equal(sub("", "", "", 2).OccurredAt) {
		t.Errorf("earlier registration must get a new version caused by E2: %+v", s)
	}
	if len(out.Signals) != 2 {
		t.Errorf("want 2 new signals, got %d", len(out.Signals))
	}
}

func TestEngineReplayIsIdempotent(t *testing.T) {
	e := NewEngine(testRules(t), newSameKey())
	e.Process(sub("E1", "R1", "N", 1))
	e.Process(sub("E2", "R2", "N", 2))
	out := e.Process(sub("E2", "R2", "N", 2))
	if len(out.Scores) != 0 || len(out.Signals) != 0 {
		t.Fatalf("replayed event produced output: %+v", out)
	}
}

// The final score of every registration must not depend on arrival order.
func TestEngineFinalScoresOrderIndependent(t *testing.T) {
	var evs []*event.Event
	for i := 0; i < 60; i++ {
		evs = append(evs, sub(fmt.Sprintf("E%03d", i), fmt.Sprintf("R%03d", i), fmt.Sprintf("N%d", i%7), i))
	}
	final := func(order []*event.Event) string {
		e := NewEngine(testRules(t), newSameKey())
		last := map[string]rules.Score{}
		for _, ev := range order {
			for _, s := range e.Process(ev).Scores {
				last[s.RegistrationID] = s
			}
		}
		type view struct {
			Score   int
			Reasons []rules.Reason
		}
		m := map[string]view{}
		for id, s := range last {
			m[id] = view{s.Score, s.Reasons}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	want := final(evs)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5; i++ {
		shuffled := append([]*event.Event(nil), evs...)
		r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if got := final(shuffled); got != want {
			t.Fatalf("shuffle %d changed the final scores", i)
		}
	}
}

func TestEngineRestoreVersions(t *testing.T) {
	// A crash after R2's scores were stored: the rebuilt engine re-observes
	// the stored events, restores the stored versions, and a replay of E2
	// emits nothing new.
	first := NewEngine(testRules(t), newSameKey())
	first.Process(sub("E1", "R1", "N", 1))
	out := first.Process(sub("E2", "R2", "N", 2))
	var stored []VersionState
	stored = append(stored, VersionState{RegistrationID: "R1", Version: 2, Content: ContentHash(scoreOf(out, "R1"))})
	stored = append(stored, VersionState{RegistrationID: "R2", Version: 1, Content: ContentHash(scoreOf(out, "R2"))})

	rebuilt := NewEngine(testRules(t), newSameKey())
	rebuilt.Process(sub("E1", "R1", "N", 1))
	rebuilt.Process(sub("E2", "R2", "N", 2))
	rebuilt.RestoreVersions(stored)
	if out := rebuilt.Process(sub("E2", "R2", "N", 2)); len(out.Scores) != 0 {
		t.Fatalf("replay after restore emitted %+v", out.Scores)
	}
	// A score the store lacks is emitted again on the next event.
	rebuilt.RestoreVersions(stored[:1])
	out = rebuilt.Process(sub("E2", "R2", "N", 2))
	if len(out.Scores) != 1 || out.Scores[0].RegistrationID != "R2" || out.Scores[0].ScoreVersion != 1 {
		t.Fatalf("missing score not re-emitted: %+v", out.Scores)
	}
}

func scoreOf(out Output, id string) rules.Score {
	for _, s := range out.Scores {
		if s.RegistrationID == id {
			return s
		}
	}
	return rules.Score{}
}

func TestProcessorDeadLettersAndOrder(t *testing.T) {
	p := &Processor{Engine: NewEngine(testRules(t), newSameKey()), Limits: event.DefaultLimits(), MaxDeadPayload: 16}
	enc := func(e *event.Event) []byte { b, _ := json.Marshal(e); return b }
	msgs := []Message{
		{Value: enc(sub("E2", "R2", "N", 2)), Source: "f:1"},
		{Value: []byte(`{"event_id": "broken"`), Source: "f:2"},
		{Value: enc(sub("E1", "R1", "N", 1)), Source: "f:3"},
		{Value: []byte(`{"schema":"waspada.registration/v9","event_id":"E9"}`), Source: "f:4"},
	}
	res, _ := p.Process(context.Background(), msgs)
	if res.Events != 2 || len(res.DeadLetters) != 2 {
		t.Fatalf("events %d, dead letters %d", res.Events, len(res.DeadLetters))
	}
	if d := res.DeadLetters[0]; d.ID != "f:2" || d.Reason != "bad_json" || !d.Truncated || d.PayloadBytes != 21 {
		t.Errorf("dead letter: %+v", d)
	}
	if d := res.DeadLetters[1]; d.ID != "f:4" || d.Reason != "unknown_schema" {
		t.Errorf("dead letter: %+v", d)
	}
	// Within a batch, E1 is processed before E2 although it arrived later:
	// R2 is the duplicate, R1 is never scored as one.
	for _, s := range res.Scores {
		if s.RegistrationID == "R1" && s.Score == 60 {
			t.Errorf("R1 scored as the duplicate: %+v", s)
		}
	}
	if len(res.Rows.DeadLetters) != 2 || len(res.Rows.Events) != 2 {
		t.Errorf("rows: %+v", res.Rows)
	}
}

type panicky struct{}

func (panicky) Name() string { return "panicky" }
func (panicky) Observe(ev *event.Event) []detectors.Signal {
	if ev.RegistrationID == "R-boom" {
		panic("boom")
	}
	return nil
}

func TestProcessorDetectorPanicIsDeadLetter(t *testing.T) {
	p := &Processor{Engine: NewEngine(testRules(t), panicky{}), Limits: event.DefaultLimits(), MaxDeadPayload: 1024}
	b1, _ := json.Marshal(sub("E1", "R-boom", "N", 1))
	b2, _ := json.Marshal(sub("E2", "R2", "N", 2))
	res, _ := p.Process(context.Background(), []Message{{Value: b1, Source: "f:1"}, {Value: b2, Source: "f:2"}})
	if res.Events != 1 || len(res.DeadLetters) != 1 || res.DeadLetters[0].Reason != "detector_panic" {
		t.Fatalf("got %+v", res)
	}
}

func BenchmarkEngineMemory(b *testing.B) {
	// Version memory per registration with no detectors: the engine's own
	// share of the per-registration state.
	for i := 0; i < b.N; i++ {
		e := NewEngine(testRules(b))
		const n = 200000
		before := heapInUse()
		for j := 0; j < n; j++ {
			e.Process(&event.Event{EventID: "E", RegistrationID: fmt.Sprintf("R%08d", j), Type: event.Submitted})
		}
		b.ReportMetric(float64(heapInUse()-before)/n, "B/reg")
		if e.Registrations() != n {
			b.Fatal("lost registrations")
		}
	}
}
