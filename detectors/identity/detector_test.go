package identity

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
)

var (
	ani  = person{nik: "3174054508920003", name: "ANI LESTARI", birth: "1992-08-05", gender: "F", email: "ani@example.co.id", phone: "+6281200000001", region: "3174"}
	budi = person{nik: "1306040107850001", name: "BUDI SANTOSO", birth: "1985-07-01", gender: "M", email: "budi@example.co.id", phone: "+6281200000002", region: "1306"}
)

func sub(ev, reg string, sec int, p person) *event.Event {
	return submitted(ev, reg, time.Duration(sec)*time.Second, p)
}

// pick returns the signal of a kind about a registration, or nil.
func pick(sigs []detectors.Signal, reg, kind string) *detectors.Signal {
	for i := range sigs {
		if sigs[i].RegistrationID == reg && sigs[i].Kind == kind {
			return &sigs[i]
		}
	}
	return nil
}

func ids(sigs []detectors.Signal) []string {
	var out []string
	for _, s := range sigs {
		out = append(out, s.RegistrationID+" "+s.Kind)
	}
	return out
}

func TestDuplicateNIK(t *testing.T) {
	d := New(DefaultConfig())
	if got := d.Observe(sub("E1", "R1", 10, ani)); len(got) != 0 {
		t.Fatalf("first registration: %v", ids(got))
	}
	joki := ani
	joki.email, joki.phone = "joki@example.com", "+6289999999999"
	got := d.Observe(sub("E2", "R2", 20, joki))
	if want := []string{"R1 nik_reused_later", "R2 duplicate_nik"}; !slices.Equal(ids(got), want) {
		t.Fatalf("got %v, want %v", ids(got), want)
	}
	if s := mustJSON(got[1].Evidence); s != `{"differs":{"R1":["email","phone"]},"earlier":["R1"],"more_earlier":false,"nik":"3174054508920003"}` {
		t.Errorf("duplicate_nik evidence %s", s)
	}
	if s := mustJSON(got[0].Evidence); s != `{"later":["R2"],"more_later":false,"nik":"3174054508920003"}` {
		t.Errorf("nik_reused_later evidence %s", s)
	}

	// R0 used the NIK before both but arrives last: it is the first
	// claimant, and both others are re-scored.
	other := ani
	other.name = "ANI  lestari" // same after normalisation
	got = d.Observe(sub("E0", "R0", 5, other))
	if want := []string{"R0 nik_reused_later", "R1 duplicate_nik", "R2 duplicate_nik"}; !slices.Equal(ids(got), want) {
		t.Fatalf("late arrival: got %v, want %v", ids(got), want)
	}
	if s := mustJSON(pick(got, "R2", KindDuplicateNIK).Evidence); s != `{"differs":{"R0":["email","phone"],"R1":["email","phone"]},"earlier":["R0","R1"],"more_earlier":false,"nik":"3174054508920003"}` {
		t.Errorf("R2 evidence after late arrival %s", s)
	}
	if s := mustJSON(pick(got, "R0", KindNIKReusedLater).Evidence); s != `{"later":["R1","R2"],"more_later":false,"nik":"3174054508920003"}` {
		t.Errorf("R0 evidence %s", s)
	}
	if d.Len() != 3 {
		t.Errorf("Len = %d", d.Len())
	}
}

func TestTiesBrokenByEventID(t *testing.T) {
	// Same occurred_at: the smaller event_id is earlier, whatever arrives first.
	for _, order := range [][]string{{"a", "b"}, {"b", "a"}} {
		d := New(DefaultConfig())
		var last []detectors.Signal
		for _, o := range order {
			if o == "a" {
				last = d.Observe(sub("E7", "RB", 1, budi))
			} else {
				last = d.Observe(sub("E8", "RA", 1, budi))
			}
		}
		if s := pick(last, "RA", KindDuplicateNIK); s == nil || mustJSON(s.Evidence["earlier"]) != `["RB"]` {
			t.Errorf("order %v: RA (E8) should be the duplicate of RB (E7): %v", order, ids(last))
		}
	}
}

func TestResubmitIsNotADuplicate(t *testing.T) {
	d := New(DefaultConfig())
	d.Observe(sub("E1", "R1", 1, budi))
	if got := d.Observe(sub("E2", "R1", 60, budi)); len(got) != 0 {
		t.Fatalf("retry produced %v", ids(got))
	}
	fixed := budi
	fixed.email = "budi.new@example.co.id"
	if got := d.Observe(sub("E3", "R1", 120, fixed)); len(got) != 0 {
		t.Fatalf("retry with a new email produced %v", ids(got))
	}
	if d.Len() != 1 {
		t.Fatalf("Len = %d", d.Len())
	}
}

func TestNIKChangedOnResubmit(t *testing.T) {
	d := New(DefaultConfig())
	d.Observe(sub("E1", "R1", 1, budi))
	typo := budi
	typo.nik = "1306040107850002"
	got := d.Observe(sub("E2", "R1", 60, typo))
	s := pick(got, "R1", KindNIKChanged)
	if s == nil || s.Key != "" {
		t.Fatalf("got %v", ids(got))
	}
	if e := mustJSON(s.Evidence); e != `{"first_event_ids":["E1","E2"],"more_niks":false,"niks":["1306040107850001","1306040107850002"]}` {
		t.Errorf("evidence %s", e)
	}
	// Same name and birth date under two NIKs of one registration is not
	// "another person": no same_person_other_nik without a second registration.
	if pick(got, "R1", KindSamePersonOtherNIK) != nil {
		t.Error("same_person_other_nik on a single registration")
	}
	// Going back to the first NIK changes nothing.
	if got := d.Observe(sub("E3", "R1", 90, budi)); mustJSON(pick(got, "R1", KindNIKChanged).Evidence) != mustJSON(s.Evidence) {
		t.Errorf("going back changed the evidence: %v", mustJSON(got))
	}
}

func TestSamePersonOtherNIK(t *testing.T) {
	d := New(DefaultConfig())
	d.Observe(sub("E1", "R1", 1, budi))
	again := budi
	again.nik, again.name = "1306040107850077", "H. Budi  Santoso, S.E."
	got := d.Observe(sub("E2", "R2", 2, again))
	if want := []string{"R1 same_person_other_nik", "R2 same_person_other_nik"}; !slices.Equal(ids(got), want) {
		t.Fatalf("got %v, want %v", ids(got), want)
	}
	if e := mustJSON(pick(got, "R2", KindSamePersonOtherNIK).Evidence); e != `{"more_others":false,"other_niks":{"R1":["1306040107850001"]},"others":["R1"],"own_niks":["1306040107850077"]}` {
		t.Errorf("R2 evidence %s", e)
	}
	if e := mustJSON(pick(got, "R1", KindSamePersonOtherNIK).Evidence); e != `{"more_others":false,"other_niks":{"R2":["1306040107850077"]},"others":["R2"],"own_niks":["1306040107850001"]}` {
		t.Errorf("R1 evidence %s", e)
	}
	if pick(got, "R1", KindSamePersonOtherNIK).Key != pick(got, "R2", KindSamePersonOtherNIK).Key {
		t.Error("keys differ within one person group")
	}
	// A third registration with R1's NIK: a duplicate of R1, and the same
	// person as R2 under another NIK; R1 and R2 list it too.
	got = d.Observe(sub("E3", "R3", 3, budi))
	if want := []string{"R1 nik_reused_later", "R1 same_person_other_nik", "R2 same_person_other_nik", "R3 duplicate_nik", "R3 same_person_other_nik"}; !slices.Equal(ids(got), want) {
		t.Fatalf("got %v, want %v", ids(got), want)
	}
	if e := mustJSON(pick(got, "R3", KindDuplicateNIK).Evidence["differs"]); e != `{"R1":[]}` {
		t.Errorf("identical data should differ in nothing: %s", e)
	}
	// Different birth date: another person.
	twin := budi
	twin.nik, twin.birth = "1306040207850001", "1985-07-02"
	if got := d.Observe(sub("E4", "R4", 4, twin)); len(got) != 0 {
		t.Errorf("different birth date: %v", ids(got))
	}
}

func TestSeparatorsAndMalformedNIKsStillMatch(t *testing.T) {
	d := New(DefaultConfig())
	d.Observe(sub("E1", "R1", 1, budi))
	spaced := budi
	spaced.nik = "1306 0401 0785 0001"
	got := d.Observe(sub("E2", "R2", 2, spaced))
	if s := pick(got, "R2", KindDuplicateNIK); s == nil || s.Key != "1306040107850001" {
		t.Errorf("spaced NIK not matched: %v", ids(got))
	}
	bad := budi
	bad.nik = "12345"
	d.Observe(sub("E3", "R3", 3, bad))
	got = d.Observe(sub("E4", "R4", 4, bad))
	if s := pick(got, "R4", KindDuplicateNIK); s == nil || s.Key != "12345" || s.Evidence["nik"] != "12345" {
		t.Errorf("malformed NIK reuse not matched: %v", mustJSON(got))
	}
	if pick(got, "R4", KindMalformed) == nil {
		t.Error("nik_malformed missing")
	}
}

func TestOtherEventTypesIgnored(t *testing.T) {
	d := New(DefaultConfig())
	for _, typ := range []event.Type{event.DocumentUploaded, event.VerificationSent, event.EmailVerified, event.Login, event.PasswordReset, event.PayoutChanged} {
		ev := sub("E1", "R1", 1, budi)
		ev.Type = typ
		if got := d.Observe(ev); got != nil {
			t.Errorf("%s: %v", typ, got)
		}
	}
	if d.Observe(nil) != nil || d.Len() != 0 {
		t.Error("state changed")
	}
}

func TestReplayIsIdempotent(t *testing.T) {
	evs := inOrder(genStream(3, 2000))
	once := New(DefaultConfig())
	twice := New(DefaultConfig())
	wantFinal := final(once, evs)
	gotFinal := map[string]string{}
	for _, ev := range evs {
		first := twice.Observe(ev)
		second := twice.Observe(ev)
		var own []detectors.Signal
		for _, s := range first {
			if s.RegistrationID == ev.RegistrationID {
				own = append(own, s)
			}
			gotFinal[s.ID()] = mustJSON(s)
		}
		if mustJSON(second) != mustJSON(own) {
			t.Fatalf("replay of %s returned\n %s\nfirst time (own registration)\n %s", ev.EventID, mustJSON(second), mustJSON(own))
		}
		for _, s := range second {
			gotFinal[s.ID()] = mustJSON(s)
		}
	}
	diffFinal(t, wantFinal, gotFinal)
	if once.Len() != twice.Len() || len(once.nikGroups) != len(twice.nikGroups) || len(once.personGroups) != len(twice.personGroups) ||
		once.ar.size() != twice.ar.size() {
		t.Errorf("replays changed the state: %d/%d regs, %d/%d nik groups, %d/%d person groups, arena %d/%d",
			once.Len(), twice.Len(), len(once.nikGroups), len(twice.nikGroups), len(once.personGroups), len(twice.personGroups), once.ar.size(), twice.ar.size())
	}
	// A replay long after (the whole stream again) changes nothing either.
	if again := final(twice, evs); len(again) == 0 {
		t.Fatal("no signals")
	} else {
		for id, v := range again {
			if gotFinal[id] != v {
				t.Fatalf("second pass changed %s", v)
			}
		}
	}
}

// TestLateOwnEarlierSubmission pins the one case the detector cannot make
// arrival-order independent (doc.go, "Order"): a registration's own earlier
// submission arriving after its later one, with another registration's use
// of the NIK in between. Signals are never withdrawn, so the in-between
// state leaves two signals that in-order processing never emits.
func TestLateOwnEarlierSubmission(t *testing.T) {
	evs := []*event.Event{sub("E1", "R1", 1, budi), sub("E5", "R2", 5, budi), sub("E9", "R1", 9, budi)}
	want := final(New(DefaultConfig()), evs)
	got := final(New(DefaultConfig()), []*event.Event{evs[1], evs[2], evs[0]})
	var extra []string
	for id, v := range got {
		if w, ok := want[id]; !ok {
			extra = append(extra, v)
		} else if w != v {
			t.Errorf("value differs: %s vs %s", v, w)
		}
	}
	slices.Sort(extra)
	if len(want) != 2 || len(got) != 4 || len(extra) != 2 ||
		pick([]detectors.Signal{unmarshal(extra[0]), unmarshal(extra[1])}, "R1", KindDuplicateNIK) == nil ||
		pick([]detectors.Signal{unmarshal(extra[0]), unmarshal(extra[1])}, "R2", KindNIKReusedLater) == nil {
		t.Errorf("in order %d signals, shuffled %d, extra %v", len(want), len(got), extra)
	}
}

func unmarshal(s string) detectors.Signal {
	var x detectors.Signal
	if err := jsonUnmarshal(s, &x); err != nil {
		panic(err)
	}
	return x
}

func TestRegistrationIDHashCollision(t *testing.T) {
	d := New(DefaultConfig())
	d.Observe(sub("E1", "RA", 1, budi))
	// Pretend "RB" hashes like "RA": the second id must go to the
	// collision map and both must stay distinct.
	d.byID[xxhash.Sum64String("RB")] = d.byID[xxhash.Sum64String("RA")]
	got := d.Observe(sub("E2", "RB", 2, budi))
	if s := pick(got, "RB", KindDuplicateNIK); s == nil {
		t.Fatalf("RB not seen as a separate registration: %v", ids(got))
	}
	a, _ := d.lookup("RA")
	b, ok := d.lookup("RB")
	if !ok || a == b || d.Len() != 2 || len(d.byIDx) != 1 {
		t.Errorf("lookup RA=%d RB=%d ok=%v len=%d", a, b, ok, d.Len())
	}
}

func TestEvidenceCaps(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Evidence.MaxIDs = 2
	d := New(cfg)
	var got []detectors.Signal
	for i := 0; i < 7; i++ {
		got = d.Observe(sub(fmt.Sprintf("E%d", i), fmt.Sprintf("R%d", i), i, budi))
	}
	if e := mustJSON(pick(got, "R6", KindDuplicateNIK).Evidence["earlier"]); e != `["R0","R1"]` {
		t.Errorf("earlier %s", e)
	}
	if pick(got, "R6", KindDuplicateNIK).Evidence["more_earlier"] != true {
		t.Error("more_earlier")
	}
	// Appending R6 changes the evidence of R3 (more_later flips), R4 and R5
	// only: R0-R2 already list their first two later registrations and have
	// more_later set, so a big group costs O(MaxIDs) signals per member.
	if want := []string{"R3 nik_reused_later", "R4 nik_reused_later", "R5 nik_reused_later", "R6 duplicate_nik"}; !slices.Equal(ids(got), want) {
		t.Errorf("re-emitted %v, want %v", ids(got), want)
	}
}

func TestSamePersonBigGroupGetsSecondNIK(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Evidence.MaxIDs = 2
	d := New(cfg)
	for i := 0; i < 5; i++ { // one person, one NIK, five registrations: duplicates only
		got := d.Observe(sub(fmt.Sprintf("E%d", i), fmt.Sprintf("R%d", i), i, budi))
		if pick(got, fmt.Sprintf("R%d", i), KindSamePersonOtherNIK) != nil {
			t.Fatal("same_person_other_nik with a single NIK")
		}
	}
	other := budi
	other.nik = "1306040107850099"
	got := d.Observe(sub("E9", "R9", 9, other))
	for i := 0; i < 5; i++ {
		s := pick(got, fmt.Sprintf("R%d", i), KindSamePersonOtherNIK)
		if s == nil {
			t.Fatalf("R%d not re-scored when a second NIK joined: %v", i, ids(got))
		}
		if s.Evidence["more_others"] != true {
			t.Errorf("R%d more_others", i)
		}
	}
	if e := mustJSON(pick(got, "R9", KindSamePersonOtherNIK).Evidence); e != `{"more_others":true,"other_niks":{"R0":["1306040107850001"],"R1":["1306040107850001"]},"others":["R0","R1"],"own_niks":["1306040107850099"]}` {
		t.Errorf("R9 evidence %s", e)
	}
}
