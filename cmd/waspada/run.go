package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/waspada/waspada/pipeline"
	"github.com/waspada/waspada/pipeline/chstore"
)

const runHelp = `Usage: waspada run [flags]

The pipeline daemon. Reads registration events from Kafka (consumer group,
at-least-once), runs the detectors and rules, writes scores to the compacted
risk-scores topic and to ClickHouse, bad events to the dead-letter topic and
table, and commits offsets only after everything is durably written.

With no --brokers it starts an embedded Kafka-protocol broker on loopback and
prints its address, so that kcat or any Kafka client can produce to it:
  kcat -b <address> -t waspada.registrations -P -l events.jsonl

With no --clickhouse it starts a local ClickHouse server as a child process
when a clickhouse-server or clickhouse binary is on PATH (data in
--clickhouse-data); otherwise it says so and scores go only to the topic.

At start-up it applies the schema (unless --no-migrate) and rebuilds detector
state from ClickHouse. SIGINT/SIGTERM: stop fetching, flush, commit, exit 0.

With a not-me token secret (--reports-secrets id=file) it also takes misuse
reports on the HTTP server: POST /v1/reports/email (a raw reply to the report
mailbox, DKIM-verified) and GET/POST /v1/reports/not-me?t=TOKEN, optionally
over SMTP (--reports-smtp). An accepted report is produced onto the
registrations topic as an email.misuse_reported event (202 once Kafka acked
it); the pipeline then scores it like any event and tells the platform on
--address-released-topic that the address is free for its owner.

Flags:
`

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var pf pipelineFlags
	if err := pf.bind(fs, args); err != nil {
		fmt.Fprintln(stderr, "waspada run:", err)
		return 2
	}
	noMigrate := fs.Bool("no-migrate", false, "do not apply the ClickHouse schema at start-up")
	chData := fs.String("clickhouse-data", defaultDataDir("clickhouse"), "data directory of the local ClickHouse server started when --clickhouse is empty")
	fs.Usage = func() { fmt.Fprint(stderr, runHelp); fs.PrintDefaults(); fmt.Fprint(stderr, envHelp()) }
	if code, done := parse(fs, args); done {
		return code
	}
	if err := pf.finish(); err != nil {
		fmt.Fprintln(stderr, "waspada run: invalid configuration:\n"+err.Error())
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	env, err := startEnvironment(ctx, &pf.cfg, envOptions{localClickHouseDir: *chData, migrate: !*noMigrate, reports: true, detectors: &pf.det}, stdout, log)
	if err != nil {
		fmt.Fprintln(stderr, "waspada run:", err)
		return 1
	}
	defer env.Close()
	if err := env.serve(ctx, stdout, log); err != nil {
		fmt.Fprintln(stderr, "waspada run:", err)
		return 1
	}
	return 0
}

// environment is everything a pipeline run needs, started in order and
// closed in reverse.
type environment struct {
	cfg     pipeline.Config
	kafka   *kfake.Cluster       // embedded broker, or nil
	local   *chstore.LocalServer // local ClickHouse child, or nil
	store   *chstore.Store       // nil: no ClickHouse
	metrics *pipeline.Metrics
	runner  *pipeline.Runner
	http    *pipeline.HTTPServer
	reports *reportsService // nil: misuse reports off
	// chMissing says why there is no ClickHouse, for the summary.
	chMissing string
	// closeEngine releases what the detectors hold (the photo fetcher).
	closeEngine func()
}

type envOptions struct {
	localClickHouseDir string // where a local server keeps its data; "" disables starting one
	migrate            bool
	// resetDatabase drops the database before migrating (the demo's own).
	resetDatabase bool
	// reports mounts the misuse-report intake when it is configured
	// (`waspada run`; the demo has none).
	reports bool
	// detectors configures the detectors; nil runs them on their defaults.
	detectors *detectorConfig
}

func startEnvironment(ctx context.Context, cfg *pipeline.Config, opt envOptions, stdout io.Writer, log *slog.Logger) (*environment, error) {
	env := &environment{metrics: pipeline.NewMetrics()}
	ok := false
	defer func() {
		if !ok {
			env.Close()
		}
	}()
	if len(cfg.Kafka.Brokers) == 0 {
		c, err := pipeline.StartEmbeddedKafka(cfg.Kafka.EmbeddedPort, cfg.Kafka.EmbeddedDataDir, cfg.Kafka.Partitions)
		if err != nil {
			return nil, err
		}
		env.kafka = c
		cfg.Kafka.Brokers = c.ListenAddrs()
		fmt.Fprintf(stdout, "embedded Kafka broker listening on %s (produce with: kcat -b %s -t %s -P -l FILE)\n",
			cfg.Kafka.Brokers[0], cfg.Kafka.Brokers[0], cfg.Kafka.RegistrationsTopic)
	}
	if err := pipeline.EnsureTopics(ctx, cfg.Kafka); err != nil {
		return nil, err
	}
	if cfg.ClickHouse.Addr == "" && opt.localClickHouseDir != "" {
		if chstore.FindServerBinary() == nil {
			env.chMissing = "no ClickHouse address given and no clickhouse-server or clickhouse binary on PATH"
		} else {
			fmt.Fprintf(stdout, "starting a local ClickHouse server (data in %s) ...\n", opt.localClickHouseDir)
			s, err := chstore.StartLocal(ctx, opt.localClickHouseDir)
			if err != nil {
				return nil, fmt.Errorf("local ClickHouse: %w", err)
			}
			env.local = s
			cfg.ClickHouse.Addr = s.Addr
		}
	} else if cfg.ClickHouse.Addr == "" {
		env.chMissing = "no ClickHouse address given"
	}
	if cfg.ClickHouse.Addr != "" {
		st, err := chstore.Open(ctx, cfg.ClickHouse)
		if err != nil {
			return nil, err
		}
		env.store = st
		v, _ := st.ServerVersion(ctx)
		fmt.Fprintf(stdout, "ClickHouse %s at %s, database %s\n", v, cfg.ClickHouse.Addr, cfg.ClickHouse.Database)
		if opt.resetDatabase {
			if err := st.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.ClickHouse.Database); err != nil {
				return nil, err
			}
		}
		if opt.migrate {
			applied, err := st.Migrate(ctx)
			if err != nil {
				return nil, err
			}
			if len(applied) > 0 {
				fmt.Fprintf(stdout, "applied schema migrations %v\n", applied)
			}
		}
	} else {
		fmt.Fprintf(stdout, "ClickHouse not available (%s): scores are published only to the %s topic, and detector state will not survive a restart\n",
			env.chMissing, cfg.Kafka.ScoresTopic)
	}
	dc := defaultDetectorConfig()
	if opt.detectors != nil {
		dc = *opt.detectors
	}
	eng, err := buildEngine(cfg.Rules.File, dc, env.metrics)
	if err != nil {
		return nil, err
	}
	env.closeEngine = eng.close
	env.runner = pipeline.NewRunner(*cfg, eng.Engine, env.store, env.metrics, log)
	if opt.reports {
		// Before the rebuild, which re-marks the stored reports as used.
		if env.reports, err = startReports(cfg, env.store, env.runner, env.metrics, stdout); err != nil {
			return nil, err
		}
	}
	if env.store != nil {
		start := time.Now()
		n, err := env.runner.Rebuild(ctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			fmt.Fprintf(stdout, "rebuilt detector state from %d stored events in %s\n", n, since(start))
		}
	}
	if cfg.HTTP.Listen != "" {
		var lookup pipeline.ScoreLookup
		if env.store != nil {
			lookup = env.store
		}
		handler := pipeline.Handler(env.metrics, env.runner.Ready, lookup, cfg.HTTP.APIToken)
		if env.reports != nil {
			handler = env.reports.mount(handler)
		}
		h, err := pipeline.ListenHTTP(cfg.HTTP.Listen, handler)
		if err != nil {
			return nil, fmt.Errorf("http: %w", err)
		}
		env.http = h
		fmt.Fprintf(stdout, "HTTP on http://%s (/healthz /readyz /metrics /v1/scores/{id})\n", h.Addr())
	}
	if env.reports != nil {
		if cfg.Reports.SMTPListen != "" {
			if err := env.reports.serveSMTP(); err != nil {
				return nil, err
			}
		}
		httpAddr := ""
		if env.http != nil {
			httpAddr = env.http.Addr()
		}
		env.reports.summary(*cfg, httpAddr, stdout)
	}
	env.cfg = *cfg
	ok = true
	return env, nil
}

// serve runs the pipeline until ctx is cancelled.
func (env *environment) serve(ctx context.Context, stdout io.Writer, log *slog.Logger) error {
	fmt.Fprintf(stdout, "consuming %s as group %s from %v\n", env.cfg.Kafka.RegistrationsTopic, env.cfg.Kafka.GroupID, env.cfg.Kafka.Brokers)
	err := env.runner.Run(ctx)
	st := env.runner.Stats()
	fmt.Fprintf(stdout, "stopped: %d events, %d dead letters, %d score versions, %d offsets committed\n",
		st.Events, st.DeadLetters, st.Scores, st.Committed)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (env *environment) Close() {
	if env.http != nil {
		env.http.Close()
	}
	if env.reports != nil {
		env.reports.Close()
	}
	if env.store != nil {
		env.store.Close()
	}
	if env.closeEngine != nil {
		env.closeEngine()
	}
	if env.local != nil {
		env.local.Stop()
	}
	if env.kafka != nil {
		env.kafka.Close()
	}
}

func defaultDataDir(name string) string {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return filepath.Join(os.TempDir(), "waspada", name)
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "waspada", name)
}
