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
