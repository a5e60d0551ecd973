// Command waspada is the Waspada binary: the pipeline daemon and the tools
// around it. main only wires things together and is the only place that
// exits.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `waspada: streaming fraud and account-takeover detection for a registration wave.

Usage: waspada <command> [flags]

Commands:
  run        the pipeline daemon: Kafka registrations -> detectors -> rules -> ClickHouse + risk-scores topic
  demo       the whole pipeline on embedded defaults over a simulated wave, with a summary
  score      the same detectors and rules over a JSON-lines file, no Kafka or ClickHouse
  simulate   write a seedable, labelled synthetic registration wave
  migrate    apply the ClickHouse schema (run does this at start-up too)
  photos     hash photos and find near-duplicates in a folder
  reports    verify an email misuse report, issue a "not me" link
  bench      throughput against a baseline, and memory per registration
  evaluate   burst detection quality on a simulated wave: flagged per planted pattern, false alarms

Run 'waspada <command> -h' for the flags of each command.
`

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) int

func main() {
	commands := map[string]command{
		"run":      runRun,
		"demo":     runDemo,
		"score":    runScore,
		"simulate": runSimulate,
		"migrate":  runMigrate,
		"bench":    runBench,
		"photos":   runPhotos,
		"reports":  runReports,
		"evaluate": runEvaluate,
	}
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stdout, usage)
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		os.Exit(0)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "waspada: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
