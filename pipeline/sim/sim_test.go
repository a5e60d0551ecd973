package sim

import (
	"bytes"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/pipeline/event"
)

func generate(t testing.TB, cfg Config) (evs []*event.Event, labs []Label, out []byte) {
	t.Helper()
	var buf bytes.Buffer
	err := Generate(cfg, func(ev *event.Event, l Label) error {
		b, err := Encode(ev)
		if err != nil {
			return err
		}
		lb, err := EncodeLabel(l)
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
		buf.Write(lb)
		buf.WriteByte('\n')
		evs = append(evs, ev)
		labs = append(labs, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs, labs, buf.Bytes()
}

func TestSameSeedSameBytes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Events = 20000
	_, _, a := generate(t, cfg)
	_, _, b := generate(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different output")
	}
	cfg.Seed = 2
	_, _, c := generate(t, cfg)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same output")
	}
}

func TestExactCountOrderAndDecode(t *testing.T) {
	for _, n := range []int{0, 1, 7, 5000} {
		cfg := DefaultConfig()
		cfg.Events = n
		evs, labs, out := generate(t, cfg)
		if len(evs) != n || len(labs) != n {
			t.Fatalf("events=%d: got %d events, %d labels", n, len(evs), len(labs))
		}
		lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
		for i, ev := range evs {
			if i > 0 && !evs[i-1].Before(ev) {
				t.Fatalf("event %d (%s) not after %s", i, ev.EventID, evs[i-1].EventID)
			}
			if want := padID('E', i+1, 9); ev.EventID != want || labs[i].EventID != want {
				t.Fatalf("event %d id %s label %s, want %s", i, ev.EventID, labs[i].EventID, want)
			}
			got, err := event.Decode(lines[2*i])
			if err != nil {
				t.Fatalf("event %s does not decode: %v\n%s", ev.EventID, err, lines[2*i])
			}
			again, _ := Encode(got)
			if !bytes.Equal(again, lines[2*i]) {
				t.Fatalf("decode+encode changed the bytes:\n%s\n%s", lines[2*i], again)
			}
			if !reflect.DeepEqual(got, ev) {
				t.Fatalf("decoded event differs:\n%+v\n%+v", got, ev)
			}
		}
	}
}

func TestEncodeCanonicalTime(t *testing.T) {
	loc := time.FixedZone("WIB", 7*3600)
	ev := &event.Event{EventID: "E1", Type: event.Login, RegistrationID: "R1",
		OccurredAt: time.Date(2026, 4, 11, 15, 0, 0, 123456789, loc)}
	b, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event_id":"E1","type":"login","occurred_at":"2026-04-11T08:00:00.123Z","registration_id":"R1"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

// TestWireMatchesEvent keeps the canonical encoder in step with the event
// contract: same JSON names, same order, same types except occurred_at.
func TestWireMatchesEvent(t *testing.T) {
	et, wt := reflect.TypeFor[event.Event](), reflect.TypeFor[wire]()
	if et.NumField() != wt.NumField() {
		t.Fatalf("event.Event has %d fields, wire %d", et.NumField(), wt.NumField())
	}
	for i := range et.NumField() {
		ef, wf := et.Field(i), wt.Field(i)
		if ef.Tag.Get("json") != wf.Tag.Get("json") || ef.Name != wf.Name {
			t.Errorf("field %d: event %s %q, wire %s %q", i, ef.Name, ef.Tag, wf.Name, wf.Tag)
		}
		if ef.Name != "OccurredAt" && ef.Type != wf.Type {
			t.Errorf("field %s: event %v, wire %v", ef.Name, ef.Type, wf.Type)
		}
	}
}

// nikProblems re-implements the structure rules independently of the
// generator: province from the list, DDMMYY a real date, matching the
// declared birth date and gender, region_code the first four digits.
func nikProblems(ev *event.Event) []string {
	var bad []string
	nik := ev.NIK
	if len(nik) != 16 || strings.Trim(nik, "0123456789") != "" {
		return []string{"not 16 digits"}
	}
	if !slices.Contains(ProvinceCodes(), nik[:2]) {
		bad = append(bad, "province")
	}
	day, _ := strconv.Atoi(nik[6:8])
	female := day > 40
	if female {
		day -= 40
	}
	d, err := time.Parse("020106", pad2(day)+nik[8:12])
	if err != nil {
		bad = append(bad, "date")
	} else if d.Format("01-02") != ev.BirthDate[5:] || d.Format("06") != ev.BirthDate[2:4] {
		bad = append(bad, "birth date mismatch")
	}
	if female != (ev.Gender == "F") {
		bad = append(bad, "gender")
	}
	if ev.RegionCode != nik[:4] {
		bad = append(bad, "region")
	}
	return bad
}

func TestFraudMixAndLabels(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Events = 60000
	cfg.Fraud = FraudMix{DuplicateNIK: 0.02, SamePersonOtherNIK: 0.03, InvalidNIK: 0.04, ReusedEmail: 0.05}
	evs, labs, _ := generate(t, cfg)
	regs := map[string]string{} // registration -> kind ("" organic)
	firstNIK := map[string]string{}
	firstEmail := map[string]string{}
	firstPerson := map[string]string{} // name|birth -> nik
	for i, ev := range evs {
		if ev.Type != event.Submitted {
			continue
		}
		l := labs[i]
		kind := ""
		if l.Fraud {
			kind = l.Kinds[0]
		}
		if _, seen := regs[ev.RegistrationID]; seen {
			continue // a retry
		}
		regs[ev.RegistrationID] = kind
		probs := nikProblems(ev)
		switch kind {
		case KindInvalidNIK:
			if len(probs) == 0 {
				t.Errorf("%s labelled invalid_nik has a valid NIK %s", ev.RegistrationID, ev.NIK)
			}
		case KindDuplicateNIK:
			if _, ok := firstNIK[ev.NIK]; !ok {
				t.Errorf("%s labelled duplicate_nik but NIK %s is new", ev.RegistrationID, ev.NIK)
			}
		case KindReusedEmail:
			if _, ok := firstEmail[ev.Email]; !ok {
				t.Errorf("%s labelled reused_email but %s is new", ev.RegistrationID, ev.Email)
			}
		case KindSamePersonOtherNIK:
			if n, ok := firstPerson[ev.FullName+"|"+ev.BirthDate]; !ok || n == ev.NIK {
				t.Errorf("%s labelled same_person_different_nik: earlier NIK %q, this %s", ev.RegistrationID, n, ev.NIK)
			}
		default:
			if len(probs) > 0 {
				t.Errorf("%s (%v) has NIK problems %v: %s %s %s", ev.RegistrationID, l.Kinds, probs, ev.NIK, ev.BirthDate, ev.Gender)
			}
			if _, ok := firstEmail[ev.Email]; ok {
				t.Errorf("organic %s re-uses email %s", ev.RegistrationID, ev.Email)
			}
		}
		if _, ok := firstNIK[ev.NIK]; !ok {
			firstNIK[ev.NIK] = ev.RegistrationID
		}
		if _, ok := firstEmail[ev.Email]; !ok {
			firstEmail[ev.Email] = ev.RegistrationID
		}
		if _, ok := firstPerson[ev.FullName+"|"+ev.BirthDate]; !ok {
			firstPerson[ev.FullName+"|"+ev.BirthDate] = ev.NIK
		}
	}
	count := map[string]int{}
	for _, k := range regs {
		count[k]++
	}
	n := float64(len(regs))
	for kind, want := range map[string]float64{KindDuplicateNIK: 0.02, KindSamePersonOtherNIK: 0.03,
		KindInvalidNIK: 0.04, KindReusedEmail: 0.05} {
		got := float64(count[kind]) / n
		if got < want*0.8 || got > want*1.2 {
			t.Errorf("%s: %.4f of %d registrations, want about %.2f", kind, got, len(regs), want)
		}
	}
}

func TestDocumentsAndTypes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Events = 30000
	evs, _, _ := generate(t, cfg)
	types := map[event.Type]int{}
	for _, ev := range evs {
		types[ev.Type]++
		for _, d := range ev.Documents {
			if want := "file:///uploads/" + ev.RegistrationID + "/" + d.Kind + ".jpg"; d.URI != want {
				t.Fatalf("document uri %s, want %s", d.URI, want)
			}
		}
	}
	for _, ty := range []event.Type{event.Submitted, event.VerificationSent, event.EmailVerified, event.DocumentUploaded} {
		if types[ty] == 0 {
			t.Errorf("no %s events in %d", ty, len(evs))
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"default", func(*Config) {}, nil},
		{"negative events", func(c *Config) { c.Events = -1 }, []string{"events"}},
		{"no start, no rate", func(c *Config) { c.Start = time.Time{}; c.MeanRate = 0 }, []string{"start", "mean_rate"}},
		{"fractions", func(c *Config) { c.Fraud.InvalidNIK = 2; c.Organic.VerifyFraction = -1 }, []string{"fraud.invalid_nik", "organic.verify_fraction"}},
		{"bots", func(c *Config) { c.Bots.Slash24 = 0.4; c.Bots.JokiRing = 0.2; c.Bots.MinFarmSize = 0 }, []string{"bots: fractions", "bots.min_farm_size"}},
		{"surge", func(c *Config) { c.Wave.SurgeDecay = 0 }, []string{"wave.surge_decay"}},
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
				t.Fatalf("want errors %v, got nil", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Events = b.N
	b.ReportAllocs()
	var n int
	err := Generate(cfg, func(ev *event.Event, l Label) error {
		_, err := Encode(ev)
		n++
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// Every bot pattern is planted, labelled with its group, with the traits
// that define it.
func TestBotPatterns(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Events, cfg.MeanRate = 150000, 1
	evs, labs, _ := generate(t, cfg)
	type group struct {
		regs                            map[string]bool
		ip24s, devices, phones, regions map[string]bool
	}
	groups := map[string]*group{}
	for i, ev := range evs {
		l := labs[i]
		if ev.Type != event.Submitted || !slices.Contains(BotKinds, firstKind(l)) {
			continue
		}
		if !l.Fraud || l.Group == "" {
			t.Fatalf("bot event %s labelled %+v", ev.EventID, l)
		}
		g := groups[l.Group]
		if g == nil {
			g = &group{map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}}
			groups[l.Group] = g
		}
		g.regs[ev.RegistrationID] = true
		g.ip24s[ev.IP[:strings.LastIndexByte(ev.IP, '.')+1]] = true
		g.devices[ev.DeviceID] = true
		g.phones[ev.Phone[:len(ev.Phone)-3]] = true
		g.regions[ev.RegionCode] = true
	}
	seen := map[string]int{}
	for name, g := range groups {
		kind := "bot_" + name[:strings.LastIndexByte(name, '-')]
		if name[:4] == "joki" {
			kind = KindJokiRing
		}
		seen[kind]++
		n := len(g.regs)
		switch kind {
		case KindBotSlash24:
			if len(g.ip24s) != 1 || len(g.devices) < n*9/10 {
				t.Errorf("%s: %d /24s, %d devices for %d registrations", name, len(g.ip24s), len(g.devices), n)
			}
		case KindBotRotatingIP:
			if len(g.devices) != 1 || len(g.ip24s) < 2 {
				t.Errorf("%s: %d devices, %d /24s", name, len(g.devices), len(g.ip24s))
			}
		case KindBotSlowDrip:
			if len(g.phones) != 1 || len(g.devices) != n {
				t.Errorf("%s: %d phone blocks, %d devices for %d", name, len(g.phones), len(g.devices), n)
			}
		case KindJokiRing:
			if len(g.devices) != 1 || len(g.regions) != 1 {
				t.Errorf("%s: %d devices, %d regions", name, len(g.devices), len(g.regions))
			}
		default:
			t.Errorf("unknown group %s", name)
		}
	}
	for _, k := range BotKinds {
		if seen[k] == 0 {
			t.Errorf("no %s planted in %d events", k, len(evs))
		}
	}
}

func firstKind(l Label) string {
	if len(l.Kinds) == 0 {
		return ""
	}
	return l.Kinds[0]
}
