package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
)

// lengthOfName "fetches" something per event (the length of the name) in
// Prepare and flags names longer than 3 in Observe, using only what was
// prepared or restored.
type lengthOfName struct {
	fetches atomic.Int32
	fail    error
	mu      sync.Mutex
	got     map[string]int
}

func (d *lengthOfName) Name() string { return "len" }

func (d *lengthOfName) Prepare(_ context.Context, ev *event.Event) (json.RawMessage, error) {
	if d.fail != nil {
		return nil, d.fail
	}
	d.fetches.Add(1)
	n := len(ev.FullName)
	d.mu.Lock()
	d.got[ev.EventID] = n
	d.mu.Unlock()
	return json.Marshal(n)
}

func (d *lengthOfName) Restore(ev *event.Event, raw json.RawMessage) error {
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return err
	}
	d.got[ev.EventID] = n
	return nil
}

func (d *lengthOfName) Observe(ev *event.Event) []detectors.Signal {
	n, ok := d.got[ev.EventID]
	if !ok || n <= 3 {
		return nil
	}
	return []detectors.Signal{{RegistrationID: ev.RegistrationID, Detector: "len", Kind: "long", Evidence: map[string]any{"n": n}}}
}

func TestPrepareStoredAndRestoredWithoutIO(t *testing.T) {
	d := &lengthOfName{got: map[string]int{}}
	p := &Processor{Engine: NewEngine(testRules(t), d), Limits: event.DefaultLimits(), MaxDeadPayload: 64}
	ev := sub("E1", "R1", "N", 1)
	ev.FullName = "SITI AMINAH"
	b, _ := json.Marshal(ev)
	res, err := p.Process(context.Background(), []Message{{Value: b, Source: "f:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows.Events) != 1 || string(res.Rows.Events[0].Prepared) != `{"len":11}` {
		t.Fatalf("prepared not stored with the event: %+v", res.Rows.Events)
	}
	if len(res.Rows.Signals) != 1 {
		t.Fatalf("signals %+v", res.Rows.Signals)
	}

	// A rebuild restores what was stored: same state, no fetch.
	d2 := &lengthOfName{got: map[string]int{}}
	p2 := &Processor{Engine: NewEngine(testRules(t), d2), Limits: event.DefaultLimits()}
	if err := p2.Replay(res.Rows.Events[0].Canonical, res.Rows.Events[0].Prepared); err != nil {
		t.Fatal(err)
	}
	if d2.fetches.Load() != 0 || len(p2.Engine.Signals("R1")) != 1 {
		t.Fatalf("rebuild fetched %d times, signals %v", d2.fetches.Load(), p2.Engine.Signals("R1"))
	}
}

func TestPrepareTransientFailureChangesNothing(t *testing.T) {
	d := &lengthOfName{got: map[string]int{}, fail: errors.New("blob store unavailable")}
	p := &Processor{Engine: NewEngine(testRules(t), d), Limits: event.DefaultLimits()}
	b, _ := json.Marshal(sub("E1", "R1", "N", 1))
	_, err := p.Process(context.Background(), []Message{{Value: b, Source: "f:1"}})
	var te *TransientError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "blob store") {
		t.Fatalf("want a transient error, got %v", err)
	}
	if p.Engine.Registrations() != 0 {
		t.Fatal("a failed prepare must leave the engine untouched, so that the retried batch is new to it")
	}
}
