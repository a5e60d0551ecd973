package identity

import (
	"errors"
	"testing"

	"github.com/waspada/waspada/pipeline/event"
)

func TestParseNIK(t *testing.T) {
	for _, tc := range []struct {
		in                          string
		reason                      string // "" = parses
		prov, reg, dist, day, m, yy int
		serial                      int
		gender                      string
	}{
		{in: "1306040107850001", prov: 13, reg: 6, dist: 4, day: 1, m: 7, yy: 85, serial: 1, gender: "M"},
		{in: "3174054508920003", prov: 31, reg: 74, dist: 5, day: 45, m: 8, yy: 92, serial: 3, gender: "F"},
		{in: "9601014101009999", prov: 96, reg: 1, dist: 1, day: 41, m: 1, yy: 0, serial: 9999, gender: "F"},
		{in: "130604010785001", reason: "length"},
		{in: "13060401078500011", reason: "length"},
		{in: "", reason: "length"},
		{in: "1306 40107850001", reason: "non_digit"},
		{in: "13060401078500O1", reason: "non_digit"},
		{in: "１３０６０４０１", reason: "length"}, // fullwidth digits: 24 bytes
		{in: "1300040107850001", reason: "zero_regency"},
		{in: "1306000107850001", reason: "zero_district"},
		{in: "1306040107850000", reason: "zero_serial"},
	} {
		n, err := ParseNIK(tc.in)
		if tc.reason != "" {
			var ne *NIKError
			if !errors.As(err, &ne) || ne.Reason != tc.reason {
				t.Errorf("ParseNIK(%q) = %v, want reason %s", tc.in, err, tc.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseNIK(%q): %v", tc.in, err)
			continue
		}
		if n.Province != tc.prov || n.Regency != tc.reg || n.District != tc.dist || n.Day != tc.day ||
			n.Month != tc.m || n.Year != tc.yy || n.Serial != tc.serial || n.Gender() != tc.gender {
			t.Errorf("ParseNIK(%q) = %+v", tc.in, n)
		}
		if formatNIK(nikValue(tc.in)) != tc.in {
			t.Errorf("nikValue/formatNIK round trip of %s", tc.in)
		}
	}
}

func TestProvinces(t *testing.T) {
	want := []int{11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53,
		61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96}
	if len(provinces) != len(want) {
		t.Errorf("%d provinces, want %d", len(provinces), len(want))
	}
	for _, p := range want {
		if _, ok := ProvinceName(p); !ok {
			t.Errorf("province %d missing", p)
		}
	}
	for _, p := range []int{0, 10, 20, 22, 30, 37, 50, 54, 60, 66, 70, 77, 80, 83, 90, 97, 99} {
		if _, ok := ProvinceName(p); ok {
			t.Errorf("province %d should be unknown", p)
		}
	}
}

func TestCheckBirthDate(t *testing.T) {
	for _, tc := range []struct {
		nik string
		ok  bool
	}{
		{"3201010101000001", true},  // 01-01-00 M
		{"3201013112990001", true},  // 31-12-99
		{"3201017112990001", true},  // 31-12-99 F
		{"3201012902000001", true},  // 29-02-00: 2000 was leap
		{"3201012902040001", true},  // 29-02-04
		{"3201016902880001", true},  // 29-02-88 F
		{"3201012902010001", false}, // 29-02-01: neither 1901 nor 2001 leap
		{"3201013002040001", false}, // 30 February
		{"3201013104900001", false}, // 31 April
		{"3201010001900001", false}, // day 00
		{"3201013201900001", false}, // day 32
		{"3201014001900001", false}, // day 40
		{"3201017201900001", false}, // day 72 (32+40)
		{"3201019901900001", false}, // day 99
		{"3201010100900001", false}, // month 00
		{"3201010113900001", false}, // month 13
	} {
		n, err := ParseNIK(tc.nik)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.CheckBirthDate(); (got == "") != tc.ok {
			t.Errorf("%s: CheckBirthDate() = %q, want ok=%v", tc.nik, got, tc.ok)
		}
	}
}

func TestCheckEvent(t *testing.T) {
	base := event.Event{EventID: "E1", Type: event.Submitted, OccurredAt: genEpoch, RegistrationID: "R1",
		NIK: "1306040107850001", FullName: "NANANG SARFINAL", BirthDate: "1985-07-01", Gender: "M",
		Email: "nanang@example.co.id", RegionCode: "1306"}
	type want struct {
		kind, key string
		evidence  map[string]any
	}
	for _, tc := range []struct {
		name string
		edit func(*event.Event)
		want []want
	}{
		{"valid male", func(*event.Event) {}, nil},
		{"valid female", func(e *event.Event) {
			e.NIK, e.Gender, e.BirthDate, e.RegionCode = "3174054508920003", "F", "1992-08-05", "3174"
		}, nil},
		{"valid new papua province, 2000s birth", func(e *event.Event) {
			e.NIK, e.Gender, e.BirthDate, e.RegionCode = "9601014101050007", "F", "2005-01-01", "9601"
		}, nil},
		{"region at district level", func(e *event.Event) { e.RegionCode = "130604" }, nil},
		{"region not comparable is skipped", func(e *event.Event) { e.RegionCode = "13-06" }, nil},
		{"gender and region optional", func(e *event.Event) { e.Gender, e.RegionCode = "", "" }, nil},
		{"too short", func(e *event.Event) { e.NIK = "130604010785001" }, []want{
			{KindMalformed, "130604010785001", map[string]any{"nik": "130604010785001", "reason": "length"}}}},
		{"letter", func(e *event.Event) { e.NIK = "13060401078500I1" }, []want{
			{KindMalformed, "13060401078500I1", map[string]any{"reason": "non_digit", "detail": "byte 'I' at position 15"}}}},
		{"serial 0000", func(e *event.Event) { e.NIK = "1306040107850000" }, []want{
			{KindMalformed, "1306040107850000", map[string]any{"reason": "zero_serial"}}}},
		{"separators: malformed, other checks still run", func(e *event.Event) { e.NIK, e.Gender = "1306 0401 0785 0001", "F" }, []want{
			{KindGenderMismatch, "1306 0401 0785 0001|F", map[string]any{"nik_gender": "M", "declared_gender": "F"}},
			{KindMalformed, "1306 0401 0785 0001", map[string]any{"reason": "separators"}}}},
		{"unknown province", func(e *event.Event) { e.NIK, e.RegionCode = "2006040107850001", "" }, []want{
			{KindUnknownProvince, "2006040107850001", map[string]any{"nik_digits": "20"}}}},
		{"invalid date: no mismatch checks on top", func(e *event.Event) { e.NIK = "1306043102850001" }, []want{
			{KindInvalidBirthDate, "1306043102850001", map[string]any{"nik_digits": "310285"}}}},
		{"birth date mismatch", func(e *event.Event) { e.BirthDate = "1985-07-02" }, []want{
			{KindBirthDateMismatch, "1306040107850001|1985-07-02", map[string]any{"nik_digits": "010785", "expected_digits": "020785", "declared_birth_date": "1985-07-02"}}}},
		{"century is not in the NIK", func(e *event.Event) { e.BirthDate = "2085-07-01" }, nil},
		{"two-digit year differs", func(e *event.Event) { e.BirthDate = "1986-07-01" }, []want{
			{KindBirthDateMismatch, "1306040107850001|1986-07-01", map[string]any{"expected_digits": "010786"}}}},
		{"gender mismatch only (date compared with the NIK's own offset)", func(e *event.Event) { e.Gender = "F" }, []want{
			{KindGenderMismatch, "1306040107850001|F", map[string]any{"nik_digits": "01", "nik_gender": "M", "declared_gender": "F"}}}},
		{"woman's NIK declared male", func(e *event.Event) { e.NIK = "3174054508920003"; e.BirthDate = "1992-08-05"; e.RegionCode = "3174" }, []want{
			{KindGenderMismatch, "3174054508920003|M", map[string]any{"nik_digits": "45", "nik_gender": "F"}}}},
		{"region mismatch", func(e *event.Event) { e.RegionCode = "1371" }, []want{
			{KindRegionMismatch, "1306040107850001|1371", map[string]any{"nik_digits": "1306", "region_code": "1371"}}}},
		{"everything wrong at once", func(e *event.Event) {
			e.NIK, e.BirthDate, e.Gender, e.RegionCode = "9906040107850001", "1990-01-01", "F", "3201"
		}, []want{
			{KindBirthDateMismatch, "9906040107850001|1990-01-01", nil},
			{KindGenderMismatch, "9906040107850001|F", nil},
			{KindRegionMismatch, "9906040107850001|3201", nil},
			{KindUnknownProvince, "9906040107850001", nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := base
			tc.edit(&ev)
			got := sortDedup(New(DefaultConfig()).checkEvent(&ev))
			if len(got) != len(tc.want) {
				t.Fatalf("got %d signals, want %d: %s", len(got), len(tc.want), mustJSON(got))
			}
			for i, w := range tc.want {
				s := got[i]
				if s.Kind != w.kind || s.Key != w.key || s.RegistrationID != "R1" || s.Detector != "identity" {
					t.Errorf("signal %d = %s/%s, want %s/%s", i, s.Kind, s.Key, w.kind, w.key)
				}
				for k, v := range w.evidence {
					if mustJSON(s.Evidence[k]) != mustJSON(v) {
						t.Errorf("%s evidence %s = %v, want %v", s.Kind, k, s.Evidence[k], v)
					}
				}
			}
		})
	}
}

func TestNormalizeName(t *testing.T) {
	titles := map[string]bool{}
	for _, x := range DefaultConfig().Names.Titles {
		titles[x] = true
	}
	for _, tc := range []struct{ in, want string }{
		{"Nanang  Sarfinal", "NANANG SARFINAL"},
		{" H. Ahmad Dahlan, S.E.", "AHMAD DAHLAN"},
		{"Dr. Ir. Siti Aminah, M.M.", "SITI AMINAH"},
		{"Ma'ruf Amin", "MARUF AMIN"},
		{"I Gusti Ngurah Rai", "I GUSTI NGURAH RAI"},
		{"Haji", "HAJI"}, // a title alone is the name
		{"Hj. Siti-Nurbaya", "SITI NURBAYA"},
		{"  ", ""},
	} {
		if got := NormalizeName(tc.in, titles); got != tc.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if normalizePhone("+62 812-3456-7890") != normalizePhone("081234567890") {
		t.Error("phone forms differ")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	bad := DefaultConfig()
	bad.Evidence.MaxIDs = 0
	bad.Evidence.MaxRawNIKBytes = 5
	bad.Names.Titles = []string{"S.E.", "dr"}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"max_ids", "max_raw_nik_bytes", `titles[0] "S.E."`, `titles[1] "dr"`} {
		if !contains(err.Error(), want) {
			t.Errorf("error does not list %s: %v", want, err)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
