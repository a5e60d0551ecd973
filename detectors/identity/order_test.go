package identity

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
)

// final applies the replace-by-ID rule of the detector contract to
// everything Observe returned: the signal set a sink would end up with.
func final(d *Detector, evs []*event.Event) map[string]string {
	out := map[string]string{}
	for _, ev := range evs {
		for _, s := range d.Observe(ev) {
			out[s.ID()] = mustJSON(s)
		}
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func inOrder(evs []*event.Event) []*event.Event {
	s := slices.Clone(evs)
	slices.SortStableFunc(s, func(a, b *event.Event) int {
		if a.Before(b) {
			return -1
		}
		if b.Before(a) {
			return 1
		}
		return 0
	})
	return s
}

// shuffleKeyed shuffles the stream the way a keyed Kafka topic can: any
// interleaving across registrations, each registration's own events in
// decision order.
func shuffleKeyed(r *rand.Rand, evs []*event.Event) []*event.Event {
	byReg := map[string][]*event.Event{}
	var regs []string
	for _, ev := range inOrder(evs) {
		if _, ok := byReg[ev.RegistrationID]; !ok {
			regs = append(regs, ev.RegistrationID)
		}
		byReg[ev.RegistrationID] = append(byReg[ev.RegistrationID], ev)
	}
	// Draw the registration of each next event with a random permutation of
	// slots: a uniformly random interleaving.
	var slots []string
	for _, id := range regs {
		for range byReg[id] {
			slots = append(slots, id)
		}
	}
	r.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })
	out := make([]*event.Event, 0, len(evs))
	for _, id := range slots {
		out = append(out, byReg[id][0])
		byReg[id] = byReg[id][1:]
	}
	return out
}

func diffFinal(t *testing.T, want, got map[string]string) {
	t.Helper()
	n := 0
	for id, w := range want {
		if g, ok := got[id]; !ok {
			t.Errorf("missing after shuffle: %s", w)
			n++
		} else if g != w {
			t.Errorf("differs after shuffle:\n in order: %s\n shuffled: %s", w, g)
			n++
		}
		if n > 5 {
			t.Fatal("too many differences")
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("extra after shuffle: %s", g)
			n++
		}
		if n > 5 {
			t.Fatal("too many differences")
		}
	}
}

func kinds(m map[string]string) map[string]int {
	k := map[string]int{}
	for _, v := range m {
		var s detectors.Signal
		_ = json.Unmarshal([]byte(v), &s)
		k[s.Kind]++
	}
	return k
}

func TestShuffledStreamGivesInOrderSignals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		maxIDs int
		n      int
	}{
		{"default", 20, 3000},
		{"tiny-evidence-lists", 2, 3000}, // caps and more_* flags in play
		{"hot-nik", 3, 400},              // few NIKs, big groups
		{"hot-person", 2, 300},           // few people, one NIK first, then several
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Evidence.MaxIDs = tc.maxIDs
			evs := genStream(7, tc.n)
			if tc.name == "hot-nik" {
				// Squeeze the stream onto 5 NIKs and 5 people.
				for i, ev := range evs {
					ev.NIK = evs[i%5].NIK
					if i%3 == 0 {
						ev.FullName, ev.BirthDate = evs[i%5].FullName, evs[i%5].BirthDate
					}
				}
			}
			if tc.name == "hot-person" {
				pool := []string{evs[0].NIK, evs[1].NIK, evs[2].NIK, evs[3].NIK}
				for i, ev := range evs {
					ev.FullName, ev.BirthDate = evs[i%3].FullName, evs[i%3].BirthDate
					ev.NIK = pool[0]
					if i > len(evs)/3 && i%5 == 0 {
						ev.NIK = pool[i%4]
					}
				}
			}
			ordered := inOrder(evs)
			want := final(New(cfg), ordered)
			k := kinds(want)
			for _, kind := range []string{KindDuplicateNIK, KindNIKReusedLater, KindNIKChanged, KindSamePersonOtherNIK} {
				if k[kind] == 0 {
					t.Fatalf("stream exercises no %s: %v", kind, k)
				}
			}
			t.Logf("%d events, final signals by kind: %v", len(evs), k)
			for seed := uint64(1); seed <= 5; seed++ {
				d := New(cfg)
				got := final(d, shuffleKeyed(rand.New(rand.NewPCG(seed, 1)), evs))
				diffFinal(t, want, got)
				checkCurrent(t, d, got)
			}
		})
	}
}

// checkCurrent: every cross-registration signal the detector holds now was
// returned with exactly this value (no refresh was missed).
func checkCurrent(t *testing.T, d *Detector, emitted map[string]string) {
	t.Helper()
	for i := 0; i < d.Len(); i++ {
		id := d.ar.str(d.regAt(uint32(i)).id)
		for _, s := range d.Signals(id) {
			if got := emitted[s.ID()]; got != mustJSON(s) {
				t.Fatalf("current signal never emitted with this value:\n current: %s\n emitted: %s", mustJSON(s), got)
			}
		}
	}
}

// TestFullShuffleWithoutRetries: with one submission per registration the
// guarantee holds for every arrival order, not only keyed ones.
func TestFullShuffleWithoutRetries(t *testing.T) {
	var evs []*event.Event
	seen := map[string]bool{}
	for _, ev := range genStream(11, 3000) {
		if !seen[ev.RegistrationID] {
			seen[ev.RegistrationID] = true
			evs = append(evs, ev)
		}
	}
	cfg := DefaultConfig()
	cfg.Evidence.MaxIDs = 3
	want := final(New(cfg), inOrder(evs))
	for seed := uint64(1); seed <= 5; seed++ {
		s := slices.Clone(evs)
		rand.New(rand.NewPCG(seed, 2)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		diffFinal(t, want, final(New(cfg), s))
	}
}
