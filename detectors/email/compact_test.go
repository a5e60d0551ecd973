package email

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline/event"
)

// Pools for random streams: small, so that values are shared, and mixing
// strings that pack (state.go) with strings that do not.
var (
	poolRegs   = []string{"R00000001", "R00000002", "R3", "R0004", "reg-5", "R-6/x", "R\u00e97", "R00000008", strings.Repeat("R9", 20), "10"}
	poolNIKs   = []string{"1306040107850001", "1306040107850002", "3201010101900002", "1", "0001", "12AB", "nik x", "13060401078500011234", ""}
	poolEmails = []string{
		"nanang@gmail.com", "Nanang@gmail.com", "n.a.nang+prakerja@googlemail.com", "n\u0430nang@gmail.com", "n\u0430n\u0430ng@gmail.com",
		"budi@mailinator.com", "Budi+x@Mailinator.com", "other@example.com", "\u0440aypal@example.com", "paypal@example.com",
		"siti@example.co.id", "not-an-address", "", "a@b", "x\u03b1y@example.com",
	}
	poolDevices = []string{"D1", "D2", "Dabc123", "D4d161d90ac50", "D0001", "device-xyz", "", "D" + strings.Repeat("f", 20), "7", "D", "-"}
	poolIPs     = []string{"114.122.10.7", "114.122.10.200", "36.80.1.1", "10.0.0.5", "10.0.0.99", "010.0.0.5", "2404:8000:e15a:5383:c276::ccda",
		"2404:8000:e15a:1::1", "::ffff:10.0.0.7", "bogus", "", "1.2.3.4.", "255.255.255.255"}
	poolPhones = []string{"+6281111", "+628574114158", "0812", "phone?", "", "+62 812", "6281111"}
	poolEvIDs  = []string{"E%04d", "E%09d", "ev:%d", "%d", "V%d"}
)

func pick(rng *rand.Rand, s []string) string { return s[rng.Intn(len(s))] }

type randStep struct {
	ev  *event.Event
	rep *report.Report
}

func randomStream(rng *rand.Rand, n int) []randStep {
	var out []randStep
	base := time.Date(2026, 4, 11, 8, 0, 0, 0, time.UTC)
	for range n {
		at := base.Add(time.Duration(rng.Intn(120)) * time.Second / 4)
		id := fmt.Sprintf(pick(rng, poolEvIDs), rng.Intn(n/2+1))
		reg := pick(rng, poolRegs)
		switch k := rng.Intn(20); {
		case k < 8:
			out = append(out, randStep{ev: &event.Event{EventID: id, Type: event.Submitted, OccurredAt: at, RegistrationID: reg,
				NIK: pick(rng, poolNIKs), Email: pick(rng, poolEmails), DeviceID: pick(rng, poolDevices), IP: pick(rng, poolIPs), Phone: pick(rng, poolPhones)}})
		case k < 11:
			out = append(out, randStep{ev: &event.Event{EventID: id, Type: event.VerificationSent, OccurredAt: at, RegistrationID: reg}})
		case k < 15:
			out = append(out, randStep{ev: &event.Event{EventID: id, Type: event.EmailVerified, OccurredAt: at, RegistrationID: reg,
				DeviceID: pick(rng, poolDevices), IP: pick(rng, poolIPs)}})
		case k < 16:
			out = append(out, randStep{ev: &event.Event{EventID: id, Type: event.DocumentUploaded, OccurredAt: at, RegistrationID: reg}})
		case k < 18:
			if rng.Intn(4) == 0 {
				reg = ""
			}
			rep := report.Report{ID: fmt.Sprintf("MR%d", rng.Intn(6)), Channel: []string{report.ChannelEmail, report.ChannelLink}[rng.Intn(2)],
				RegistrationID: reg, Address: pick(rng, poolEmails), ReceivedAt: at}
			if rng.Intn(2) == 0 {
				out = append(out, randStep{rep: &rep})
			} else {
				out = append(out, randStep{ev: ReportEvent(rep)})
			}
		default:
			if len(out) > 0 { // a replay
				out = append(out, out[rng.Intn(len(out))])
			}
		}
	}
	return out
}

// TestCompactMatchesReference: the compact detector returns exactly what
// the string-keyed detector it replaced returned, call by call, over
// random streams with shared values, duplicates, ties, replays, reports
// and strings that do and do not pack.
func TestCompactMatchesReference(t *testing.T) {
	cfgs := []Config{DefaultConfig(), {QuickClick: 20 * time.Second, NetworkPrefixV4: 16, NetworkPrefixV6: 32, MaxEvidenceIDs: 2}}
	rng := rand.New(rand.NewSource(7))
	calls, signals := 0, 0
	for round := range 120 {
		cfg := cfgs[round%len(cfgs)]
		got, want := New(cfg), refNew(cfg)
		for i, s := range randomStream(rng, 20+rng.Intn(200)) {
			var g, w []detectors.Signal
			if s.ev != nil {
				g, w = got.Observe(s.ev), want.Observe(s.ev)
			} else {
				g, w = got.ApplyReport(*s.rep), want.ApplyReport(*s.rep)
			}
			calls++
			signals += len(w)
			if !reflect.DeepEqual(g, w) {
				gj, _ := json.Marshal(g)
				wj, _ := json.Marshal(w)
				t.Fatalf("round %d step %d (%+v %+v):\n got %s\nwant %s", round, i, s.ev, s.rep, gj, wj)
			}
		}
	}
	t.Logf("%d calls, %d signals compared", calls, signals)
}

func TestPackRoundTrip(t *testing.T) {
	var ar arena
	for _, s := range []string{"0", "0000000000000000", "9999999999999999", "1306040107850001", "12345678901234567",
		"E000000001", "E", "E123456789012345", "E1234567890123456", "+628574114158", "D4d161d90ac50", "Dabcdefabcdef", "Dabcdefabcdef0",
		"DABC", "D0001", "x0", "1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..3.4",
		".1.2.3", "1.2.3.4.", "\u00e9", "\x00", "\x7f12", "-", "R\u00e97", strings.Repeat("z", 100)} {
		c := ar.cs(s)
		if got := ar.str(c); got != s {
			t.Errorf("%q -> %#x -> %q", s, uint64(c), got)
		}
		p, ok := pack(s)
		if ok != (c&packedBit != 0) || (ok && p != c) {
			t.Errorf("%q: pack %v %#x, cs %#x", s, ok, uint64(p), uint64(c))
		}
		if !ar.eq(c, s, p) || ar.cmp(c, s) != 0 {
			t.Errorf("%q: not equal to itself", s)
		}
	}
	if huge := strings.Repeat("h", maxArenaN+1); ar.str(ar.cs(huge)) != huge {
		t.Error("huge string")
	}
}

// TestCompactMatchesReferenceLarge crosses page boundaries and table
// growth: 12,000 registrations with values shared at several strides.
func TestCompactMatchesReferenceLarge(t *testing.T) {
	got, want := New(DefaultConfig()), refNew(DefaultConfig())
	base := time.Date(2026, 4, 11, 8, 0, 0, 0, time.UTC)
	check := func(ev *event.Event) {
		if g, w := got.Observe(ev), want.Observe(ev); !reflect.DeepEqual(g, w) {
			t.Fatalf("event %s differs:\n got %v\nwant %v", ev.EventID, g, w)
		}
	}
	const n = 12000
	for i := range n {
		reg := fmt.Sprintf("R%08d", i)
		if i%7 == 0 {
			reg = fmt.Sprintf("reg/%d", i) // not packed: arena
		}
		at := base.Add(time.Duration(i) * time.Second)
		check(&event.Event{EventID: fmt.Sprintf("E%09d", 3*i), Type: event.Submitted, RegistrationID: reg, OccurredAt: at,
			NIK: fmt.Sprintf("%016d", i%9000), Email: fmt.Sprintf("user%d@example.com", i%5000), DeviceID: fmt.Sprintf("D%x", i%4000+0xa000),
			IP: fmt.Sprintf("10.%d.%d.%d", i%3>>0, i>>8&255, i&255), Phone: fmt.Sprintf("+62812%07d", i%6000)})
		check(&event.Event{EventID: fmt.Sprintf("E%09d", 3*i+1), Type: event.VerificationSent, RegistrationID: reg, OccurredAt: at.Add(time.Second)})
		if i%3 == 0 {
			check(&event.Event{EventID: fmt.Sprintf("ev-%d", 3*i+2), Type: event.EmailVerified, RegistrationID: reg, OccurredAt: at.Add(5 * time.Second),
				DeviceID: fmt.Sprintf("D%x", i%5000+0xa000), IP: fmt.Sprintf("2404:8000::%x", i)})
		}
		if i%1000 == 999 {
			rep := report.Report{ID: fmt.Sprintf("MR%d", i), Channel: report.ChannelLink, RegistrationID: reg, Address: fmt.Sprintf("user%d@example.com", i%5000)}
			if g, w := got.ApplyReport(rep), want.ApplyReport(rep); !reflect.DeepEqual(g, w) {
				t.Fatalf("report %s differs", rep.ID)
			}
		}
	}
}
