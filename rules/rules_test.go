package rules

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/waspada/waspada/detectors"
)

func TestRulesFiles(t *testing.T) {
	wantErrs := map[string][]string{
		"ok.good.yaml":  nil,
		"typo.bad.yaml": {"field wieghts not found"},
		// Every problem is reported, not just the first.
		"bands.bad.yaml": {
			"version: required",
			"bands: review (90) must be below deny (70)",
			"default_weight: 150 is outside 0..100",
			"weights.identity.x: -1 is outside 0..100",
			"weights.nodot: key must be detector.kind",
		},
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) != len(wantErrs) {
		t.Fatalf("testdata has %d files, table has %d", len(files), len(wantErrs))
	}
	for _, f := range files {
		name := filepath.Base(f)
		_, err := Load(f)
		want := wantErrs[name]
		if strings.HasSuffix(name, ".good.yaml") {
			if err != nil {
				t.Errorf("%s: unexpected error %v", name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: expected errors, got none", name)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", name, err, w)
			}
		}
	}
}

func TestDefaultRulesValid(t *testing.T) {
	rs := Default()
	if !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}\.\d+@[0-9a-f]{8}$`).MatchString(rs.ID()) {
		t.Fatalf("id %q is not <date>.<n>@<sha8>", rs.ID())
	}
}

func TestEvaluate(t *testing.T) {
	rs, err := Parse([]byte("version: t\nbands: {review: 40, deny: 80}\ndefault_weight: 10\nweights: {a.strong: 70, a.weak: 20, a.zero: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	sig := func(kind, key string) detectors.Signal {
		return detectors.Signal{RegistrationID: "R1", Detector: "a", Kind: kind, Key: key}
	}
	cases := []struct {
		name    string
		signals []detectors.Signal
		score   int
		band    Band
	}{
		{"none", nil, 0, Allow},
		{"zero weight", []detectors.Signal{sig("zero", "")}, 0, Allow},
		{"one weak", []detectors.Signal{sig("weak", "")}, 20, Allow},
		{"two weak", []detectors.Signal{sig("weak", "x"), sig("weak", "y")}, 36, Allow},
		{"unknown kind gets default", []detectors.Signal{sig("new", "")}, 10, Allow},
		{"strong", []detectors.Signal{sig("strong", "")}, 70, Review},
		{"strong and weak", []detectors.Signal{sig("strong", ""), sig("weak", "")}, 76, Review},
		{"strong twice", []detectors.Signal{sig("strong", "x"), sig("strong", "y")}, 91, Deny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := rs.Evaluate("R1", c.signals)
			if s.Score != c.score || s.Band != c.band {
				t.Fatalf("got %d %s, want %d %s", s.Score, s.Band, c.score, c.band)
			}
			if len(s.Reasons) != len(c.signals) {
				t.Fatalf("reasons %d, signals %d", len(s.Reasons), len(c.signals))
			}
		})
	}
}

func TestEvaluateOrderIndependent(t *testing.T) {
	rs := Default()
	a := []detectors.Signal{
		{RegistrationID: "R", Detector: "identity", Kind: "duplicate_nik", Evidence: map[string]any{"earlier": []string{"R0"}}},
		{RegistrationID: "R", Detector: "email", Kind: "address_reused", Key: "x"},
		{RegistrationID: "R", Detector: "email", Kind: "address_reused", Key: "a"},
	}
	b := []detectors.Signal{a[2], a[0], a[1]}
	ja, _ := json.Marshal(rs.Evaluate("R", a))
	jb, _ := json.Marshal(rs.Evaluate("R", b))
	if string(ja) != string(jb) {
		t.Fatalf("order changed the score:\n%s\n%s", ja, jb)
	}
}

func ExampleRuleSet_Evaluate() {
	rs := Default()
	s := rs.Evaluate("R00000002", []detectors.Signal{{
		RegistrationID: "R00000002", Detector: "identity", Kind: "duplicate_nik",
		Evidence: map[string]any{"earlier_registrations": []string{"R00000001"}},
	}})
	fmt.Println(s.Score, s.Band, s.Reasons[0].Kind, s.Reasons[0].Weight)
	// Output: 70 review duplicate_nik 70
}
