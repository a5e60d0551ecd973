package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/waspada/waspada/pipeline"
)

const scoreHelp = `Usage: waspada score [-i events.jsonl] [-o scores.jsonl] [flags]

Runs the same detectors and rules as 'waspada run' over a JSON-lines file of
registration events (one event per line), with no Kafka or ClickHouse. For
backfills, rule experiments and tests. Deterministic: the same input and
rules give the same output, byte for byte.

Each output line is one score version (the risk-scores contract). Events
that cannot be processed go to --dead-letters (default: stderr) as JSON
lines with the reason; a summary goes to stderr.

Flags:
`

func runScore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("i", "-", "input events, JSON lines ('-' for stdin)")
	out := fs.String("o", "-", "output scores, JSON lines ('-' for stdout)")
	dead := fs.String("dead-letters", "", "dead-letter output file (default: stderr)")
	rulesFile := fs.String("rules", "", "rules file (default: the embedded rules, or rules.file of --config)")
	configFile := fs.String("config", "", "YAML config file: its rules and detector sections apply (Kafka and ClickHouse are not used)")
	photoRoot := fs.String("photo-root", "", "directory file:// document URIs must lie in (default: photo.fetch.root of --config)")
	batch := fs.Int("batch-events", pipeline.DefaultConfig().Batch.MaxEvents,
		"events per batch; events within a batch are processed in (occurred_at, event_id) order")
	quiet := fs.Bool("q", false, "no summary on stderr")
	flushEnd := fs.Bool("flush", true, "at the end of the input, judge windows still open (a running pipeline never does; -flush=false reproduces what it would have written so far)")
	fs.Usage = func() { fmt.Fprint(stderr, scoreHelp); fs.PrintDefaults() }
	if code, done := parse(fs, args); done {
		return code
	}
	if *batch < 1 {
		fmt.Fprintln(stderr, "waspada score: --batch-events must be at least 1")
		return 2
	}
	r, closeIn, err := openIn(*in)
	if err != nil {
		fmt.Fprintln(stderr, "waspada score:", err)
		return 1
	}
	defer closeIn()
	w, closeOut, err := openOut(*out, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "waspada score:", err)
		return 1
	}
	dw, closeDead, err := openOut(*dead, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "waspada score:", err)
		return 1
	}
	cfg, det := pipeline.DefaultConfig(), defaultDetectorConfig()
	if *configFile != "" {
		if cfg, det, err = loadConfigFile(*configFile); err != nil {
			fmt.Fprintln(stderr, "waspada score:", err)
			return 2
		}
	}
	if *rulesFile == "" {
		*rulesFile = cfg.Rules.File
	}
	if *photoRoot != "" {
		det.Photo.Fetch.Root = *photoRoot
	}
	eng, err := buildEngine(*rulesFile, det, nil)
	if err != nil {
		fmt.Fprintln(stderr, "waspada score:", err)
		return 1
	}
	defer eng.close()
	proc := &pipeline.Processor{Engine: eng.Engine, Limits: pipeline.EventLimits(cfg), MaxDeadPayload: cfg.Limits.MaxDeadPayload}
	sum := newSummary()
	start := time.Now()
	bw := bufio.NewWriterSize(w, 1<<16)
	write := func(res pipeline.Result) error {
		sum.add(res)
		for _, sc := range res.Scores {
			b, _ := json.Marshal(sc)
			bw.Write(b)
			bw.WriteByte('\n')
		}
		for _, d := range res.DeadLetters {
			b, _ := json.Marshal(d)
			fmt.Fprintf(dw, "%s\n", b)
		}
		return bw.Flush()
	}
	flush := func(msgs []pipeline.Message) error {
		res, err := proc.Process(ctx, msgs)
		if err != nil {
			// Offline there is no later retry: a document that cannot be
			// fetched now is reported, not silently skipped.
			return err
		}
		return write(res)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), cfg.Limits.MaxEventBytes*4)
	var msgs []pipeline.Message
	name := *in
	if name == "-" {
		name = "stdin"
	}
	line := 0
	for sc.Scan() {
		line++
		if ctx.Err() != nil {
			break
		}
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		msgs = append(msgs, pipeline.Message{Value: append([]byte(nil), b...), Source: name + ":" + strconv.Itoa(line)})
		if len(msgs) == *batch {
			if err := flush(msgs); err != nil {
				fmt.Fprintln(stderr, "waspada score:", err)
				return 1
			}
			msgs = msgs[:0]
		}
	}
	if err := sc.Err(); err != nil {
		// A line over the scanner's limit is reported with its position;
		// everything before it has been scored.
		fmt.Fprintf(stderr, "waspada score: %s:%d: %v\n", name, line+1, err)
		flush(msgs)
		return 1
	}
	if err := flush(msgs); err != nil {
		fmt.Fprintln(stderr, "waspada score:", err)
		return 1
	}
	// The input has ended: windows still open are judged now.
	if *flushEnd {
		if err := write(proc.Flush()); err != nil {
			fmt.Fprintln(stderr, "waspada score:", err)
			return 1
		}
	}
	if err := closeOut(); err != nil {
		fmt.Fprintln(stderr, "waspada score:", err)
		return 1
	}
	closeDead()
	if !*quiet {
		sum.print(stderr, time.Since(start))
	}
	return 0
}

// summary counts what a run produced, for the score and demo commands.
type summary struct {
	events, dead, scores int
	bands                map[string]int // latest band per registration is not known here: counts of versions
	signals              map[string]int
	deadReasons          map[string]int
}

func newSummary() *summary {
	return &summary{bands: map[string]int{}, signals: map[string]int{}, deadReasons: map[string]int{}}
}

func (s *summary) add(res pipeline.Result) {
	s.events += res.Events
	s.dead += len(res.DeadLetters)
	s.scores += len(res.Scores)
	for _, sc := range res.Scores {
		s.bands[string(sc.Band)]++
	}
	for _, sg := range res.Rows.Signals {
		s.signals[sg.Detector+"."+sg.Kind]++
	}
	for _, d := range res.DeadLetters {
		s.deadReasons[d.Reason]++
	}
}

func (s *summary) print(w io.Writer, took time.Duration) {
	fmt.Fprintf(w, "events in:      %d valid, %d dead letters\n", s.events, s.dead)
	fmt.Fprintf(w, "scores out:     %d score versions (allow %d, review %d, deny %d)\n", s.scores, s.bands["allow"], s.bands["review"], s.bands["deny"])
	printCounts(w, "signals:", s.signals)
	printCounts(w, "dead letters:", s.deadReasons)
	if took > 0 {
		fmt.Fprintf(w, "throughput:     %.0f events/s (%d events in %s)\n", float64(s.events+s.dead)/took.Seconds(), s.events+s.dead, took.Round(time.Millisecond))
	}
}

func printCounts(w io.Writer, title string, m map[string]int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		fmt.Fprintf(w, "%-15s none\n", title)
		return
	}
	fmt.Fprintf(w, "%s\n", title)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-40s %d\n", k, m[k])
	}
}

func openIn(path string) (io.Reader, func(), error) {
	if path == "-" || path == "" {
		return os.Stdin, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

func openOut(path string, def io.Writer) (io.Writer, func() error, error) {
	if path == "-" || path == "" {
		return def, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}
