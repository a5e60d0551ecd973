package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors/photo"
)

func TestLoadConfigFileDetectorSections(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `
kafka:
  brokers: [10.0.0.1:9092]
batch:
  max_wait: 2s
photo:
  fetch:
    root: `+dir+`
    allowed_hosts: [uploads.example.id]
  thresholds:
    selfie: {phash: 9, dhash: 13}
`)
	cfg, det, err := loadConfigFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kafka.Brokers[0] != "10.0.0.1:9092" || cfg.Batch.MaxWait != 2*time.Second || cfg.Batch.MaxEvents != 5000 {
		t.Errorf("pipeline sections: %+v %+v", cfg.Kafka, cfg.Batch)
	}
	if det.Photo.Fetch.Root != dir || det.Photo.Fetch.AllowedHosts[0] != "uploads.example.id" ||
		det.Photo.Thresholds["selfie"].PHash != 9 || det.Photo.Thresholds["ktp"] != photo.DefaultConfig().Thresholds["ktp"] || det.Photo.Fetch.MaxBytes != 20<<20 {
		t.Errorf("photo section over defaults: %+v %+v", det.Photo.Fetch, det.Photo.Thresholds)
	}

	for name, c := range map[string]struct{ body, want string }{
		"typo":         {"photo:\n  fech: {}\n", "fech"},
		"unknown top":  {"phot: {}\n", "phot"},
		"bad root":     {"photo:\n  fetch:\n    root: relative/dir\n", "absolute"},
		"bad pipeline": {"batch:\n  max_events: 0\n", "batch.max_events"},
		"bad photo":    {"photo:\n  thresholds:\n    ktp: {phash: 40}\n", "out of range"},
	} {
		_, _, err := loadConfigFile(write(strings.ReplaceAll(name, " ", "_")+".yaml", c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
	}
}
