package photo

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func loadConfig(t *testing.T, path string) (Config, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if strings.Contains(string(b), "thresholds:") {
		cfg.Thresholds = nil // a file that sets thresholds sets all of them
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func TestConfigFiles(t *testing.T) {
	good, _ := filepath.Glob("testdata/config/*.good.yaml")
	if len(good) < 2 {
		t.Fatal("missing good config files")
	}
	for _, f := range good {
		if _, err := loadConfig(t, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	tuned, _ := loadConfig(t, "testdata/config/tuned.good.yaml")
	if tuned.Index.MaxCandidates != 20000 || tuned.Index.TailSize != 2048 || tuned.Thresholds["ktp"].ROIColour != 0.97 {
		t.Errorf("tuned.good.yaml: index %+v, ktp %+v", tuned.Index, tuned.Thresholds["ktp"])
	}
	for file, want := range map[string][]string{
		"every-problem.bad.yaml": {"max_bytes", "root", "concurrency", "threshold ktp", "roi ktp", "min_side",
			`allow_list entry "nothex"`, "allow_radius", "observe_timeout"},
		"no-default-threshold.bad.yaml": {`"*"`},
	} {
		_, err := loadConfig(t, filepath.Join("testdata/config", file))
		if err == nil {
			t.Errorf("%s: no error", file)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error does not mention %q:\n%v", file, w, err)
			}
		}
	}
}

// The KTP rule needs the whole card, the portrait's pHash and dHash each,
// and their sum (roi_sum) to agree; a missing portrait hash is not compared.
func TestThresholdAcceptROISum(t *testing.T) {
	th := Threshold{PHash: 10, DHash: 12, ROI: 6, ROIDHash: 6, ROISum: 9}
	for _, c := range []struct {
		dist, dd, rd, rdd int
		want              bool
		colour            float64 // 0: not compared
	}{
		{10, 12, 6, 3, true, 0},   // sum 9
		{10, 12, 5, 5, false, 0},  // each within, sum 10 over
		{11, 0, 0, 0, false, 0},   // whole card too far
		{4, 13, 0, 0, false, 0},   // dHash disagrees
		{4, 2, 7, 0, false, 0},    // portrait pHash too far
		{4, 2, 0, 7, false, 0},    // portrait dHash too far
		{4, 2, -1, -1, true, 0},   // no portrait hashes: whole card decides
		{4, -1, 6, -1, true, 0},   // no dHash at all: sum not applicable
		{4, 2, 1, 1, true, 0.96},  // portrait colours agree
		{4, 2, 1, 1, false, 0.94}, // same grey portrait, other colours: another person
		{4, 2, 1, 1, false, -0.5}, // red background against blue
	} {
		th := th
		colour := 1.0
		if c.colour != 0 {
			th.ROIColour, colour = 0.95, c.colour
		}
		if got := th.Accept(Distances{c.dist, c.dd, c.rd, c.rdd, colour}); got != c.want {
			t.Errorf("Accept(%d, %d, %d, %d) = %v, want %v", c.dist, c.dd, c.rd, c.rdd, got, c.want)
		}
	}
	if err := (Config{Thresholds: map[string]Threshold{"*": {PHash: 8, ROISum: 65}}}).Validate(); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("roi_sum 65 accepted: %v", err)
	}
	if err := (Config{Thresholds: map[string]Threshold{"*": {PHash: 8, ROIColour: 1}}}).Validate(); err == nil || !strings.Contains(err.Error(), "roi_colour") {
		t.Errorf("roi_colour 1 accepted: %v", err)
	}
}
