package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/waspada/waspada/detectors/burst"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

const evaluateHelp = `Usage: waspada evaluate [flags]

Measures the burst detector's detection quality: generates a seeded,
labelled wave (the same generator as 'waspada simulate'), runs the burst
detector over it in event order, and prints, per planted pattern, how many
registrations got at least one burst or proxy_ring signal, then the sum over
the bot patterns (the detection rate) and over organic registrations (plain,
assisted, retry storms: the false-alarm rate). Identity frauds (duplicate
NIK and friends) are not burst patterns; their rows are for information.

The same flags give the same table. Only the detector core runs: no Kafka,
ClickHouse or rules. Timing goes to stderr.

  waspada evaluate --registrations 1000000 --rate 20

Flags:
`

// evaluateOutput is the --json document: the wave that was measured and
// the report.
type evaluateOutput struct {
	Wave struct {
		Seed     int64     `json:"seed"`
		Events   int       `json:"events"`
		Rate     float64   `json:"rate"`
		Start    time.Time `json:"start"`
		Slash24  float64   `json:"bots_slash24"`
		Rotating float64   `json:"bots_rotating"`
		SlowDrip float64   `json:"bots_slow_drip"`
		Joki     float64   `json:"joki"`
	} `json:"wave"`
	Report burst.Report `json:"report"`
}

func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sc := sim.DefaultConfig()
	bc := burst.DefaultConfig()
	fs.IntVar(&sc.Events, "events", sc.Events, "number of events in the wave (all types; about 5.3 per registration)")
	regs := fs.Int("registrations", 0, "about this many registrations instead of --events (the events are found by generating the wave first; the report gives the exact count)")
	fs.Int64Var(&sc.Seed, "seed", sc.Seed, "random seed")
	start := fs.String("start", sc.Start.Format(time.RFC3339), "wave opening time (RFC 3339)")
	fs.Float64Var(&sc.MeanRate, "rate", sc.MeanRate, "mean organic registrations per second (lower: a longer, thinner wave)")
	fs.Float64Var(&sc.Bots.Slash24, "bots-slash24", sc.Bots.Slash24, "fraction planted by a /24 bot farm")
	fs.Float64Var(&sc.Bots.RotatingIP, "bots-rotating", sc.Bots.RotatingIP, "fraction planted by a rotating-IP farm with one device")
	fs.Float64Var(&sc.Bots.SlowDrip, "bots-slow-drip", sc.Bots.SlowDrip, "fraction planted by a slow drip")
	fs.Float64Var(&sc.Bots.JokiRing, "joki", sc.Bots.JokiRing, "fraction planted by joki (proxy registrant) rings")
	fs.Float64Var(&bc.Alpha, "alpha", bc.Alpha, "burst detector: Poisson tail probability below which a window is a burst")
	fs.IntVar(&bc.Limits.MaxKeys, "max-keys", bc.Limits.MaxKeys, "burst detector: keys held at most (evictions when the cap bites show in the state line)")
	asJSON := fs.Bool("json", false, "print the wave and the report as JSON instead of a table")
	fs.Usage = func() { fmt.Fprint(stderr, evaluateHelp); fs.PrintDefaults() }
	if code, done := parse(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "waspada evaluate: unexpected arguments %v\n", fs.Args())
		return 2
	}
	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(stderr, "waspada evaluate: --start:", err)
		return 2
	}
	sc.Start = t.UTC()
	if err := sc.Validate(); err != nil {
		fmt.Fprintln(stderr, "waspada evaluate: invalid wave:\n"+err.Error())
		return 2
	}
	if err := bc.Validate(); err != nil {
		fmt.Fprintln(stderr, "waspada evaluate: invalid burst configuration:\n"+err.Error())
		return 2
	}
	if *regs < 0 {
		fmt.Fprintln(stderr, "waspada evaluate: --registrations must be >= 0")
		return 2
	}
	if *regs > 0 {
		n, err := eventsFor(sc, *regs)
		if err != nil {
			fmt.Fprintln(stderr, "waspada evaluate:", err)
			return 1
		}
		sc.Events = n
	}
	if ctx.Err() != nil {
		return 1
	}
	began := time.Now()
	rep, err := burst.Evaluate(sc, bc)
	if err != nil {
		fmt.Fprintln(stderr, "waspada evaluate:", err)
		return 1
	}
	fmt.Fprintf(stderr, "evaluated %d events in %s\n", rep.Events, since(began))
	if *asJSON {
		var out evaluateOutput
		w := &out.Wave
		w.Seed, w.Events, w.Rate, w.Start = sc.Seed, sc.Events, sc.MeanRate, sc.Start
		w.Slash24, w.Rotating, w.SlowDrip, w.Joki = sc.Bots.Slash24, sc.Bots.RotatingIP, sc.Bots.SlowDrip, sc.Bots.JokiRing
		out.Report = rep
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(stderr, "waspada evaluate:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "wave: seed %d, %d events, mean rate %g registrations/s, opening %s\n",
		sc.Seed, sc.Events, sc.MeanRate, sc.Start.Format(time.RFC3339))
	fmt.Fprint(stdout, rep.Table())
	fmt.Fprintf(stdout, "detection rate (all bot patterns) %.4f, false-alarm rate (all organic) %.4f\n", rep.Bots.Rate(), rep.Organic.Rate())
	return 0
}

// eventsFor finds a number of events whose wave holds at least regs
// registrations (and at most 1% more). The events per registration depend
// on the whole wave (its length shapes the farms and the diurnal curve), so
// the wave itself is generated, without the detector, and the count
// corrected until it fits: two or three rounds.
func eventsFor(sc sim.Config, regs int) (int, error) {
	events := regs * 5
	for range 8 {
		sc.Events = events
		seen := map[string]struct{}{}
		err := sim.Generate(sc, func(ev *event.Event, _ sim.Label) error {
			if ev.Type == event.Submitted {
				seen[ev.RegistrationID] = struct{}{}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		n := len(seen)
		if n >= regs && n <= regs+regs/100 {
			return events, nil
		}
		if n == 0 {
			return 0, fmt.Errorf("a wave of %d events holds no registration", events)
		}
		events = int(math.Ceil(float64(events) * float64(regs) * 1.002 / float64(n)))
	}
	return events, nil
}
