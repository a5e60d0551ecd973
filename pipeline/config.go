package pipeline

import (
	"bytes"
	"io"
	"os"

	"errors"
	"fmt"
	"gopkg.in/yaml.v3"
	"net"
	"strings"
	"time"

	"github.com/waspada/waspada/pipeline/chstore"
)

// Config is the whole pipeline's configuration. Every field can be set from
// a YAML file, flags and WASPADA_* environment variables (see cmd/waspada).
type Config struct {
	Kafka      KafkaConfig    `yaml:"kafka"`
	ClickHouse chstore.Config `yaml:"clickhouse"`
	HTTP       HTTPConfig     `yaml:"http"`
	Batch      BatchConfig    `yaml:"batch"`
	Limits     LimitsConfig   `yaml:"limits"`
	Rules      RulesConfig    `yaml:"rules"`
	Reports    ReportsConfig  `yaml:"reports"`
}

// KafkaConfig names the brokers, topics and consumer group.
type KafkaConfig struct {
	// Brokers is a list of host:port. Empty starts an embedded
	// Kafka-protocol broker (kfake) on loopback.
	Brokers            []string `yaml:"brokers"`
	RegistrationsTopic string   `yaml:"registrations_topic"`
	ScoresTopic        string   `yaml:"scores_topic"`
	DeadLettersTopic   string   `yaml:"dead_letters_topic"`
	// AddressReleasedTopic tells the registration platform that an address
	// is free for its owner again: one message per accepted misuse report,
	// key = the canonical address (see AddressReleased).
	AddressReleasedTopic string `yaml:"address_released_topic"`
	GroupID              string `yaml:"group_id"`
	// Partitions and ReplicationFactor are used when the pipeline creates
	// missing topics.
	Partitions        int `yaml:"partitions"`
	ReplicationFactor int `yaml:"replication_factor"`
	// EmbeddedPort is the embedded broker's port (0: pick a free one);
	// EmbeddedDataDir keeps its log across restarts (empty: in memory).
	EmbeddedPort    int    `yaml:"embedded_port"`
	EmbeddedDataDir string `yaml:"embedded_data_dir"`
}

// HTTPConfig is the health, metrics and API listener.
type HTTPConfig struct {
	// Listen is host:port; empty disables HTTP.
	Listen string `yaml:"listen"`
	// APIToken guards the score lookup (Authorization: Bearer ...). Empty
	// disables the data endpoints; health and metrics stay open.
	APIToken string `yaml:"api_token"`
}

// BatchConfig bounds a batch by size and time. ClickHouse wants few large
// inserts; a batch is cut at MaxEvents or MaxWait after its first event,
// whichever comes first.
type BatchConfig struct {
	MaxEvents int           `yaml:"max_events"`
	MaxWait   time.Duration `yaml:"max_wait"`
	// RetryMin and RetryMax bound the backoff between attempts to write a
	// batch; a batch is retried until it is written or the pipeline stops.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
}

// LimitsConfig bounds untrusted input.
type LimitsConfig struct {
	MaxEventBytes  int `yaml:"max_event_bytes"`
	MaxDeadPayload int `yaml:"max_dead_letter_payload"`
}

// RulesConfig points at a rules file; empty uses the embedded default.
type RulesConfig struct {
	File string `yaml:"file"`
}

// ReportsConfig is the misuse-report intake ("this registration used my
// email, it was not me", package pipeline/intake), mounted on the HTTP
// server under /v1/reports/ by `waspada run`. Without a token secret the
// intake is off.
type ReportsConfig struct {
	// TokenSecrets are the HMAC secrets of the not-me tokens, by key id,
	// each read from a file (at least 16 bytes; a trailing newline is
	// dropped). The first is the current key, the one `waspada reports
	// token` should issue with; the others are still accepted, so rotating
	// means: put the new key first, drop the old one after the longest
	// token lifetime.
	TokenSecrets []TokenSecret `yaml:"token_secrets"`
	// DNSZoneFile, when set, answers the DKIM key and DMARC lookups from a
	// zone file (offline operation, tests) instead of the system resolver.
	DNSZoneFile string `yaml:"dns_zone_file"`
	// Domain and Local name the report mailbox: Local+TOKEN@Domain.
	Domain string `yaml:"domain"`
	Local  string `yaml:"local"`
	// GatewayToken, when set, is the bearer token the mail gateway must
	// send with POST /v1/reports/email.
	GatewayToken string `yaml:"gateway_token"`
	// SMTPListen is host:port of the optional SMTP listener for the report
	// mailbox's MX; empty: no listener.
	SMTPListen string `yaml:"smtp_listen"`
}

// TokenSecret is one not-me token key: its id (kept in every token) and
// the file holding the secret.
type TokenSecret struct {
	ID   string `yaml:"id"`
	File string `yaml:"file"`
}

// Enabled reports whether the intake runs (a token secret is configured).
func (r ReportsConfig) Enabled() bool { return len(r.TokenSecrets) > 0 }

func (r ReportsConfig) validate(add func(string, ...any)) {
	ids := map[string]bool{}
	for i, k := range r.TokenSecrets {
		if k.ID == "" || k.File == "" {
			add("reports.token_secrets[%d]: needs id and file", i)
		}
		if ids[k.ID] {
			add("reports.token_secrets[%d]: key id %q listed twice", i, k.ID)
		}
		ids[k.ID] = true
	}
	if r.Enabled() && (r.Domain == "" || strings.ContainsAny(r.Domain, "@ /")) {
		add("reports.domain: %q is not a mail domain (needed with token_secrets)", r.Domain)
	}
	if r.Local == "" || strings.ContainsAny(r.Local, "+@ ") {
		add("reports.local: %q must be a plain local part", r.Local)
	}
	if r.SMTPListen != "" {
		if _, _, err := net.SplitHostPort(r.SMTPListen); err != nil {
			add("reports.smtp_listen: %q is not host:port", r.SMTPListen)
		}
	}
}

// DefaultConfig runs everything on one machine with embedded defaults.
func DefaultConfig() Config {
	return Config{
		Kafka: KafkaConfig{
			RegistrationsTopic:   "waspada.registrations",
			ScoresTopic:          "waspada.risk-scores",
			DeadLettersTopic:     "waspada.dead-letters",
			AddressReleasedTopic: "waspada.address-released",
			GroupID:              "waspada",
			Partitions:           3,
			ReplicationFactor:    1,
		},
		ClickHouse: chstore.DefaultConfig(),
		HTTP:       HTTPConfig{Listen: "127.0.0.1:8080"},
		Batch:      BatchConfig{MaxEvents: 5000, MaxWait: 500 * time.Millisecond, RetryMin: 200 * time.Millisecond, RetryMax: 10 * time.Second},
		Limits:     LimitsConfig{MaxEventBytes: 256 << 10, MaxDeadPayload: 64 << 10},
		Reports:    ReportsConfig{Domain: "reports.example", Local: "report"},
	}
}

// Validate lists every problem in the configuration.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, b := range c.Kafka.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			add("kafka.brokers: %q is not host:port", b)
		}
	}
	for name, t := range map[string]string{"registrations_topic": c.Kafka.RegistrationsTopic,
		"scores_topic": c.Kafka.ScoresTopic, "dead_letters_topic": c.Kafka.DeadLettersTopic,
		"address_released_topic": c.Kafka.AddressReleasedTopic} {
		if t == "" || strings.ContainsAny(t, " /\\") {
			add("kafka.%s: %q is not a valid topic name", name, t)
		}
	}
	if c.Kafka.GroupID == "" {
		add("kafka.group_id: required")
	}
	if c.Kafka.Partitions < 1 {
		add("kafka.partitions: must be at least 1")
	}
	if c.Kafka.ReplicationFactor < 1 {
		add("kafka.replication_factor: must be at least 1")
	}
	if c.ClickHouse.Addr != "" {
		if _, _, err := net.SplitHostPort(c.ClickHouse.Addr); err != nil {
			add("clickhouse.addr: %q is not host:port", c.ClickHouse.Addr)
		}
	}
	if err := c.ClickHouse.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			add("http.listen: %q is not host:port", c.HTTP.Listen)
		}
	}
	if c.Batch.MaxEvents < 1 {
		add("batch.max_events: must be at least 1")
	}
	if c.Batch.MaxWait <= 0 {
		add("batch.max_wait: must be positive")
	}
	if c.Batch.RetryMin <= 0 || c.Batch.RetryMax < c.Batch.RetryMin {
		add("batch.retry_min/retry_max: need 0 < retry_min <= retry_max")
	}
	if c.Limits.MaxEventBytes < 1024 {
		add("limits.max_event_bytes: %d is too small (at least 1024)", c.Limits.MaxEventBytes)
	}
	if c.Limits.MaxDeadPayload < 0 {
		add("limits.max_dead_letter_payload: must not be negative")
	}
	c.Reports.validate(add)
	return errors.Join(errs...)
}

// LoadConfigFile reads a YAML config file over the defaults. Unknown keys
// are errors, so a misspelt setting is caught at start-up, and every
// validation problem is listed.
func LoadConfigFile(path string) (Config, error) {
	cfg := DefaultConfig()
	if err := DecodeConfigFile(path, &cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s:\n%w", path, err)
	}
	return cfg, nil
}

// DecodeConfigFile decodes a YAML file strictly (unknown keys are errors,
// an empty file is no error) over what v already holds. A binary that adds
// its own sections next to Config's decodes into a struct embedding Config
// inline.
func DecodeConfigFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
