package photo

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/detectors/photo/fetch"
	"github.com/waspada/waspada/detectors/photo/imghash"
	"github.com/waspada/waspada/detectors/photo/internal/synth"
	"github.com/waspada/waspada/pipeline/event"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeFetcher serves documents from memory; a small real implementation.
type fakeFetcher struct {
	mu    sync.Mutex
	docs  map[string][]byte
	errs  map[string]error
	calls int
}

func (f *fakeFetcher) Fetch(_ context.Context, uri string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err, ok := f.errs[uri]; ok {
		return nil, err
	}
	if b, ok := f.docs[uri]; ok {
		return b, nil
	}
	return nil, &fetch.Error{Class: fetch.Permanent, Reason: "not_found", URI: uri}
}

var (
	imgOnce sync.Once
	imgs    map[string][]byte
)

// images: distinct photos and transformed copies, made once.
func images() map[string][]byte {
	imgOnce.Do(func() {
		imgs = map[string][]byte{}
		for i := 1; i <= 6; i++ {
			p := synth.Photo(640, 480, uint64(i))
			imgs[fmt.Sprint("p", i)] = synth.JPEG(p, 90)
			imgs[fmt.Sprint("p", i, "-q40")] = synth.JPEG(p, 40)
			imgs[fmt.Sprint("p", i, "-half")] = synth.JPEG(synth.Resize(p, 320, 240), 85)
			imgs[fmt.Sprint("p", i, "-png")] = synth.PNG(p)
		}
		imgs["flat1"] = synth.JPEG(synth.Uniform(640, 480, 128), 90)
		imgs["flat2"] = synth.JPEG(synth.Uniform(640, 480, 130), 70)
		imgs["garbage"] = []byte("\xff\xd8\xff\xdbnot really a jpeg")
	})
	return imgs
}

func newFake() *fakeFetcher {
	f := &fakeFetcher{docs: map[string][]byte{}, errs: map[string]error{}}
	for k, v := range images() {
		f.docs["mem://"+k] = v
	}
	return f
}

var t0 = time.Date(2026, 4, 11, 8, 0, 0, 0, time.UTC)

func ev(id string, sec int, reg string, docs ...string) *event.Event {
	e := &event.Event{EventID: id, Type: event.DocumentUploaded, OccurredAt: t0.Add(time.Duration(sec) * time.Second), RegistrationID: reg}
	for _, d := range docs {
		kind, name, _ := strings.Cut(d, "=")
		e.Documents = append(e.Documents, event.Document{Kind: kind, URI: "mem://" + name})
	}
	return e
}

func testConfig() Config {
	c := DefaultConfig()
	c.ROI = nil                      // synthetic photos have no card layout
	c.Hash.Timeout = 5 * time.Minute // a loaded CI machine must not turn into "undecodable"
	return c
}

// final replays events in the given order and returns the last signal per ID.
func final(t *testing.T, d *Detector, evs []*event.Event) map[string]detectors.Signal {
	t.Helper()
	out := map[string]detectors.Signal{}
	for _, e := range evs {
		for _, s := range d.Observe(e) {
			out[s.ID()] = s
		}
	}
	return out
}

func find(m map[string]detectors.Signal, reg, kind, key string) (detectors.Signal, bool) {
	s, ok := m[detectors.Signal{RegistrationID: reg, Detector: Name, Kind: kind, Key: key}.ID()]
	return s, ok
}

func TestSignals(t *testing.T) {
	type want struct{ reg, kind, key string }
	for _, tc := range []struct {
		name string
		evs  []*event.Event
		want []want
	}{
		{"distinct photos: nothing", []*event.Event{
			ev("E1", 1, "R1", "ktp=p1", "selfie=p2"), ev("E2", 2, "R2", "ktp=p3", "selfie=p4")}, nil},
		{"exact duplicate KTP", []*event.Event{
			ev("E1", 1, "R1", "ktp=p1"), ev("E2", 2, "R2", "ktp=p1")},
			[]want{{"R1", KindExact, "R2"}, {"R2", KindExact, "R1"}}},
		{"near duplicate selfie (q40 re-encode)", []*event.Event{
			ev("E1", 1, "R1", "selfie=p2"), ev("E2", 2, "R2", "selfie=p2-q40")},
			[]want{{"R1", KindNear, "R2"}, {"R2", KindNear, "R1"}}},
		{"near duplicate selfie (half size)", []*event.Event{
			ev("E1", 1, "R1", "selfie=p2"), ev("E2", 2, "R2", "selfie=p2-half")},
			[]want{{"R1", KindNear, "R2"}, {"R2", KindNear, "R1"}}},
		{"near duplicate (PNG vs JPEG)", []*event.Event{
			ev("E1", 1, "R1", "selfie=p3-png"), ev("E2", 2, "R2", "selfie=p3")},
			[]want{{"R1", KindNear, "R2"}, {"R2", KindNear, "R1"}}},
		{"KTP re-used as selfie by another registration", []*event.Event{
			ev("E1", 1, "R1", "ktp=p1"), ev("E2", 2, "R2", "selfie=p1")},
			[]want{{"R1", KindCrossKind, "R2"}, {"R2", KindCrossKind, "R1"}}},
		{"KTP re-used as selfie in one registration", []*event.Event{
			ev("E1", 1, "R1", "ktp=p1", "selfie=p1-q40")},
			[]want{{"R1", KindCrossKind, "R1"}}},
		{"own re-upload is not a duplicate", []*event.Event{
			ev("E1", 1, "R1", "ktp=p1"), ev("E2", 2, "R1", "ktp=p1-q40")}, nil},
		{"uniform images are not near-matched", []*event.Event{
			ev("E1", 1, "R1", "selfie=flat1"), ev("E2", 2, "R2", "selfie=flat2")}, nil},
		{"unavailable", []*event.Event{
			ev("E1", 1, "R1", "ktp=missing")},
			[]want{{"R1", KindUnavailable, "ktp"}}},
		{"undecodable", []*event.Event{
			ev("E1", 1, "R1", "selfie=garbage")},
			[]want{{"R1", KindUndecodable, "selfie"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(testConfig(), newFake())
			got := final(t, d, tc.evs)
			if len(got) != len(tc.want) {
				for _, s := range got {
					b, _ := json.Marshal(s)
					t.Logf("got %s", b)
				}
				t.Fatalf("%d signals, want %d", len(got), len(tc.want))
			}
			for _, w := range tc.want {
				if _, ok := find(got, w.reg, w.kind, w.key); !ok {
					t.Errorf("missing %v", w)
				}
			}
		})
	}
}

func TestEvidence(t *testing.T) {
	d := New(testConfig(), newFake())
	got := final(t, d, []*event.Event{
		ev("E2", 2, "R2", "selfie=p2-q40"), // arrives first, occurs later
		ev("E1", 1, "R1", "selfie=p2"),
		ev("E3", 3, "R1", "ktp=nothing-here"),
		ev("E4", 4, "R1", "ktp=p5"),
		ev("E5", 5, "R3", "selfie=garbage"),
	})
	s, _ := find(got, "R1", KindNear, "R2")
	e := s.Evidence
	if e["other_registration"] != "R2" || e["hash"] != "phash" || e["other_is_earlier"] != false {
		t.Errorf("R1 evidence %v", e)
	}
	if dist := e["distance"].(int); dist > 10 {
		t.Errorf("distance %d", dist)
	}
	if e["document"].(map[string]any)["event_id"] != "E1" || e["other_document"].(map[string]any)["uri"] != "mem://p2-q40" {
		t.Errorf("documents %v", e)
	}
	s2, _ := find(got, "R2", KindNear, "R1")
	if s2.Evidence["other_is_earlier"] != true {
		t.Errorf("R2 evidence %v", s2.Evidence)
	}
	u, _ := find(got, "R1", KindUnavailable, "ktp")
	if u.Evidence["has_usable_document"] != true || u.Evidence["last_reason"] != "not_found" || u.Evidence["failures"] != 1 {
		t.Errorf("unavailable evidence %v", u.Evidence)
	}
	un, _ := find(got, "R3", KindUndecodable, "selfie")
	if un.Evidence["last_reason"] != string(imghash.ReasonCorrupt) && un.Evidence["last_reason"] != string(imghash.ReasonTruncated) {
		t.Errorf("undecodable evidence %v", un.Evidence)
	}
	oc := d.Outcomes()
	if oc["hashed"] != 3 || oc["unavailable.not_found"] != 1 || oc["undecodable."+un.Evidence["last_reason"].(string)] != 1 {
		t.Errorf("outcomes %v", oc)
	}
}

// The final signals depend on the set of events, not their arrival order,
// and replays change nothing.
func TestOrderIndependentAndIdempotent(t *testing.T) {
	evs := []*event.Event{
		ev("E1", 1, "R1", "ktp=p1", "selfie=p2"),
		ev("E2", 2, "R2", "ktp=p1-q40", "selfie=p3"),
		ev("E3", 3, "R3", "ktp=p4", "selfie=p1-half"),
		ev("E4", 4, "R4", "ktp=p1", "selfie=p2-half"),
		ev("E5", 5, "R2", "selfie=p3-png"),
		ev("E6", 6, "R5", "ktp=missing", "selfie=garbage"),
		ev("E7", 7, "R5", "ktp=p6"),
		ev("E8", 8, "R6", "selfie=p6-q40"),
	}
	enc := func(m map[string]detectors.Signal) string {
		b, _ := json.Marshal(m) // map keys are sorted
		return string(b)
	}
	ref := enc(final(t, New(testConfig(), newFake()), evs))
	if strings.Count(ref, `"detector"`) < 10 {
		t.Fatalf("too few signals to be a meaningful test: %s", ref)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10; i++ {
		perm := make([]*event.Event, len(evs))
		for j, k := range r.Perm(len(evs)) {
			perm[j] = evs[k]
		}
		// replay a few events twice
		perm = append(perm, perm[r.IntN(len(perm))], perm[0])
		d := New(testConfig(), newFake())
		if got := enc(final(t, d, perm)); got != ref {
			t.Fatalf("order %d differs:\n got %s\nwant %s", i, got, ref)
		}
		n := d.Len()
		again := d.Observe(perm[3])
		if d.Len() != n {
			t.Error("replay changed the state")
		}
		first := New(testConfig(), newFake())
		_ = first
		for _, s := range again {
			if s.RegistrationID != perm[3].RegistrationID && s.Key != perm[3].RegistrationID {
				t.Errorf("replay returned an unrelated signal %+v", s)
			}
		}
	}
}

func TestPrecomputedAndPrepare(t *testing.T) {
	f := newFake()
	d := New(testConfig(), f)
	h, err := imghash.Hash(imghash.DefaultConfig(), images()["p1"])
	if err != nil {
		t.Fatal(err)
	}
	pre := ev("E1", 1, "R1")
	pre.Documents = []event.Document{{Kind: "ktp", URI: "mem://elsewhere", PHash: "p:" + phashString(h.PHash), SHA256: h.SHA256Hex()}}
	d.Observe(pre)
	if f.calls != 0 {
		t.Fatalf("fetched %d times for a precomputed document", f.calls)
	}
	e2 := ev("E2", 2, "R2", "ktp=p1")
	if _, err := d.Prepare(context.Background(), e2); err != nil {
		t.Fatal(err)
	}
	calls := f.calls
	sig := d.Observe(e2)
	if f.calls != calls {
		t.Error("Observe fetched again after Prepare")
	}
	if again := d.Observe(e2); f.calls != calls || len(again) != len(sig) {
		t.Errorf("replay fetched (%d calls) or changed the signals (%d, was %d)", f.calls-calls, len(again), len(sig))
	}
	if len(sig) != 2 || sig[0].Kind != KindExact {
		t.Errorf("signals %+v", sig)
	}
	// A transient failure is returned by Prepare for the pipeline to retry.
	f.errs["mem://flaky"] = &fetch.Error{Class: fetch.Transient, Reason: "http_status", URI: "mem://flaky"}
	if _, err := d.Prepare(context.Background(), ev("E3", 3, "R3", "selfie=flaky")); !IsTransient(err) {
		t.Errorf("Prepare: %v, want transient", err)
	}
	// No fetcher and no hashes: unavailable, not a crash.
	d2 := New(testConfig())
	s := d2.Observe(ev("E1", 1, "R1", "ktp=p1"))
	if len(s) != 1 || s[0].Kind != KindUnavailable || s[0].Evidence["last_reason"] != "no_fetcher" {
		t.Errorf("no fetcher: %+v", s)
	}
}

func TestAllowList(t *testing.T) {
	h, _ := imghash.Hash(imghash.DefaultConfig(), images()["p2"])
	cfg := testConfig()
	cfg.AllowList = []string{phashString(h.PHash)}
	d := New(cfg, newFake())
	got := final(t, d, []*event.Event{ev("E1", 1, "R1", "selfie=p2"), ev("E2", 2, "R2", "selfie=p2-q40")})
	if len(got) != 0 {
		t.Errorf("allow-listed hash matched: %v", got)
	}
	if d.Outcomes()["allow_listed"] == 0 {
		t.Error("allow_listed not counted")
	}
}

func TestValidate(t *testing.T) {
	c := DefaultConfig()
	c.Thresholds = map[string]Threshold{"ktp": {PHash: 40}}
	c.AllowList = []string{"xyz"}
	c.ObserveTimeout = 0
	c.ROI = map[string]imghash.Rect{"ktp": {X0: 1, X1: 0.5}}
	err := c.Validate()
	for _, want := range []string{`"*"`, "threshold ktp", "allow_list", "observe_timeout", "roi ktp"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

// What Prepare returns, handed to another detector through Restore (a
// rebuild after a restart, no fetcher), gives the same signals.
func TestPrepareRestoreRoundTrip(t *testing.T) {
	cfg := DefaultConfig() // with the KTP ROI: shifted hashes must survive the trip
	cfg.Hash.Timeout = 5 * time.Minute
	evs := []*event.Event{
		ev("E1", 1, "R1", "ktp=p1", "selfie=p2"),
		ev("E2", 2, "R2", "ktp=p1-q40", "selfie=missing"),
		ev("E3", 3, "R3", "selfie=garbage", "ktp=p2-half"),
	}
	evs[2].Documents = append(evs[2].Documents, event.Document{Kind: "selfie", URI: "mem://x", PHash: "0123456789abcdef"})
	live := New(cfg, newFake())
	rebuilt := New(cfg) // no fetcher
	var a, b []detectors.Signal
	for _, e := range evs {
		raw, err := live.Prepare(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		a = append(a, live.Observe(e)...)
		if err := rebuilt.Restore(e, raw); err != nil {
			t.Fatalf("Restore: %v (%s)", err, raw)
		}
		b = append(b, rebuilt.Observe(e)...)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if len(a) < 4 || string(ja) != string(jb) {
		t.Fatalf("live %s\nrebuilt %s", ja, jb)
	}
	if err := rebuilt.Restore(evs[0], json.RawMessage(fmt.Sprintf(`{"v":%d,"docs":[]}`, preparedVersion))); err == nil {
		t.Error("Restore accepted a document count mismatch")
	}
	// Results of an older hashing version are not restored: a detector
	// with a fetcher hashes the document again when it observes the event.
	f := newFake()
	upgraded := New(cfg, f)
	raw, _ := live.Prepare(context.Background(), evs[0])
	old := strings.Replace(string(raw), fmt.Sprintf(`"v":%d,`, preparedVersion), ``, 1)
	if err := upgraded.Restore(evs[0], json.RawMessage(old)); err != nil {
		t.Fatalf("Restore of an old version: %v", err)
	}
	calls := f.calls
	upgraded.Observe(evs[0])
	if f.calls == calls || upgraded.Outcomes()["restored_stale"] != 1 {
		t.Errorf("old-version results were used: %d fetches, outcomes %v", f.calls-calls, upgraded.Outcomes())
	}
}

// Two cards of one template whose portraits differ only in colour are
// told apart by the portrait's colour layout; the same card re-encoded
// still matches. Without the colour check (the control) the grey hashes
// alone call the different card a duplicate.
func TestKTPPortraitColour(t *testing.T) {
	red := synth.Card(color.RGBA{200, 30, 30, 255}, color.RGBA{30, 30, 30, 255})
	blue := synth.Card(color.RGBA{30, 60, 200, 255}, color.RGBA{30, 30, 30, 255})
	f := newFake()
	f.docs["mem://red"] = synth.JPEG(red, 90)
	f.docs["mem://red-q40"] = synth.JPEG(red, 40)
	f.docs["mem://blue"] = synth.JPEG(blue, 90)
	evs := []*event.Event{ev("E1", 1, "R1", "ktp=red"), ev("E2", 2, "R2", "ktp=blue"), ev("E3", 3, "R3", "ktp=red-q40")}
	for _, colourCheck := range []bool{true, false} {
		cfg := testConfig()
		cfg.ROI = map[string]imghash.Rect{"ktp": {X0: 0.6, Y0: 0.2, X1: 0.95, Y1: 0.8}}
		if !colourCheck {
			th := cfg.Thresholds["ktp"]
			th.ROIColour = 0
			cfg.Thresholds["ktp"] = th
		}
		got := final(t, New(cfg, f), evs)
		same, sameCard := find(got, "R3", KindNear, "R1")
		_, otherCard := find(got, "R2", KindNear, "R1")
		if !sameCard {
			t.Errorf("colour check %v: the re-encoded card is not a near duplicate", colourCheck)
		} else if c, _ := same.Evidence["roi_colour_similarity"].(float64); c < 0.95 {
			t.Errorf("evidence roi_colour_similarity %v, want >= 0.95: %v", same.Evidence["roi_colour_similarity"], same.Evidence)
		}
		if otherCard == colourCheck {
			t.Errorf("colour check %v: the card with a blue-background portrait matched: %v", colourCheck, otherCard)
		}
	}
}

// The detector searches ID cards by their portrait hash rather than the
// whole-card hash (which every card of a template shares, nearly). That
// must not lose a match: on a set of same-template cards, some of them
// re-used after transformations, the pairs the detector reports are
// exactly the pairs Config.Match accepts, compared every one with every
// one. A selfie that is a copy of a card is still found (cross-kind).
func TestPortraitKeyedSearchFindsEveryMatch(t *testing.T) {
	cfg := testConfig()
	cfg.ROI = map[string]imghash.Rect{"ktp": {X0: 0.6, Y0: 0.2, X1: 0.95, Y1: 0.8}}
	f := newFake()
	type docRef struct{ reg, kind, uri string }
	var refs []docRef
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10; i++ {
		bg := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		cloth := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		if i%3 == 0 { // a few pairs share the background colour
			bg = color.RGBA{200, 30, 30, 255}
		}
		card := synth.Card(bg, cloth)
		variants := map[string][]byte{"orig": synth.JPEG(card, 90)}
		if i < 4 {
			variants["q40"] = synth.JPEG(card, 40)
			variants["half"] = synth.JPEG(synth.Resize(card, 400, 250), 85)
			variants["dark"] = synth.PNG(synth.Brightness(card, 0.8))
		}
		for _, v := range slices.Sorted(maps.Keys(variants)) {
			uri := fmt.Sprintf("card%d-%s", i, v)
			f.docs["mem://"+uri] = variants[v]
			refs = append(refs, docRef{fmt.Sprintf("R%02d", len(refs)), "ktp", uri})
		}
	}
	f.docs["mem://selfie-copy"] = f.docs["mem://card1-q40"]
	refs = append(refs, docRef{fmt.Sprintf("R%02d", len(refs)), "selfie", "selfie-copy"})

	hashes := make([]imghash.Hashes, len(refs))
	var evs []*event.Event
	for i, r := range refs {
		h, err := imghash.Hash(cfg.HashConfig(r.kind), f.docs["mem://"+r.uri])
		if err != nil {
			t.Fatal(err)
		}
		hashes[i] = h
		evs = append(evs, ev(fmt.Sprint("E", i), i, r.reg, r.kind+"="+r.uri))
	}
	want := map[string]bool{}
	for i := range refs {
		for j := range refs {
			if i == j {
				continue
			}
			if ok, _ := cfg.Match(refs[i].kind, hashes[i], refs[j].kind, hashes[j]); ok {
				kind := KindNear
				switch {
				case refs[i].kind != refs[j].kind:
					kind = KindCrossKind
				case hashes[i].SHA256 == hashes[j].SHA256:
					kind = KindExact
				}
				want[refs[i].reg+" "+kind+" "+refs[j].reg] = true
			}
		}
	}
	d := New(cfg, f)
	gotSignals := final(t, d, evs)
	got := map[string]bool{}
	for _, s := range gotSignals {
		got[s.RegistrationID+" "+s.Kind+" "+s.Key] = true
	}
	if len(want) < 12 || !maps.Equal(got, want) {
		t.Errorf("detector pairs differ from every-pair Match:\n got  %v\n want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if d.portraits.Len() != len(refs)-1 || d.plain.Len() != 1 {
		t.Errorf("index sizes: portraits %d, plain %d, cards %d", d.portraits.Len(), d.plain.Len(), d.cards.Len())
	}
}
