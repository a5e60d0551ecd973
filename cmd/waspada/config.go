package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/waspada/waspada/pipeline"
)

// pipelineFlags binds the pipeline configuration to flags. Precedence, low
// to high: built-in defaults, the --config YAML file, WASPADA_* environment
// variables, flags.
type pipelineFlags struct {
	cfg        pipeline.Config
	det        detectorConfig
	configFile string
	brokers    string
	photoHosts string
	// reportSecrets is --reports-secrets as given: id=file,id=file.
	reportSecrets string
}

// fileConfig is the --config YAML: the pipeline's sections and the
// detectors' side by side at the top level.
type fileConfig struct {
	pipeline.Config `yaml:",inline"`
	detectorConfig  `yaml:",inline"`
}

// loadConfigFile reads a --config file over the built-in defaults. Unknown
// keys are errors, so a typo is caught instead of silently ignored.
func loadConfigFile(path string) (pipeline.Config, detectorConfig, error) {
	fc := fileConfig{pipeline.DefaultConfig(), defaultDetectorConfig()}
	if err := pipeline.DecodeConfigFile(path, &fc); err != nil {
		return fc.Config, fc.detectorConfig, err
	}
	if err := errors.Join(fc.Config.Validate(), fc.detectorConfig.Validate()); err != nil {
		return fc.Config, fc.detectorConfig, fmt.Errorf("%s:\n%w", path, err)
	}
	return fc.Config, fc.detectorConfig, nil
}

// envVars maps each environment variable to what it sets; --help lists them.
var envVars = []struct {
	name, help string
	set        func(c *pipeline.Config, v string) error
}{
	{"WASPADA_KAFKA_BROKERS", "comma-separated Kafka brokers", func(c *pipeline.Config, v string) error {
		c.Kafka.Brokers = splitList(v)
		return nil
	}},
	{"WASPADA_REGISTRATIONS_TOPIC", "registrations topic", func(c *pipeline.Config, v string) error { c.Kafka.RegistrationsTopic = v; return nil }},
	{"WASPADA_SCORES_TOPIC", "risk-scores topic", func(c *pipeline.Config, v string) error { c.Kafka.ScoresTopic = v; return nil }},
	{"WASPADA_DEAD_LETTERS_TOPIC", "dead-letters topic", func(c *pipeline.Config, v string) error { c.Kafka.DeadLettersTopic = v; return nil }},
	{"WASPADA_GROUP_ID", "consumer group", func(c *pipeline.Config, v string) error { c.Kafka.GroupID = v; return nil }},
	{"WASPADA_CLICKHOUSE_ADDR", "ClickHouse native address host:port", func(c *pipeline.Config, v string) error { c.ClickHouse.Addr = v; return nil }},
	{"WASPADA_CLICKHOUSE_DATABASE", "ClickHouse database", func(c *pipeline.Config, v string) error { c.ClickHouse.Database = v; return nil }},
	{"WASPADA_CLICKHOUSE_USER", "ClickHouse user", func(c *pipeline.Config, v string) error { c.ClickHouse.Username = v; return nil }},
	{"WASPADA_CLICKHOUSE_PASSWORD", "ClickHouse password", func(c *pipeline.Config, v string) error { c.ClickHouse.Password = v; return nil }},
	{"WASPADA_HTTP_LISTEN", "HTTP listen address", func(c *pipeline.Config, v string) error { c.HTTP.Listen = v; return nil }},
	{"WASPADA_API_TOKEN", "bearer token for the score lookup", func(c *pipeline.Config, v string) error { c.HTTP.APIToken = v; return nil }},
	{"WASPADA_RULES", "rules file", func(c *pipeline.Config, v string) error { c.Rules.File = v; return nil }},
	{"WASPADA_ADDRESS_RELEASED_TOPIC", "topic telling the platform an address is free for its owner", func(c *pipeline.Config, v string) error {
		c.Kafka.AddressReleasedTopic = v
		return nil
	}},
	{"WASPADA_REPORTS_SECRETS", "not-me token secrets as id=file,id=file (first = current); empty: reports off", func(c *pipeline.Config, v string) error {
		s, err := parseSecrets(v)
		c.Reports.TokenSecrets = s
		return err
	}},
	{"WASPADA_REPORTS_DNS_ZONE", "zone file for DKIM/DMARC lookups instead of the system resolver", func(c *pipeline.Config, v string) error { c.Reports.DNSZoneFile = v; return nil }},
	{"WASPADA_REPORTS_DOMAIN", "report mailbox domain (replies go to report+TOKEN@domain)", func(c *pipeline.Config, v string) error { c.Reports.Domain = v; return nil }},
	{"WASPADA_REPORTS_GATEWAY_TOKEN", "bearer token the mail gateway sends with POST /v1/reports/email", func(c *pipeline.Config, v string) error { c.Reports.GatewayToken = v; return nil }},
	{"WASPADA_REPORTS_SMTP", "SMTP listen address for the report mailbox (empty: off)", func(c *pipeline.Config, v string) error { c.Reports.SMTPListen = v; return nil }},
}

// parseSecrets reads id=file,id=file.
func parseSecrets(v string) ([]pipeline.TokenSecret, error) {
	var out []pipeline.TokenSecret
	for _, item := range splitList(v) {
		id, file, ok := strings.Cut(item, "=")
		if !ok || id == "" || file == "" {
			return nil, fmt.Errorf("token secret %q: want id=file", item)
		}
		out = append(out, pipeline.TokenSecret{ID: id, File: file})
	}
	return out, nil
}

func formatSecrets(s []pipeline.TokenSecret) string {
	var parts []string
	for _, k := range s {
		parts = append(parts, k.ID+"="+k.File)
	}
	return strings.Join(parts, ",")
}

// detectorEnvVars are the detectors' environment variables.
var detectorEnvVars = []struct {
	name, help string
	set        func(c *detectorConfig, v string) error
}{
	{"WASPADA_PHOTO_ROOT", "directory file:// document URIs must lie in", func(c *detectorConfig, v string) error { c.Photo.Fetch.Root = v; return nil }},
	{"WASPADA_PHOTO_HOSTS", "comma-separated hosts http(s):// documents may come from (empty: any)", func(c *detectorConfig, v string) error {
		c.Photo.Fetch.AllowedHosts = splitList(v)
		return nil
	}},
}

func envHelp() string {
	var b strings.Builder
	b.WriteString("\nEnvironment (overridden by flags, override the --config file):\n")
	for _, e := range envVars {
		fmt.Fprintf(&b, "  %-28s %s\n", e.name, e.help)
	}
	for _, e := range detectorEnvVars {
		fmt.Fprintf(&b, "  %-28s %s\n", e.name, e.help)
	}
	return b.String()
}

// bind loads defaults, the config file named in args and the environment,
// then registers flags whose defaults are the result.
func (p *pipelineFlags) bind(fs *flag.FlagSet, args []string) error {
	p.cfg, p.det = pipeline.DefaultConfig(), defaultDetectorConfig()
	p.configFile = findConfigArg(args)
	if p.configFile != "" {
		cfg, det, err := loadConfigFile(p.configFile)
		if err != nil {
			return err
		}
		p.cfg, p.det = cfg, det
	}
	for _, e := range envVars {
		if v, ok := os.LookupEnv(e.name); ok {
			if err := e.set(&p.cfg, v); err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
		}
	}
	for _, e := range detectorEnvVars {
		if v, ok := os.LookupEnv(e.name); ok {
			if err := e.set(&p.det, v); err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
		}
	}
	c := &p.cfg
	fs.StringVar(&p.configFile, "config", p.configFile, "YAML config file (see README: Configuration)")
	p.brokers = strings.Join(c.Kafka.Brokers, ",")
	fs.StringVar(&p.brokers, "brokers", p.brokers, "comma-separated Kafka brokers; empty starts an embedded broker on loopback")
	fs.StringVar(&c.Kafka.RegistrationsTopic, "registrations-topic", c.Kafka.RegistrationsTopic, "topic to read registration events from")
	fs.StringVar(&c.Kafka.ScoresTopic, "scores-topic", c.Kafka.ScoresTopic, "compacted topic to publish risk scores to (key = registration_id)")
	fs.StringVar(&c.Kafka.DeadLettersTopic, "dead-letters-topic", c.Kafka.DeadLettersTopic, "topic for events that cannot be processed, with the reason")
	fs.StringVar(&c.Kafka.AddressReleasedTopic, "address-released-topic", c.Kafka.AddressReleasedTopic, "topic telling the registration platform that a reported address is free for its owner (key = canonical address)")
	fs.StringVar(&c.Kafka.GroupID, "group", c.Kafka.GroupID, "Kafka consumer group")
	fs.IntVar(&c.Kafka.Partitions, "partitions", c.Kafka.Partitions, "partitions for topics the pipeline creates")
	fs.IntVar(&c.Kafka.EmbeddedPort, "embedded-port", c.Kafka.EmbeddedPort, "port of the embedded broker (0: any free port)")
	fs.StringVar(&c.Kafka.EmbeddedDataDir, "embedded-data", c.Kafka.EmbeddedDataDir, "directory that keeps the embedded broker's log across restarts (empty: memory only)")
	fs.StringVar(&c.ClickHouse.Addr, "clickhouse", c.ClickHouse.Addr, "ClickHouse native address host:port (empty: start a local server if one is on PATH)")
	fs.StringVar(&c.ClickHouse.Database, "clickhouse-db", c.ClickHouse.Database, "ClickHouse database")
	fs.StringVar(&c.ClickHouse.Username, "clickhouse-user", c.ClickHouse.Username, "ClickHouse user")
	fs.StringVar(&c.ClickHouse.Password, "clickhouse-password", c.ClickHouse.Password, "ClickHouse password (prefer WASPADA_CLICKHOUSE_PASSWORD)")
	fs.StringVar(&c.HTTP.Listen, "http", c.HTTP.Listen, "HTTP listen address for /healthz, /readyz, /metrics, /v1/scores/{id} (empty: off)")
	fs.StringVar(&c.Rules.File, "rules", c.Rules.File, "rules file (empty: the embedded default rules)")
	fs.IntVar(&c.Batch.MaxEvents, "batch-events", c.Batch.MaxEvents, "most events per batch")
	fs.DurationVar(&c.Batch.MaxWait, "batch-wait", c.Batch.MaxWait, "longest wait to fill a batch")
	p.reportSecrets = formatSecrets(c.Reports.TokenSecrets)
	fs.StringVar(&p.reportSecrets, "reports-secrets", p.reportSecrets, "misuse reports: not-me token secrets as id=file,id=file, the first the current key (empty: the report intake is off)")
	fs.StringVar(&c.Reports.DNSZoneFile, "reports-dns-zone", c.Reports.DNSZoneFile, "misuse reports: zone file answering the DKIM key and DMARC lookups (empty: the system resolver)")
	fs.StringVar(&c.Reports.Domain, "reports-domain", c.Reports.Domain, "misuse reports: domain of the report mailbox (replies go to "+c.Reports.Local+"+TOKEN@domain)")
	fs.StringVar(&c.Reports.GatewayToken, "reports-gateway-token", c.Reports.GatewayToken, "misuse reports: bearer token the mail gateway must send with POST /v1/reports/email (prefer WASPADA_REPORTS_GATEWAY_TOKEN)")
	fs.StringVar(&c.Reports.SMTPListen, "reports-smtp", c.Reports.SMTPListen, "misuse reports: SMTP listen address for the report mailbox's MX (empty: no listener)")
	fs.StringVar(&p.det.Photo.Fetch.Root, "photo-root", p.det.Photo.Fetch.Root, "directory file:// document URIs must lie in (empty: file:// documents are unavailable)")
	p.photoHosts = strings.Join(p.det.Photo.Fetch.AllowedHosts, ",")
	fs.StringVar(&p.photoHosts, "photo-hosts", p.photoHosts, "comma-separated hosts http(s):// documents may come from (empty: any)")
	return nil
}

// finish applies the flag values that need parsing and validates.
func (p *pipelineFlags) finish() error {
	p.cfg.Kafka.Brokers = splitList(p.brokers)
	secrets, err := parseSecrets(p.reportSecrets)
	if err != nil {
		return fmt.Errorf("--reports-secrets: %w", err)
	}
	p.cfg.Reports.TokenSecrets = secrets
	p.det.Photo.Fetch.AllowedHosts = splitList(p.photoHosts)
	return errors.Join(p.cfg.Validate(), p.det.Validate())
}

func findConfigArg(args []string) string {
	for i, a := range args {
		for _, prefix := range []string{"-config", "--config"} {
			if a == prefix && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, prefix+"="); ok {
				return v
			}
		}
	}
	return ""
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parse parses flags; it returns (exit code, done) where done means the
// caller should return the code (help or a usage error).
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	return 0, false
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
