package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/waspada/waspada/pipeline"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

const demoHelp = `Usage: waspada demo [flags]

The whole pipeline on embedded defaults, for a first look: an embedded Kafka
broker, a simulated registration wave (--events) plus two malformed events,
the pipeline (detectors, rules, sinks) consuming it, and a summary: events
in, scores out, signals per detector and kind, dead letters, throughput.

Scores go to ClickHouse when --clickhouse is given or a clickhouse-server
(or clickhouse) binary is on PATH, in which case a local server is started
in a temporary directory; the demo uses its own database (waspada_demo),
recreated on every run. Without ClickHouse it says so and scores stay on
the embedded risk-scores topic.

Flags:
`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	simCfg := sim.DefaultConfig()
	fs.IntVar(&simCfg.Events, "events", 5000, "number of simulated events")
	fs.Int64Var(&simCfg.Seed, "seed", simCfg.Seed, "simulation seed")
	// A slower wave than the simulator's default, so that a few thousand
	// events span minutes of event time: long enough for verification
	// clicks, document uploads (photo re-use) and burst windows to happen.
	simCfg.MeanRate = 0.5
	fs.Float64Var(&simCfg.MeanRate, "rate", simCfg.MeanRate, "mean organic registrations per second of the simulated wave")
	chAddr := fs.String("clickhouse", os.Getenv("WASPADA_CLICKHOUSE_ADDR"), "ClickHouse native address (empty: start a local server if one is on PATH)")
	keep := fs.Bool("keep", false, "keep the local ClickHouse data directory and print its path")
	verbose := fs.Bool("v", false, "log the pipeline's progress")
	fs.Usage = func() { fmt.Fprint(stderr, demoHelp); fs.PrintDefaults() }
	if code, done := parse(fs, args); done {
		return code
	}
	cfg := pipeline.DefaultConfig()
	cfg.ClickHouse.Addr = *chAddr
	cfg.ClickHouse.Database = "waspada_demo"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Batch.MaxWait = 200 * time.Millisecond
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	tmp, err := os.MkdirTemp("", "waspada-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "waspada demo:", err)
		return 1
	}
	if !*keep {
		defer os.RemoveAll(tmp)
	}
	fmt.Fprintf(stdout, "== Waspada demo: %d simulated events (seed %d) ==\n", simCfg.Events, simCfg.Seed)
	env, err := startEnvironment(ctx, &cfg, envOptions{localClickHouseDir: tmp + "/clickhouse", migrate: true, resetDatabase: true}, stdout, log)
	if err != nil {
		fmt.Fprintln(stderr, "waspada demo:", err)
		return 1
	}
	defer env.Close()
	total, err := produceDemoWave(ctx, cfg, simCfg)
	if err != nil {
		fmt.Fprintln(stderr, "waspada demo: producing the wave:", err)
		return 1
	}
	fmt.Fprintf(stdout, "produced %d events (including 2 malformed ones) to %s\n", total, cfg.Kafka.RegistrationsTopic)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- env.runner.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Minute)
	for env.runner.Stats().Committed < total && time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case err := <-done:
			fmt.Fprintln(stderr, "waspada demo: pipeline stopped early:", err)
			return 1
		case <-time.After(50 * time.Millisecond):
		}
	}
	took := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(stderr, "waspada demo:", err)
		return 1
	}
	st := env.runner.Stats()
	if st.Committed < total {
		fmt.Fprintf(stderr, "waspada demo: only %d of %d events were processed\n", st.Committed, total)
		return 1
	}
	printDemoSummary(ctx, stdout, env, st, took)
	if *keep && env.local != nil {
		fmt.Fprintf(stdout, "ClickHouse data kept in %s\n", tmp)
	}
	return 0
}

func produceDemoWave(ctx context.Context, cfg pipeline.Config, simCfg sim.Config) (int, error) {
	p := newTopicProducer(cfg.Kafka.Brokers, cfg.Kafka.RegistrationsTopic)
	n := 0
	err := sim.Generate(simCfg, func(ev *event.Event, _ sim.Label) error {
		b, err := sim.Encode(ev)
		if err != nil {
			return err
		}
		n++
		return p.add(ctx, ev.RegistrationID, b)
	})
	if err != nil {
		p.close(ctx)
		return n, err
	}
	// Two events the pipeline must dead-letter and move past.
	p.add(ctx, "R-bad-json", []byte(`{"event_id": "E-bad-1", "type": "registration.submitted", `))
	p.add(ctx, "R-bad-schema", []byte(`{"schema": "waspada.registration/v2", "event_id": "E-bad-2", "type": "registration.submitted"}`))
	n += 2
	return n, p.close(ctx)
}

func printDemoSummary(ctx context.Context, w io.Writer, env *environment, st pipeline.Stats, took time.Duration) {
	fmt.Fprintln(w, "\n== Summary ==")
	fmt.Fprintf(w, "events in:      %d (%d valid, %d dead letters)\n", st.Committed, st.Events, st.DeadLetters)
	fmt.Fprintf(w, "scores out:     %d score versions on topic %s (%d batches)\n", st.Scores, env.cfg.Kafka.ScoresTopic, st.Batches)
	printCounts(w, "signals (new or changed, by detector.kind):", st.Signals)
	printCounts(w, "dead letters (by reason):", st.DeadReasons)
	fmt.Fprintf(w, "throughput:     %.0f events/s end to end (%d events in %s, Kafka -> detectors -> rules -> sinks -> commit)\n",
		float64(st.Committed)/took.Seconds(), st.Committed, took.Round(time.Millisecond))
	if env.store == nil {
		fmt.Fprintf(w, "\nClickHouse was NOT available (%s).\nScores were published only to the embedded %s topic, which is gone when the demo exits.\n"+
			"Install clickhouse-server (Debian: apt-get install clickhouse-server) or pass --clickhouse host:port to see the tables.\n",
			env.chMissing, env.cfg.Kafka.ScoresTopic)
		return
	}
	db := env.cfg.ClickHouse.Database
	fmt.Fprintf(w, "\nClickHouse at %s, database %s. Tables: registrations, signals, risk_scores, risk_scores_latest (view), dead_letters.\n",
		env.cfg.ClickHouse.Addr, db)
	show := func(title, sql string) {
		cols, rows, err := env.store.Query(ctx, sql)
		if err != nil {
			fmt.Fprintf(w, "%s: query failed: %v\n", title, err)
			return
		}
		fmt.Fprintf(w, "\n%s\n  %s\n", title, sql)
		fmt.Fprintf(w, "  %s\n", strings.Join(cols, " | "))
		for _, r := range rows {
			line := strings.Join(r, " | ")
			if len(line) > 160 {
				line = line[:157] + "..."
			}
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	show("Current scores by band (what the selection service sees):",
		"SELECT band, count() AS registrations FROM "+db+".risk_scores_latest GROUP BY band ORDER BY band")
	show("Top of the review queue:",
		"SELECT registration_id, score, band, score_version, reason_kinds FROM "+db+".risk_scores_latest WHERE band != 'allow' ORDER BY score DESC, registration_id LIMIT 5")
	show("Dead letters:", "SELECT dead_letter_id, reason, detail FROM "+db+".dead_letters FINAL ORDER BY dead_letter_id")
	fmt.Fprintf(w, "\nMore analyst queries: see README (Analyst queries) and pipeline/chstore/queries/.\n")
}
