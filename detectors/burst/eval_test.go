package burst

import (
	"flag"
	"testing"

	"github.com/waspada/waspada/pipeline/sim"
)

var (
	evalEvents = flag.Int("eval.events", 0, "run TestEvaluateWave on a wave of this many events (about 5.3 events per registration)")
	evalRate   = flag.Float64("eval.rate", 0, "with eval.events: the wave's mean organic registrations per second (default sim.DefaultConfig)")
)

func TestEvaluateWave(t *testing.T) {
	sc := sim.DefaultConfig()
	sc.Events = 400000
	sc.MeanRate = 1 // a long, thin wave (about a day): many windows, bots of every pattern
	if *evalEvents > 0 {
		sc = sim.DefaultConfig()
		sc.Events = *evalEvents
		if *evalRate > 0 {
			sc.MeanRate = *evalRate
		}
	} else if testing.Short() {
		t.Skip("evaluation is slow")
	}
	rep, err := Evaluate(sc, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Table())
	if rep.Bots.Registrations == 0 {
		t.Fatal("no bot registrations planted")
	}
	if r := rep.Bots.Rate(); r < 0.95 {
		t.Errorf("flagged %.4f of bot registrations, want >= 0.95", r)
	}
	if r := rep.Organic.Rate(); r > 0.01 {
		t.Errorf("false alarms on %.4f of organic registrations, want <= 0.01", r)
	}
}
