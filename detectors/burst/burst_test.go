package burst

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

var t0 = time.Date(2026, 4, 11, 0, 0, 0, 0, time.UTC)

// background builds an organic-looking stream: perMinute(m) registrations in
// minute m, each a distinct person on its own device, from 50 busy /24s and
// 30 regions.
func background(minutes int, perMinute func(m int) int, seed uint64) []*event.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	var evs []*event.Event
	n := 0
	for m := range minutes {
		k := perMinute(m)
		for range k {
			n++
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(r.Int64N(int64(time.Minute))))
			evs = append(evs, sub(at, fmt.Sprintf("B%08d", n), fmt.Sprintf("3201%012d", n),
				fmt.Sprintf("114.122.%d.%d", r.IntN(50), 1+r.IntN(254)), fmt.Sprintf("D%011d", n),
				fmt.Sprintf("32%02d", 1+r.IntN(30)), fmt.Sprintf("+62812%08d", r.IntN(100000000)), fmt.Sprintf("NAMA %d", n)))
		}
	}
	sortEvents(evs)
	return evs
}

func sub(at time.Time, id, nik, ip, dev, region, phone, name string) *event.Event {
	return &event.Event{EventID: "E" + id, Type: event.Submitted, OccurredAt: at, RegistrationID: "R" + id,
		NIK: nik, FullName: name, BirthDate: "1990-01-01", Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + id + "@gmail.com",
		Phone: phone, RegionCode: region, IP: ip, DeviceID: dev, UserAgent: "Mozilla/5.0 test"}
}

func sortEvents(evs []*event.Event) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Before(evs[j]) })
}

// run feeds events and returns the final signal of every ID (replace
// semantics), encoded, so that two runs can be compared byte for byte.
func run(d *Detector, evs []*event.Event) map[string]string {
	final := map[string]string{}
	keep := func(sigs []detectors.Signal) {
		for _, s := range sigs {
			b, err := json.Marshal(s)
			if err != nil {
				panic(err)
			}
			final[s.ID()] = string(b)
		}
	}
	for _, ev := range evs {
		keep(d.Observe(ev))
	}
	keep(d.Flush())
	return final
}

func kinds(final map[string]string) map[string]int {
	out := map[string]int{}
	for _, v := range final {
		var s detectors.Signal
		json.Unmarshal([]byte(v), &s)
		out[s.Kind]++
	}
	return out
}

func flat(int) int { return 60 }

func TestQuietStreamHasNoBursts(t *testing.T) {
	final := run(New(DefaultConfig()), background(240, flat, 1))
	if len(final) != 0 {
		t.Fatalf("organic stream gave %d signals: %v", len(final), kinds(final))
	}
}

// The wave opening: every key's rate jumps fivefold at once, then decays.
// Baselines follow the stream, so no key is a burst; only the stream as a
// whole may be (and it is not, after warm-up the surge is already there).
func TestWaveOpeningIsNotABurst(t *testing.T) {
	surge := func(m int) int {
		if m < 60 {
			return 20
		}
		return 20 + int(100*math.Exp(-float64(m-60)/120))
	}
	cfg := DefaultConfig()
	cfg.Stream.Enabled = false
	final := run(New(cfg), background(360, surge, 2))
	if len(final) != 0 {
		t.Fatalf("a stream-wide surge gave key bursts: %v", kinds(final))
	}
}

func TestRetryStormIsNotABurst(t *testing.T) {
	evs := background(180, flat, 3)
	for i := range 60 { // one person, 60 submissions in two minutes, one IP
		at := t0.Add(90*time.Minute + time.Duration(i)*2*time.Second)
		ev := sub(at, fmt.Sprintf("S%04d", i), "3201999999999999", "114.122.7.7", "Dstorm", "3201", "+6281299999999", "BUDI")
		ev.RegistrationID = "Rstorm"
		evs = append(evs, ev)
	}
	sortEvents(evs)
	final := run(New(DefaultConfig()), evs)
	if len(final) != 0 {
		t.Fatalf("a retry storm gave signals: %v", kinds(final))
	}
}

func TestFarmOnOneSlash24(t *testing.T) {
	evs := background(180, flat, 4)
	for i := range 80 { // 80 identities from one hosting /24 in two minutes
		at := t0.Add(100*time.Minute + time.Duration(i)*1500*time.Millisecond)
		evs = append(evs, sub(at, fmt.Sprintf("F%04d", i), fmt.Sprintf("3201%012d", 900000+i),
			fmt.Sprintf("103.41.7.%d", 1+i), fmt.Sprintf("Dfarm%d", i), fmt.Sprintf("32%02d", 1+i%30), fmt.Sprintf("+62813%08d", i*7919), fmt.Sprintf("BOT %d", i)))
	}
	sortEvents(evs)
	final := run(New(DefaultConfig()), evs)
	flagged := map[string]bool{}
	for _, v := range final {
		var s detectors.Signal
		json.Unmarshal([]byte(v), &s)
		if !strings.HasPrefix(s.RegistrationID, "RF") {
			t.Fatalf("organic %s flagged: %s", s.RegistrationID, v)
		}
		if s.Kind == "ip24_burst" {
			flagged[s.RegistrationID] = true
			ev := s.Evidence
			for _, f := range []string{"key_class", "key", "window_start", "window_end", "window_seconds", "count",
				"distinct_identities", "distinct_emails", "baseline", "ratio", "p_value", "score", "members", "members_total"} {
				if _, ok := ev[f]; !ok {
					t.Fatalf("evidence lacks %s: %s", f, v)
				}
			}
			if ev["key"] != "103.41.7" || ev["key_class"] != "ip24" {
				t.Fatalf("wrong key: %s", v)
			}
			if n := ev["distinct_identities"].(float64); n < 30 || ev["baseline"].(float64) >= n/2 {
				t.Fatalf("implausible count/baseline: %s", v)
			}
		}
	}
	if len(flagged) != 80 {
		t.Fatalf("%d of 80 farm registrations got ip24_burst", len(flagged))
	}
}

func TestProxyRing(t *testing.T) {
	for _, tc := range []struct {
		name        string
		people      int
		sameName    bool
		wantMembers int
	}{
		{"joki with 14 villagers", 14, false, 14},
		{"family of 6", 6, false, 0},
		{"one person 14 times under other NIKs", 14, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var evs []*event.Event
			for i := range tc.people {
				name := fmt.Sprintf("WARGA %c", 'A'+i)
				if tc.sameName {
					name = "WARGA SATU"
				}
				evs = append(evs, sub(t0.Add(time.Duration(i)*7*time.Minute), fmt.Sprintf("J%03d", i),
					fmt.Sprintf("3201%012d", i), "114.122.1.1", "Djoki", "3201", "+6281200000001", name))
			}
			final := run(New(DefaultConfig()), evs)
			members := map[string]int{}
			for _, v := range final {
				var s detectors.Signal
				json.Unmarshal([]byte(v), &s)
				if s.Kind == KindRing {
					members[s.RegistrationID]++
					if int(s.Evidence["size_at_least"].(float64)) != 10 {
						t.Errorf("final ring step %v, want 10", s.Evidence["size_at_least"])
					}
				}
			}
			if len(members) != tc.wantMembers {
				t.Fatalf("%d ring members signalled, want %d", len(members), tc.wantMembers)
			}
			for r, n := range members {
				if n != 2 { // one ring per device, one per phone
					t.Errorf("%s has %d ring signals, want 2 (device and phone)", r, n)
				}
			}
		})
	}
}

func simEvents(t testing.TB, n int, rate float64) []*event.Event {
	sc := sim.DefaultConfig()
	sc.Events, sc.MeanRate = n, rate
	var evs []*event.Event
	if err := sim.Generate(sc, func(ev *event.Event, _ sim.Label) error { evs = append(evs, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	return evs
}

// Arrival order = occurred_at plus a random delay below the allowed
// lateness: every event arrives at most AllowedLateness behind the largest
// occurred_at seen before it. The final signals must not change.
func TestOrderIndependentWithinLateness(t *testing.T) {
	evs := simEvents(t, 150000, 1)
	cfg := DefaultConfig()
	want := run(New(cfg), evs)
	if len(want) == 0 {
		t.Fatal("no signals at all: the test would prove nothing")
	}
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 9))
		type arr struct {
			key int64
			ev  *event.Event
		}
		as := make([]arr, len(evs))
		for i, ev := range evs {
			as[i] = arr{ev.OccurredAt.UnixMilli() + r.Int64N(cfg.AllowedLateness.Milliseconds()), ev}
		}
		sort.SliceStable(as, func(i, j int) bool { return as[i].key < as[j].key })
		shuffled := make([]*event.Event, len(as))
		moved := 0
		for i, a := range as {
			shuffled[i] = a.ev
			if a.ev != evs[i] {
				moved++
			}
		}
		d := New(cfg)
		got := run(d, shuffled)
		if d.Stats().Late != 0 {
			t.Fatalf("seed %d: %d late events within the lateness bound", seed, d.Stats().Late)
		}
		if moved < len(evs)/2 {
			t.Fatalf("seed %d: only %d events moved", seed, moved)
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d final signals, in order %d", seed, len(got), len(want))
		}
		for id, v := range want {
			if got[id] != v {
				t.Fatalf("seed %d: signal differs:\nin order %s\nshuffled %s", seed, v, got[id])
			}
		}
	}
}

func TestLateEventsAreCountedNotUsed(t *testing.T) {
	d := New(DefaultConfig())
	d.Observe(sub(t0.Add(time.Hour), "A", "3201000000000001", "1.2.3.4", "D1", "3201", "+6281200000001", "A"))
	d.Observe(sub(t0.Add(3*time.Hour), "B", "3201000000000002", "1.2.3.4", "D1", "3201", "+6281200000001", "B"))
	d.Observe(sub(t0.Add(time.Hour), "C", "3201000000000003", "1.2.3.4", "D1", "3201", "+6281200000001", "C"))
	if s := d.Stats(); s.Late != 1 {
		t.Fatalf("late = %d, want 1", s.Late)
	}
}

func TestReplayIsANoOp(t *testing.T) {
	evs := simEvents(t, 60000, 1)
	want := run(New(DefaultConfig()), evs)
	twice := make([]*event.Event, 0, 2*len(evs))
	for _, ev := range evs {
		twice = append(twice, ev, ev)
	}
	d := New(DefaultConfig())
	got := run(d, twice)
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("%d signals once, %d twice", len(want), len(got))
	}
	for id, v := range want {
		if got[id] != v {
			t.Fatalf("replay changed a signal:\n%s\n%s", v, got[id])
		}
	}
}

func TestFutureEventDoesNotCloseWindows(t *testing.T) {
	evs := background(120, flat, 5)
	bad := sub(t0.AddDate(1, 0, 0), "X", "3201000000000009", "1.2.3.4", "Dx", "3201", "+6281200000009", "X")
	evs = slices.Insert(evs, len(evs)/2, bad)
	d := New(DefaultConfig())
	run(d, evs)
	if s := d.Stats(); s.Future != 1 || s.Late != 0 {
		t.Fatalf("future=%d late=%d, want 1 and 0", s.Future, s.Late)
	}
}

func TestKeyCapEvicts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limits.MaxKeys = 2000
	d := New(cfg)
	run(d, background(180, flat, 6))
	s := d.Stats()
	if s.EvictedCap == 0 || s.Keys > cfg.Limits.MaxKeys {
		t.Fatalf("cap did not bite as expected: %+v", s)
	}
}

func TestKeys(t *testing.T) {
	var kb keyBuf
	kb.fill(&event.Event{IP: "2001:448a:10b0:21ff:1:2::3", Email: "A.B@Gmail.COM", Phone: "0812-3456-7890", RegionCode: "3201", DeviceID: "D1"})
	if got := kb.keys[ClassIP64]; got != "2001:448a:10b0:21ff::/64" {
		t.Errorf("ip64 %q", got)
	}
	if kb.has[ClassIP24] {
		t.Errorf("ip24 set for IPv6")
	}
	if got := kb.keys[ClassEmailDomain]; got != "gmail.com" {
		t.Errorf("domain %q", got)
	}
	if kb.keys[ClassPhone] != "6281234567890" || kb.keys[ClassPhonePrefix] != "6281234567" {
		t.Errorf("phone %q prefix %q", kb.keys[ClassPhone], kb.keys[ClassPhonePrefix])
	}
	kb.fill(&event.Event{IP: "114.122.10.7"})
	if kb.keys[ClassIP24] != "114.122.10" || kb.keys[ClassIP] != "114.122.10.7" {
		t.Errorf("v4 keys %q %q", kb.keys[ClassIP], kb.keys[ClassIP24])
	}
	if canonicalEmail("Nanang.S+prakerja@googlemail.com") != "nanangs@gmail.com" {
		t.Errorf("canonical %q", canonicalEmail("Nanang.S+prakerja@googlemail.com"))
	}
}

func TestPoissonTail(t *testing.T) {
	direct := func(x int, lam float64) float64 {
		cdf := 0.0
		term := math.Exp(-lam)
		for k := range x {
			if k > 0 {
				term *= lam / float64(k)
			}
			cdf += term
		}
		return 1 - cdf
	}
	for _, tc := range []struct {
		x   int
		lam float64
	}{{1, 0.5}, {5, 1}, {8, 1.1}, {12, 3}, {30, 10}, {60, 40}} {
		got := math.Pow(10, poissonLog10SF(tc.x, tc.lam))
		want := direct(tc.x, tc.lam)
		if math.Abs(got-want) > 1e-9+1e-6*want {
			t.Errorf("P(X>=%d | %v) = %g, want %g", tc.x, tc.lam, got, want)
		}
	}
	if v := poissonLog10SF(2000, 3); v > -1000 || math.IsInf(v, 0) {
		t.Errorf("far tail %v should be finite and tiny", v)
	}
}

func TestDistinctAndHLL(t *testing.T) {
	var d distinct
	for i := range 100000 {
		d.add(mix(uint64(i)), 1000)
		d.add(mix(uint64(i)), 1000)
	}
	if n := d.count(); math.Abs(float64(n)-100000) > 3000 || !d.approximate() {
		t.Fatalf("count %d approximate %v", n, d.approximate())
	}
	var e distinct
	for i := range 500 {
		e.add(uint64(i%300), 1000)
	}
	if e.count() != 300 || e.approximate() {
		t.Fatalf("exact count %d", e.count())
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"default", func(*Config) {}, nil},
		{"no windows", func(c *Config) { c.Windows = nil }, []string{"windows"}},
		{"unsorted", func(c *Config) { c.Windows = []time.Duration{time.Hour, time.Minute} }, []string{"increasing"}},
		{"alphas", func(c *Config) { c.Alpha = 0; c.AlphaExtend = 2 }, []string{"alpha:", "alpha_extend"}},
		{"ring and limits", func(c *Config) { c.Ring.MinSize = 1; c.Limits.MaxKeys = 1; c.Limits.IdleTTL = time.Minute },
			[]string{"ring.min_size", "limits.max_keys", "limits.idle_ttl"}},
		{"jump", func(c *Config) { c.MaxJump = time.Second }, []string{"max_jump"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not mention %q", err, w)
				}
			}
		})
	}
}

// After a restart the detector is rebuilt from a replay that starts in the
// middle of the wave, with carrier NAT blocks, Gmail and every region
// already busy. The warm-up must keep that from looking like a burst.
func TestRestartMidWaveRaisesNoFalseBursts(t *testing.T) {
	sc := sim.DefaultConfig()
	sc.Events, sc.MeanRate = 200000, 1
	var evs []*event.Event
	organic := map[string]bool{}
	sim.Generate(sc, func(ev *event.Event, l sim.Label) error {
		evs = append(evs, ev)
		if !l.Fraud {
			organic[ev.RegistrationID] = true
		}
		return nil
	})
	tail := evs[len(evs)/2:]
	seen := map[string]bool{}
	for _, ev := range tail {
		if organic[ev.RegistrationID] {
			seen[ev.RegistrationID] = true
		}
	}
	final := run(New(DefaultConfig()), tail)
	flagged := map[string]bool{}
	for _, v := range final {
		var s detectors.Signal
		json.Unmarshal([]byte(v), &s)
		if organic[s.RegistrationID] {
			flagged[s.RegistrationID] = true
		}
	}
	if r := float64(len(flagged)) / float64(len(seen)); r > 0.005 {
		t.Fatalf("after a mid-wave start %d of %d organic registrations flagged (%.4f): %v",
			len(flagged), len(seen), r, kinds(final))
	}
	t.Logf("mid-wave start: %d of %d organic registrations flagged", len(flagged), len(seen))
}
