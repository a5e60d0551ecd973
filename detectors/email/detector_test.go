package email

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline/event"
)

var t0 = time.Date(2026, 4, 11, 8, 0, 0, 0, time.UTC)

type evOpt func(*event.Event)

func at(sec float64) evOpt {
	return func(e *event.Event) { e.OccurredAt = t0.Add(time.Duration(sec * float64(time.Second))) }
}
func dev(d string) evOpt   { return func(e *event.Event) { e.DeviceID = d } }
func ip(a string) evOpt    { return func(e *event.Event) { e.IP = a } }
func phone(p string) evOpt { return func(e *event.Event) { e.Phone = p } }

var evSeq int

func mk(typ event.Type, reg string, opts ...evOpt) *event.Event {
	evSeq++
	e := &event.Event{EventID: fmt.Sprintf("E%04d", evSeq), Type: typ, RegistrationID: reg, OccurredAt: t0.Add(time.Duration(evSeq) * time.Minute)}
	for _, o := range opts {
		o(e)
	}
	return e
}

func submit(reg, nik, email string, opts ...evOpt) *event.Event {
	e := mk(event.Submitted, reg, opts...)
	e.NIK, e.Email, e.FullName, e.BirthDate = nik, email, "X", "1990-01-01"
	return e
}

// final applies signals with the replace-by-ID rule and returns the result.
func final(acc map[string]detectors.Signal, sigs []detectors.Signal) map[string]detectors.Signal {
	for _, s := range sigs {
		acc[s.ID()] = s
	}
	return acc
}

func find(m map[string]detectors.Signal, reg, kind string) (detectors.Signal, bool) {
	s, ok := m[detectors.Signal{RegistrationID: reg, Detector: Name, Kind: kind}.ID()]
	return s, ok
}

type step struct {
	ev  *event.Event
	rep *report.Report
}

func scenario() []step {
	evSeq = 0
	rep := report.Report{ID: "MR1", Channel: report.ChannelEmail, RegistrationID: "R1", Address: "nanang@gmail.com", MessageID: "m1@gmail.com"}
	return []step{
		{ev: submit("R1", "1306040107850001", "Nanang@gmail.com", dev("D1"), ip("114.122.10.7"), phone("+6281111"))},
		{ev: mk(event.VerificationSent, "R1")},
		{ev: submit("R2", "1306040107850002", "n.a.nang+prakerja@googlemail.com", dev("D2"), ip("36.80.1.1"))},
		{ev: submit("R3", "1306040107850001", "nanang@gmail.com", dev("D3"))},      // R1's person retrying
		{ev: submit("R4", "1306040107850004", "n\u0430nang@gmail.com", dev("D4"))}, // Cyrillic а
		{ev: submit("R5", "1306040107850005", "budi@mailinator.com", dev("D5"), ip("10.0.0.5"))},
		{ev: submit("R6", "1306040107850006", "other@example.com", dev("D1"))},                        // shares R1's device
		{ev: submit("R7", "1306040107850007", "seven@example.com", phone("+6281111"), ip("1.2.3.4"))}, // shares R1's phone
		{ev: mk(event.VerificationSent, "R5", at(10000))},
		{ev: mk(event.EmailVerified, "R5", at(10003), dev("D99"), ip("10.0.0.99"))}, // same /24, other device, 3 s
		{ev: mk(event.EmailVerified, "R2", dev("D2"), ip("180.1.2.3"))},             // other network
		{rep: &rep},
	}
}

func run(d *Detector, steps []step) map[string]detectors.Signal {
	acc := map[string]detectors.Signal{}
	for _, s := range steps {
		if s.ev != nil {
			final(acc, d.Observe(s.ev))
		} else {
			final(acc, d.ApplyReport(*s.rep))
		}
	}
	return acc
}

func TestSignals(t *testing.T) {
	got := run(New(DefaultConfig()), scenario())
	type want struct {
		reg, kind string
		ev        map[string]any
	}
	for _, w := range []want{
		{"R1", KindAddressReused, map[string]any{"addresses": []string{"nanang@gmail.com"}, "other_registrations": []string{"R2"}, "other_count": 1, "distinct_niks": 2}},
		{"R2", KindAddressReused, map[string]any{"addresses": []string{"nanang@gmail.com"}, "other_registrations": []string{"R1", "R3"}, "other_count": 2, "distinct_niks": 2}},
		{"R3", KindAddressReused, map[string]any{"addresses": []string{"nanang@gmail.com"}, "other_registrations": []string{"R2"}, "other_count": 1, "distinct_niks": 2}},
		{"R4", KindLookalikeAddress, map[string]any{"addresses": []string{"n\u0430nang@gmail.com"}, "skeletons": []string{"nanang@gmail.com"}, "lookalike_of": []string{"nanang@gmail.com"}, "other_registrations": []string{"R1", "R2", "R3"}}},
		{"R4", KindMixedScript, map[string]any{"addresses": []string{"n\u0430nang@gmail.com"}, "scripts": []string{"Cyrillic", "Latin"}}},
		{"R5", KindDisposableDomain, map[string]any{"domains": []string{"mailinator.com"}, "addresses": []string{"budi@mailinator.com"}}},
		{"R5", KindVerifiedOtherDevice, map[string]any{"registered_devices": []string{"D5"}, "verified_devices": []string{"D99"}, "verified_event_ids": []string{"E0010"}}},
		{"R5", KindVerifiedWithinSeconds, map[string]any{"seconds": 3.0, "threshold_seconds": 10.0, "sent_event_id": "E0009", "verified_event_id": "E0010"}},
		{"R2", KindVerifiedOtherNetwork, map[string]any{"registered_ips": []string{"36.80.1.1"}, "verified_ips": []string{"180.1.2.3"}, "verified_event_ids": []string{"E0011"}, "prefix_v4": 24, "prefix_v6": 48}},
		{"R1", KindReportedMisuse, map[string]any{"addresses": []string{"nanang@gmail.com"}, "report_ids": []string{"MR1"}, "report_count": 1, "channels": []string{"email"}, "reported_registrations": []string{"R1"}}},
		{"R2", KindReportedMisuse, map[string]any{"addresses": []string{"nanang@gmail.com"}, "report_ids": []string{"MR1"}, "report_count": 1, "channels": []string{"email"}, "reported_registrations": []string{"R1"}}},
		{"R6", KindLinkedToReported, map[string]any{"reported_registrations": []string{"R1"}, "reported_count": 1, "via": []string{"device"}}},
		{"R7", KindLinkedToReported, map[string]any{"reported_registrations": []string{"R1"}, "reported_count": 1, "via": []string{"phone"}}},
	} {
		s, ok := find(got, w.reg, w.kind)
		if !ok {
			t.Errorf("%s: no %s", w.reg, w.kind)
			continue
		}
		if !reflect.DeepEqual(s.Evidence, w.ev) {
			t.Errorf("%s %s evidence\n got %#v\nwant %#v", w.reg, w.kind, s.Evidence, w.ev)
		}
	}
	// And nothing else: no false positives on the clean registrations.
	for _, absent := range []struct{ reg, kind string }{
		{"R1", KindLookalikeAddress}, {"R1", KindMixedScript}, {"R6", KindAddressReused}, {"R6", KindReportedMisuse},
		{"R4", KindReportedMisuse}, {"R1", KindVerifiedWithinSeconds}, {"R2", KindVerifiedOtherDevice}, {"R5", KindVerifiedOtherNetwork},
		{"R3", KindLinkedToReported}, {"R4", KindLinkedToReported},
	} {
		if s, ok := find(got, absent.reg, absent.kind); ok {
			t.Errorf("unexpected %s %s: %v", absent.reg, absent.kind, s.Evidence)
		}
	}
	if len(got) != 14 {
		var ids []string
		for _, s := range got {
			ids = append(ids, s.RegistrationID+"."+s.Kind)
		}
		slices.Sort(ids)
		t.Errorf("%d signals: %v", len(got), ids)
	}
}

// Same NIK, same address: a person retrying is not reuse.
func TestSameNIKIsNotReuse(t *testing.T) {
	evSeq = 0
	d := New(DefaultConfig())
	acc := run(d, []step{{ev: submit("R1", "1", "a@example.com")}, {ev: submit("R2", "1", "A+x@Example.com")}})
	if len(acc) != 0 {
		t.Fatalf("signals %v", acc)
	}
}

func encode(t *testing.T, m map[string]detectors.Signal) string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []detectors.Signal
	for _, id := range ids {
		out = append(out, m[id])
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Final signals depend only on the set of events and reports: shuffled
// streams with duplicates (replays) give byte-identical final signals.
func TestOrderIndependentAndIdempotent(t *testing.T) {
	steps := scenario()
	// Extra churn: a resubmission that changes R6's address into the reported one, then back later in order.
	steps = append(steps,
		step{ev: submit("R6", "1306040107850006", "nanang@gmail.com", dev("D6"))},
		step{ev: mk(event.EmailVerified, "R1", dev("D1"), ip("114.122.10.200"))},
		step{rep: &report.Report{ID: "MR2", Channel: report.ChannelLink, RegistrationID: "R9", Address: "budi@mailinator.com"}},
		step{ev: submit("R9", "1306040107850009", "budi@mailinator.com", ip("10.0.0.5"))},
	)
	want := encode(t, run(New(DefaultConfig()), steps))
	rng := rand.New(rand.NewSource(42))
	for i := 0; i < 50; i++ {
		shuffled := slices.Clone(steps)
		// Replays: duplicate some steps.
		for j := 0; j < 5; j++ {
			shuffled = append(shuffled, steps[rng.Intn(len(steps))])
		}
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if got := encode(t, run(New(DefaultConfig()), shuffled)); got != want {
			t.Fatalf("shuffle %d differs:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestObserveTwiceReturnsSameSignals(t *testing.T) {
	steps := scenario()
	d := New(DefaultConfig())
	run(d, steps)
	ev := steps[2].ev
	a, b := d.Observe(ev), d.Observe(ev)
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("replay differs:\n%v\n%v", a, b)
	}
	r := *steps[len(steps)-1].rep
	if x, y := d.ApplyReport(r), d.ApplyReport(r); !reflect.DeepEqual(x, y) {
		t.Fatal("report replay differs")
	}
}

func TestQuickClickFallsBackToSubmission(t *testing.T) {
	evSeq = 0
	d := New(DefaultConfig())
	acc := run(d, []step{
		{ev: submit("R1", "1", "a@example.com", at(0))},
		{ev: mk(event.EmailVerified, "R1", at(30))}, // slow: nothing
	})
	if _, ok := find(acc, "R1", KindVerifiedWithinSeconds); ok {
		t.Fatal("30 s is not quick")
	}
	acc = run(New(DefaultConfig()), []step{
		{ev: submit("R1", "1", "a@example.com", at(0))},
		{ev: mk(event.EmailVerified, "R1", at(2))},
	})
	if s, ok := find(acc, "R1", KindVerifiedWithinSeconds); !ok || s.Evidence["seconds"] != 2.0 {
		t.Fatalf("got %v", s)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	err := Config{NetworkPrefixV4: 40}.Validate()
	for _, w := range []string{"quick_click", "network_prefix_v4", "network_prefix_v6", "max_evidence_ids"} {
		if err == nil || !contains(err.Error(), w) {
			t.Errorf("missing %s in %v", w, err)
		}
	}
	if New(Config{}).Name() != "email" {
		t.Fatal("name")
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

// BenchmarkObserve: submissions of distinct registrations with some shared
// addresses, devices and phones.
//
//	go test -run '^$' -bench BenchmarkObserve -benchmem ./detectors/email/
func BenchmarkObserve(b *testing.B) {
	evs := make([]*event.Event, 0, 100000)
	for i := range cap(evs) {
		e := &event.Event{EventID: fmt.Sprintf("E%08d", i), Type: event.Submitted, RegistrationID: fmt.Sprintf("R%08d", i),
			OccurredAt: t0.Add(time.Duration(i) * time.Millisecond), NIK: fmt.Sprintf("%016d", i),
			Email: fmt.Sprintf("user%d@example.com", i%50000), DeviceID: fmt.Sprintf("D%d", i%30000), Phone: fmt.Sprintf("+62%d", i)}
		evs = append(evs, e)
	}
	d := New(DefaultConfig())
	i := 0
	for b.Loop() {
		if i == len(evs) {
			d, i = New(DefaultConfig()), 0
		}
		d.Observe(evs[i])
		i++
	}
}
