package pipeline

import (
	"encoding/json"
	"hash/fnv"
	"sort"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/rules"
)

// Detector is what the engine needs from a detector; see package detectors
// for the full contract (replace-by-ID signals, idempotent replays,
// order-independent final signals).
type Detector interface {
	Name() string
	Observe(ev *event.Event) []detectors.Signal
}

// Engine is the pure core of the pipeline: events in, changed signals and new
// score versions out. It keeps the signal book (the current signals of every
// registration that has any) and, per registration, the score version and a
// hash of the last emitted score's content, so that a new version is emitted
// only when something an analyst would see has changed.
//
// An Engine is not safe for concurrent use.
type Engine struct {
	detectors []Detector
	rules     *rules.RuleSet
	// book holds signals by Signal.ID, per registration; only registrations
	// with at least one signal are in it.
	book map[string]map[string]detectors.Signal
	// versions is keyed by a 64-bit hash of the registration id to keep
	// state for 10 million registrations small (about 40 bytes each; see
	// BenchmarkEngineMemory). A collision merges two registrations' version
	// counters, which can only make a version number skip, never lose a
	// score; at 10 million ids the chance of any collision is ~3e-6.
	versions map[uint64]versionState
	// last is the latest event in decision order, which Flush attributes
	// its versions to.
	last *event.Event
	// holders are the detectors with event-time windows (HoldWatermark).
	holders []WatermarkHolder
}

type versionState struct {
	content uint64
	version uint32
}

// Output is what one event produced.
type Output struct {
	// Signals are the signals that are new or whose evidence changed.
	Signals []SignalRecord
	// Scores are new score versions, one per registration whose score
	// content changed (or that was seen for the first time).
	Scores []rules.Score
}

// SignalRecord is a signal as written to the signals table and counted.
type SignalRecord struct {
	detectors.Signal
	Weight  int
	EventID string
	AsOf    time.Time
}

// NewEngine wires detectors and rules. Detectors run in the given order.
func NewEngine(rs *rules.RuleSet, dets ...Detector) *Engine {
	return &Engine{detectors: dets, rules: rs,
		book: map[string]map[string]detectors.Signal{}, versions: map[uint64]versionState{}}
}

// Detectors returns the wired detectors (for instrumentation and summaries).
func (e *Engine) Detectors() []Detector { return e.detectors }

// RuleSet is the rule set in force.
func (e *Engine) RuleSet() *rules.RuleSet { return e.rules }

// Process runs one event through every detector and the rules.
func (e *Engine) Process(ev *event.Event) Output {
	var out Output
	subjects := map[string]bool{ev.RegistrationID: true}
	for _, d := range e.detectors {
		for _, s := range d.Observe(ev) {
			subjects[s.RegistrationID] = true
			if e.put(s) {
				out.Signals = append(out.Signals, SignalRecord{Signal: s,
					Weight: e.rules.Weight(s.Detector, s.Kind), EventID: ev.EventID, AsOf: ev.OccurredAt})
			}
		}
	}
	e.rescoreAll(subjects, ev, &out)
	if e.last == nil || e.last.Before(ev) {
		e.last = ev
	}
	return out
}

func (e *Engine) rescoreAll(subjects map[string]bool, ev *event.Event, out *Output) {
	ids := make([]string, 0, len(subjects))
	for id := range subjects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if sc, ok := e.rescore(id, ev); ok {
			out.Scores = append(out.Scores, sc)
		}
	}
}

// put stores a signal and reports whether it is new or changed.
func (e *Engine) put(s detectors.Signal) bool {
	m := e.book[s.RegistrationID]
	if m == nil {
		m = map[string]detectors.Signal{}
		e.book[s.RegistrationID] = m
	}
	id := s.ID()
	if old, ok := m[id]; ok && sameEvidence(old.Evidence, s.Evidence) {
		return false
	}
	m[id] = s
	return true
}

func (e *Engine) rescore(id string, ev *event.Event) (rules.Score, bool) {
	var sigs []detectors.Signal
	for _, s := range e.book[id] {
		sigs = append(sigs, s)
	}
	sc := e.rules.Evaluate(id, sigs)
	content := contentHash(sc)
	key := regKey(id)
	st, seen := e.versions[key]
	if seen && st.content == content {
		return rules.Score{}, false
	}
	st.version++
	st.content = content
	e.versions[key] = st
	sc.ScoreVersion = st.version
	sc.AsOf = ev.OccurredAt
	sc.EventID = ev.EventID
	return sc, true
}

// HoldWatermark caps the event-time clock of every detector with windows
// (see WatermarkHolder).
// It runs before every event, so the holders are found once.
func (e *Engine) HoldWatermark(t time.Time) {
	if e.holders == nil {
		e.holders = []WatermarkHolder{}
		for _, d := range e.detectors {
			if h, ok := unwrap(d).(WatermarkHolder); ok {
				e.holders = append(e.holders, h)
			}
		}
	}
	for _, h := range e.holders {
		h.HoldWatermark(t)
	}
}

// Flusher is a detector that holds judgement until event time moves on
// (windows); Flush judges what is still open, as at the end of a finite
// input.
type Flusher interface {
	Flush() []detectors.Signal
}

// Flush ends a finite input (`waspada score`, evaluations): detectors that
// hold open windows judge them now. The new versions are attributed to the
// last event processed. A running pipeline never flushes: its windows close
// as later events arrive, which keeps restarts and replays deterministic.
func (e *Engine) Flush() Output {
	var out Output
	if e.last == nil {
		return out
	}
	subjects := map[string]bool{}
	for _, d := range e.detectors {
		f, ok := unwrap(d).(Flusher)
		if !ok {
			continue
		}
		for _, s := range f.Flush() {
			subjects[s.RegistrationID] = true
			if e.put(s) {
				out.Signals = append(out.Signals, SignalRecord{Signal: s,
					Weight: e.rules.Weight(s.Detector, s.Kind), EventID: e.last.EventID, AsOf: e.last.OccurredAt})
			}
		}
	}
	e.rescoreAll(subjects, e.last, &out)
	return out
}

// unwrap sees through instrumentation wrappers.
func unwrap(d Detector) Detector {
	for {
		w, ok := d.(interface{ Unwrap() Detector })
		if !ok {
			return d
		}
		d = w.Unwrap()
	}
}

// Signals returns the current signals of a registration, sorted by ID.
func (e *Engine) Signals(id string) []detectors.Signal {
	var out []detectors.Signal
	for _, s := range e.book[id] {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// VersionState is what the engine remembers of a registration's last score:
// its version and the hash of its content (see ContentHash). It is stored
// with every score so that a restarted engine can continue the numbering.
type VersionState struct {
	RegistrationID string
	Version        uint32
	Content        uint64
}

// RestoreVersions replaces the version memory with what the durable store
// says was written. Call it after re-observing the stored events (which
// rebuilds detector state and the signal book), so that scores the store
// lacks are emitted again and scores it has are not duplicated.
func (e *Engine) RestoreVersions(states []VersionState) {
	e.versions = make(map[uint64]versionState, len(states))
	for _, s := range states {
		e.versions[regKey(s.RegistrationID)] = versionState{content: s.Content, version: s.Version}
	}
}

// Registrations is how many registrations the engine has scored.
func (e *Engine) Registrations() int { return len(e.versions) }

// ContentHash is the hash of what an analyst sees in a score: the score,
// band, reasons and rule set (not the version, as_of or event id).
func ContentHash(sc rules.Score) uint64 { return contentHash(sc) }

func contentHash(sc rules.Score) uint64 {
	b, _ := json.Marshal(struct {
		Score   int
		Band    rules.Band
		Reasons []rules.Reason
		RuleSet string
	}{sc.Score, sc.Band, sc.Reasons, sc.RuleSet})
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

func regKey(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

func sameEvidence(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
