package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/waspada/waspada/pipeline"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

const benchHelp = `Usage: waspada bench pipeline|memory [flags]

  pipeline  throughput through Kafka -> detectors -> rules -> sinks -> commit,
            against a baseline measured in the same run on the same topic:
            a kafka-go consumer-group reader that fetches and commits per
            batch and does nothing else. Prints both rates and their ratio.
            With no --brokers it uses an embedded broker; with --clickhouse
            the scores go to ClickHouse (database waspada_bench, recreated).
  memory    heap bytes per registration held by the engine (every detector's
            state, the signal book and score versions) after N simulated
            events, measured after a forced GC.

Flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "pipeline" && args[0] != "memory") {
		fmt.Fprint(stderr, benchHelp)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	mode := args[0]
	fs := flag.NewFlagSet("bench "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	events := fs.Int("events", 100000, "simulated events")
	brokers := fs.String("brokers", "", "Kafka brokers (empty: embedded broker)")
	ch := fs.String("clickhouse", "", "ClickHouse native address (empty: no ClickHouse sink)")
	batch := fs.Int("batch-events", pipeline.DefaultConfig().Batch.MaxEvents, "events per batch")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	perDetector := fs.Bool("per-detector", false, "memory: also measure each detector alone (one more pass per detector)")
	fs.Usage = func() { fmt.Fprint(stderr, benchHelp); fs.PrintDefaults() }
	if code, done := parse(fs, args[1:]); done {
		return code
	}
	simCfg := sim.DefaultConfig()
	simCfg.Events = *events
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "waspada bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "waspada bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if mode == "memory" {
		return benchMemory(simCfg, *perDetector, stdout, stderr)
	}
	return benchPipeline(ctx, simCfg, splitList(*brokers), *ch, *batch, stdout, stderr)
}

func benchMemory(simCfg sim.Config, perDetector bool, stdout, stderr io.Writer) int {
	eng, err := buildEngine("", defaultDetectorConfig(), nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer eng.close()
	bytes, took, err := heapAfter(simCfg, eng.Engine)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	regs := eng.Registrations()
	fmt.Fprintf(stdout, "events:            %d (%d registrations)\n", simCfg.Events, regs)
	fmt.Fprintf(stdout, "engine heap:       %.1f MiB\n", float64(bytes)/(1<<20))
	fmt.Fprintf(stdout, "per registration:  %.0f bytes (all detectors, signal book, score versions)\n", float64(bytes)/float64(regs))
	fmt.Fprintf(stdout, "engine throughput: %.0f events/s (encode + decode + detectors + rules, one goroutine)\n", float64(simCfg.Events)/took.Seconds())
	if !perDetector {
		return 0
	}
	rs, n := eng.RuleSet(), len(eng.Detectors())
	runtime.KeepAlive(eng) // and no further: the passes below measure from a heap without it
	// Each detector alone (with the signal book and versions its signals
	// cause), over the same wave.
	for i := range n {
		dets, closeDets, err := newDetectors(defaultDetectorConfig())
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		one := pipeline.NewEngine(rs, dets[i])
		dets = nil
		b, _, err := heapAfter(simCfg, one)
		closeDets()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "  %-10s %6.0f bytes per registration\n", one.Detectors()[0].Name(), float64(b)/float64(regs))
		runtime.KeepAlive(one)
	}
	return 0
}

// heapAfter streams a simulated wave into eng and returns the live heap it
// added. The generator keeps only pending follow-up events, so what is left
// on the heap at the end is the engine's own state.
func heapAfter(simCfg sim.Config, eng *pipeline.Engine) (uint64, time.Duration, error) {
	before := heapBytes()
	start := time.Now()
	err := sim.Generate(simCfg, func(ev *event.Event, _ sim.Label) error {
		b, err := sim.Encode(ev)
		if err != nil {
			return err
		}
		dec, err := event.Decode(b)
		if err != nil {
			return err
		}
		eng.Process(dec)
		return nil
	})
	took := time.Since(start)
	after := heapBytes()
	if after < before {
		after = before
	}
	return after - before, took, err
}

func heapBytes() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func benchPipeline(ctx context.Context, simCfg sim.Config, brokers []string, chAddr string, batch int, stdout, stderr io.Writer) int {
	cfg := pipeline.DefaultConfig()
	cfg.Kafka.Brokers = brokers
	cfg.HTTP.Listen = ""
	cfg.Batch.MaxEvents = batch
	cfg.Batch.MaxWait = 200 * time.Millisecond
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e9)
	cfg.Kafka.RegistrationsTopic = "bench." + suffix + ".registrations"
	cfg.Kafka.ScoresTopic = "bench." + suffix + ".risk-scores"
	cfg.Kafka.DeadLettersTopic = "bench." + suffix + ".dead-letters"
	cfg.ClickHouse.Addr = chAddr
	cfg.ClickHouse.Database = "waspada_bench"
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	env, err := startEnvironment(ctx, &cfg, envOptions{migrate: true, resetDatabase: chAddr != ""}, stdout, log)
	if err != nil {
		fmt.Fprintln(stderr, "waspada bench:", err)
		return 1
	}
	defer env.Close()
	n, err := produceDemoWave(ctx, cfg, simCfg)
	if err != nil {
		fmt.Fprintln(stderr, "waspada bench:", err)
		return 1
	}
	fmt.Fprintf(stdout, "produced %d events to %s\n", n, cfg.Kafka.RegistrationsTopic)

	baseCfg := cfg.Kafka
	baseCfg.GroupID = "bench-baseline-" + suffix
	baseRate, err := consumeOnly(ctx, baseCfg, n, batch)
	if err != nil {
		fmt.Fprintln(stderr, "waspada bench: baseline:", err)
		return 1
	}
	cfg.Kafka.GroupID = "bench-pipeline-" + suffix
	runner := pipeline.NewRunner(cfg, mustEngine(), env.store, env.metrics, log)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- runner.Run(runCtx) }()
	for runner.Stats().Committed < n && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(stderr, "waspada bench:", err)
		return 1
	}
	rate := float64(n) / took.Seconds()
	sinks := "risk-scores topic"
	if env.store != nil {
		sinks += " + ClickHouse " + cfg.ClickHouse.Addr
	}
	fmt.Fprintf(stdout, "baseline (fetch + commit only):          %8.0f events/s\n", baseRate)
	fmt.Fprintf(stdout, "pipeline (detectors, rules, %s): %8.0f events/s\n", sinks, rate)
	fmt.Fprintf(stdout, "ratio pipeline/baseline:                 %8.2f\n", rate/baseRate)
	if env.store != nil {
		st := runner.Stats()
		fmt.Fprintf(stdout, "written: %d events, %d score versions, %d dead letters in %d batches\n", st.Events, st.Scores, st.DeadLetters, st.Batches)
	}
	fmt.Fprintf(stdout, "where the time went (s, of %.1f):   %s\n", took.Seconds(), sinkSeconds(env.metrics))
	return 0
}

// sinkSeconds sums waspada_sink_seconds by step ("prepare" is decoding,
// preparing and the detectors; the others are the writes).
func sinkSeconds(m *pipeline.Metrics) string {
	mfs, err := m.Registry.Gather()
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, mf := range mfs {
		if mf.GetName() != "waspada_sink_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				parts = append(parts, fmt.Sprintf("%s %.1f", l.GetValue(), mt.GetHistogram().GetSampleSum()))
			}
		}
	}
	return strings.Join(parts, ", ")
}

func mustEngine() *pipeline.Engine {
	eng, err := buildEngine("", defaultDetectorConfig(), nil)
	if err != nil {
		panic(err) // the embedded rules and defaults are validated by tests
	}
	return eng.Engine // its fetcher has no root: nothing to close
}

// consumeOnly is the baseline: the same consumer-group reader, batching and
// per-batch commit as the pipeline, with no processing and no sinks.
func consumeOnly(ctx context.Context, kc pipeline.KafkaConfig, n, batch int) (float64, error) {
	r := pipeline.NewReader(kc)
	defer r.Close()
	start := time.Now()
	var msgs []kafka.Message
	got := 0
	for got < n {
		fctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		m, err := r.FetchMessage(fctx)
		cancel()
		if err == nil {
			msgs = append(msgs, m)
			got++
		} else if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if len(msgs) == batch || (err != nil && len(msgs) > 0) || got == n {
			if err := r.CommitMessages(ctx, msgs...); err != nil {
				return 0, err
			}
			msgs = msgs[:0]
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
