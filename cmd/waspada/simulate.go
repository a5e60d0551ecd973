package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/waspada/waspada/pipeline"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

const simulateHelp = `Usage: waspada simulate [flags]

Writes a seedable synthetic registration wave as JSON lines (the event
contract), in (occurred_at, event_id) order: organic registrations with
retries, verification mails, document uploads, assisted registrations, and
planted frauds (duplicate NIK, same person under another NIK, invalid NIK,
re-used email, bot farms, joki rings). The same flags give the same bytes.

The labels (which events are planted frauds, of which kind and group) go to
--labels, one JSON object per event, so that detection quality can be
measured. With --brokers the events go straight to a Kafka topic instead.

Flags:
`

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := sim.DefaultConfig()
	fs.IntVar(&cfg.Events, "events", cfg.Events, "number of events to write (all types)")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	start := fs.String("start", cfg.Start.Format(time.RFC3339), "wave opening time (RFC 3339)")
	fs.Float64Var(&cfg.MeanRate, "rate", cfg.MeanRate, "mean organic registrations per second")
	fs.Float64Var(&cfg.Fraud.DuplicateNIK, "duplicate-nik", cfg.Fraud.DuplicateNIK, "fraction of registrations re-using an earlier NIK")
	fs.Float64Var(&cfg.Fraud.SamePersonOtherNIK, "same-person", cfg.Fraud.SamePersonOtherNIK, "fraction: same name and birth date under another NIK")
	fs.Float64Var(&cfg.Fraud.InvalidNIK, "invalid-nik", cfg.Fraud.InvalidNIK, "fraction with an invalid NIK structure")
	fs.Float64Var(&cfg.Fraud.ReusedEmail, "reused-email", cfg.Fraud.ReusedEmail, "fraction re-using an earlier registration's email")
	fs.Float64Var(&cfg.Fraud.PhotoReuse, "photo-reuse", cfg.Fraud.PhotoReuse, "fraction uploading an earlier registration's KTP photo or selfie, copied or transformed")
	fs.Float64Var(&cfg.Bots.Slash24, "bots-slash24", cfg.Bots.Slash24, "fraction planted by a /24 bot farm")
	fs.Float64Var(&cfg.Bots.RotatingIP, "bots-rotating", cfg.Bots.RotatingIP, "fraction planted by a rotating-IP farm with one device")
	fs.Float64Var(&cfg.Bots.SlowDrip, "bots-slow-drip", cfg.Bots.SlowDrip, "fraction planted by a slow drip")
	fs.Float64Var(&cfg.Bots.JokiRing, "joki", cfg.Bots.JokiRing, "fraction planted by joki (proxy registrant) rings")
	out := fs.String("o", "-", "events output file ('-' for stdout)")
	labels := fs.String("labels", "", "labels output file (JSON lines; empty: no labels)")
	brokers := fs.String("brokers", "", "write the events to Kafka at these brokers instead of -o")
	topic := fs.String("topic", pipeline.DefaultConfig().Kafka.RegistrationsTopic, "topic for --brokers")
	fs.Usage = func() { fmt.Fprint(stderr, simulateHelp); fs.PrintDefaults() }
	if code, done := parse(fs, args); done {
		return code
	}
	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(stderr, "waspada simulate: --start:", err)
		return 2
	}
	cfg.Start = t.UTC()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "waspada simulate: invalid configuration:\n"+err.Error())
		return 2
	}
	var lw *bufio.Writer
	if *labels != "" {
		f, closeF, err := openOut(*labels, nil)
		if err != nil {
			fmt.Fprintln(stderr, "waspada simulate:", err)
			return 1
		}
		defer closeF()
		lw = bufio.NewWriterSize(f, 1<<16)
		defer lw.Flush()
	}
	var sink func(b []byte, ev *event.Event) error
	var finish func() error
	if *brokers != "" {
		p := newTopicProducer(splitList(*brokers), *topic)
		sink = func(b []byte, ev *event.Event) error { return p.add(ctx, ev.RegistrationID, b) }
		finish = func() error { return p.close(ctx) }
	} else {
		w, closeW, err := openOut(*out, stdout)
		if err != nil {
			fmt.Fprintln(stderr, "waspada simulate:", err)
			return 1
		}
		bw := bufio.NewWriterSize(w, 1<<16)
		sink = func(b []byte, _ *event.Event) error {
			bw.Write(b)
			return bw.WriteByte('\n')
		}
		finish = func() error {
			if err := bw.Flush(); err != nil {
				return err
			}
			return closeW()
		}
	}
	n, frauds := 0, 0
	err = sim.Generate(cfg, func(ev *event.Event, l sim.Label) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b, err := sim.Encode(ev)
		if err != nil {
			return err
		}
		if err := sink(b, ev); err != nil {
			return err
		}
		n++
		if l.Fraud {
			frauds++
		}
		if lw != nil {
			lb, err := sim.EncodeLabel(l)
			if err != nil {
				return err
			}
			lw.Write(lb)
			lw.WriteByte('\n')
		}
		return nil
	})
	if ferr := finish(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintln(stderr, "waspada simulate:", err)
		return 1
	}
	fmt.Fprintf(stderr, "simulated %d events (%d in planted frauds), seed %d\n", n, frauds, cfg.Seed)
	return 0
}

// topicProducer writes events to Kafka in chunks, keyed by registration id
// so that one registration's events stay in order on one partition.
type topicProducer struct {
	w   *kafka.Writer
	buf []kafka.Message
}

func newTopicProducer(brokers []string, topic string) *topicProducer {
	return &topicProducer{w: pipeline.NewWriter(brokers, topic)}
}

func (p *topicProducer) add(ctx context.Context, key string, value []byte) error {
	p.buf = append(p.buf, kafka.Message{Key: []byte(key), Value: append([]byte(nil), value...)})
	if len(p.buf) >= 5000 {
		return p.flush(ctx)
	}
	return nil
}

func (p *topicProducer) flush(ctx context.Context) error {
	if len(p.buf) == 0 {
		return nil
	}
	err := p.w.WriteMessages(ctx, p.buf...)
	p.buf = p.buf[:0]
	return err
}

func (p *topicProducer) close(ctx context.Context) error {
	err := p.flush(ctx)
	if cerr := pipeline.CloseWriter(p.w); err == nil {
		err = cerr
	}
	return err
}
