package pipeline

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigFiles(t *testing.T) {
	want := map[string][]string{
		"full.good.yaml":       nil,
		"empty.good.yaml":      nil,
		"unknown_key.bad.yaml": {"field broker not found"},
		"many_errors.bad.yaml": {
			`kafka.brokers: "no-port" is not host:port`,
			`kafka.scores_topic: "has space" is not a valid topic name`,
			"kafka.group_id: required",
			"kafka.partitions: must be at least 1",
			`clickhouse.addr: "clickhouse" is not host:port`,
			`clickhouse.database: "bad-name" is not a plain identifier`,
			"batch.max_events: must be at least 1",
			"batch.max_wait: must be positive",
			"limits.max_event_bytes: 10 is too small",
			"reports.token_secrets[0]: needs id and file",
			`reports.domain: "" is not a mail domain`,
			`reports.smtp_listen: "2525" is not host:port`,
		},
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) != len(want) {
		t.Fatalf("testdata has %d files, table has %d", len(files), len(want))
	}
	for _, f := range files {
		name := filepath.Base(f)
		_, err := LoadConfigFile(f)
		if strings.HasSuffix(name, ".good.yaml") {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, w := range want[name] {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error does not mention %q:\n%v", name, w, err)
			}
		}
	}
}

func TestConfigFileValues(t *testing.T) {
	cfg, err := LoadConfigFile("testdata/full.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Batch.MaxWait != time.Second || cfg.ClickHouse.ReadTimeout != time.Minute || cfg.Kafka.Partitions != 12 ||
		len(cfg.Kafka.Brokers) != 2 || cfg.Rules.File != "/etc/waspada/rules.yaml" ||
		cfg.Kafka.AddressReleasedTopic != "prakerja.address-released" || len(cfg.Reports.TokenSecrets) != 2 ||
		cfg.Reports.TokenSecrets[0].ID != "k2" || cfg.Reports.SMTPListen != "0.0.0.0:2525" || !cfg.Reports.Enabled() {
		t.Fatalf("values not loaded: %+v", cfg)
	}
	def, err := LoadConfigFile("testdata/empty.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if def.Kafka.GroupID != DefaultConfig().Kafka.GroupID || def.Reports.Enabled() {
		t.Fatal("an empty file must keep the defaults")
	}
}
