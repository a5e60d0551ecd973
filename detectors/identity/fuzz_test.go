package identity

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/waspada/waspada/pipeline/event"
)

// FuzzParseNIK checks the parser's invariants on arbitrary strings and
// that the per-event checks and the detector never panic and emit valid,
// deterministic JSON evidence for them. Corpus: testdata/fuzz/FuzzParseNIK.
//
//	go test ./detectors/identity -run '^$' -fuzz FuzzParseNIK -fuzztime 60s
func FuzzParseNIK(f *testing.F) {
	for _, s := range []string{"1306040107850001", "3174054508920003", "9601014101009999", "1306040107850000",
		"130604010785001", "1306 0401 0785 0001", "13060401078500O1", "2006040107850001", "1306043102850001",
		"3201012902010001", "", "\xff\xfe", "１３０６０４０１０７８５０００１", strings.Repeat("9", 200)} {
		f.Add(s, "1985-07-01", "M", "1306")
	}
	f.Fuzz(func(t *testing.T, s, birth, gender, region string) {
		n, err := ParseNIK(s)
		if err == nil {
			if len(s) != 16 || !allDigits(s) || n.Digits != s {
				t.Fatalf("accepted %q", s)
			}
			if n.Regency == 0 || n.District == 0 || n.Serial == 0 {
				t.Fatalf("accepted zero field in %q", s)
			}
			if formatNIK(nikValue(s)) != s {
				t.Fatalf("nikValue round trip %q", s)
			}
			if s[:4] != n.RegionCode() || n.DateDigits() != s[6:12] {
				t.Fatalf("field slices of %q", s)
			}
			if n.CheckBirthDate() == "" && (n.BirthDay() < 1 || n.BirthDay() > 31 || n.Month < 1 || n.Month > 12) {
				t.Fatalf("accepted date %q", s)
			}
		} else if len(s) == 16 && allDigits(s) && s[2:4] != "00" && s[4:6] != "00" && s[12:] != "0000" {
			t.Fatalf("rejected %q: %v", s, err)
		}
		ev := &event.Event{EventID: "E1", Type: event.Submitted, RegistrationID: "R1", NIK: s, FullName: s,
			BirthDate: birth, Gender: gender, RegionCode: region, Email: s}
		d := New(DefaultConfig())
		a := d.Observe(ev)
		b := d.Observe(ev)
		ja, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("replay differs:\n%s\n%s", ja, jb)
		}
		for _, sig := range a {
			if !utf8.ValidString(sig.Key) || len(sig.Key) > 2*DefaultConfig().Evidence.MaxRawNIKBytes+len(birth)+len(region)+len(gender)+2 {
				t.Fatalf("key %q", sig.Key)
			}
		}
	})
}
