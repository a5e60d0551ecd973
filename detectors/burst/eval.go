package burst

import (
	"fmt"
	"slices"
	"strings"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

// Row is one line of an evaluation: a population of registrations and how
// many of them got at least one burst or ring signal.
type Row struct {
	Population    string         `json:"population"`
	Fraud         bool           `json:"fraud"`
	Registrations int            `json:"registrations"`
	Flagged       int            `json:"flagged"`
	ByKind        map[string]int `json:"by_kind"` // registrations flagged by each signal kind
}

// Rate is Flagged / Registrations (0 for an empty row).
func (r Row) Rate() float64 {
	if r.Registrations == 0 {
		return 0
	}
	return float64(r.Flagged) / float64(r.Registrations)
}

// Report is the outcome of Evaluate.
type Report struct {
	Events        int   `json:"events"`
	Registrations int   `json:"registrations"`
	Rows          []Row `json:"rows"`
	// Bots sums the planted bot patterns; Organic every legitimate
	// registration (plain, assisted, retry storms).
	Bots    Row   `json:"bots"`
	Organic Row   `json:"organic"`
	Stats   Stats `json:"stats"`
}

// Evaluate runs the detector over a simulated wave and reports, per planted
// pattern, the fraction of registrations flagged, and the false-alarm rate
// on organic registrations. Deterministic for a given pair of configs.
// Identity frauds (duplicate NIK and friends) are not burst patterns; they
// get their own rows and count in neither Bots nor Organic.
func Evaluate(sc sim.Config, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	d := New(cfg)
	pop := map[string]string{}              // registration -> population
	flagged := map[string]map[string]bool{} // registration -> signal kinds
	note := func(sigs []detectors.Signal) {
		for _, s := range sigs {
			m := flagged[s.RegistrationID]
			if m == nil {
				m = map[string]bool{}
				flagged[s.RegistrationID] = m
			}
			m[s.Kind] = true
		}
	}
	rep := Report{}
	err := sim.Generate(sc, func(ev *event.Event, l sim.Label) error {
		rep.Events++
		if _, ok := pop[ev.RegistrationID]; !ok && ev.Type == event.Submitted {
			p := "organic"
			if len(l.Kinds) > 0 {
				p = l.Kinds[0]
			}
			pop[ev.RegistrationID] = p
		}
		note(d.Observe(ev))
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	note(d.Flush())
	rows := map[string]*Row{}
	for reg, p := range pop {
		r := rows[p]
		if r == nil {
			r = &Row{Population: p, ByKind: map[string]int{}}
			r.Fraud = p != "organic" && p != sim.KindAssisted && p != sim.KindRetryStorm
			rows[p] = r
		}
		r.Registrations++
		if ks := flagged[reg]; len(ks) > 0 {
			r.Flagged++
			for k := range ks {
				r.ByKind[k]++
			}
		}
	}
	rep.Registrations = len(pop)
	rep.Bots = Row{Population: "all bot patterns", Fraud: true, ByKind: map[string]int{}}
	rep.Organic = Row{Population: "all organic", ByKind: map[string]int{}}
	order := append(slices.Clone(sim.BotKinds), sim.KindDuplicateNIK, sim.KindSamePersonOtherNIK,
		sim.KindInvalidNIK, sim.KindReusedEmail, "organic", sim.KindAssisted, sim.KindRetryStorm)
	for _, p := range order {
		r := rows[p]
		if r == nil {
			r = &Row{Population: p, Fraud: p != "organic" && p != sim.KindAssisted && p != sim.KindRetryStorm, ByKind: map[string]int{}}
		}
		rep.Rows = append(rep.Rows, *r)
		var sum *Row
		switch {
		case slices.Contains(sim.BotKinds, p):
			sum = &rep.Bots
		case !r.Fraud:
			sum = &rep.Organic
		default:
			continue
		}
		sum.Registrations += r.Registrations
		sum.Flagged += r.Flagged
		for k, n := range r.ByKind {
			sum.ByKind[k] += n
		}
	}
	// Populations the list above does not know (a label kind added to the
	// simulator later) still get a row, after the others, in neither sum.
	var rest []string
	for p := range rows {
		if !slices.Contains(order, p) {
			rest = append(rest, p)
		}
	}
	slices.Sort(rest)
	for _, p := range rest {
		rep.Rows = append(rep.Rows, *rows[p])
	}
	rep.Stats = d.Stats()
	return rep, nil
}

// Table renders the report for people.
func (r Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "events %d, registrations %d\n", r.Events, r.Registrations)
	fmt.Fprintf(&b, "%-28s %6s %13s %9s %8s  %s\n", "population", "fraud", "registrations", "flagged", "rate", "flagged by (registrations per signal kind)")
	line := func(row Row) {
		var ks []string
		for k, n := range row.ByKind {
			ks = append(ks, fmt.Sprintf("%s=%d", k, n))
		}
		slices.Sort(ks)
		fmt.Fprintf(&b, "%-28s %6v %13d %9d %8.4f  %s\n", row.Population, row.Fraud, row.Registrations, row.Flagged, row.Rate(), strings.Join(ks, " "))
	}
	for _, row := range r.Rows {
		line(row)
	}
	line(r.Bots)
	line(r.Organic)
	s := r.Stats
	fmt.Fprintf(&b, "state: keys=%d evicted_idle=%d evicted_cap=%d refused=%d late=%d future=%d windows=%d bursts=%d truncated=%d\n",
		s.Keys, s.EvictedIdle, s.EvictedCap, s.KeysRefused, s.Late, s.Future, s.WindowsClosed, s.Bursts, s.Truncated)
	return b.String()
}
