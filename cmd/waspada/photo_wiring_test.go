package main

import (
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors/photo"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

// The wired engine finds the simulator's planted photo re-use through the
// documents' precomputed hashes, and leaves other registrations' photos
// alone: the photo path works end to end without image files.
func TestWiredPhotoDetectorFindsPlantedReuse(t *testing.T) {
	eng, err := buildEngine("", defaultDetectorConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.close()
	cfg := sim.DefaultConfig()
	cfg.Events, cfg.MeanRate, cfg.Fraud.PhotoReuse = 20000, 0.5, 0.04
	transform := map[string]string{} // registration -> planted transformation
	var last time.Time
	submitted := map[string]time.Time{}
	if err := sim.Generate(cfg, func(ev *event.Event, l sim.Label) error {
		if l.Fraud && l.Kinds[0] == sim.KindPhotoReuse {
			transform[ev.RegistrationID] = strings.TrimPrefix(l.Group, "photo:")
		}
		if ev.Type == event.Submitted {
			if _, ok := submitted[ev.RegistrationID]; !ok {
				submitted[ev.RegistrationID] = ev.OccurredAt
			}
		}
		last = ev.OccurredAt
		eng.Process(ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	found, planted := map[string]int{}, map[string]int{}
	falseAlarms := 0
	for reg, at := range submitted {
		var kinds []string
		for _, s := range eng.Signals(reg) {
			if s.Detector == photo.Name && s.Kind != photo.KindUnavailable && s.Kind != photo.KindUndecodable {
				kinds = append(kinds, s.Kind)
			}
		}
		tr, reused := transform[reg]
		switch {
		case reused && at.Before(last.Add(-15*time.Minute)): // uploads of later ones may be cut off
			planted[tr]++
			if len(kinds) > 0 {
				found[tr]++
			}
		case !reused && len(kinds) > 0:
			// the victim of a re-use is flagged too (it is the other side
			// of the pair); anything else is a false alarm
			victim := false
			for _, s := range eng.Signals(reg) {
				if _, ok := transform[s.Key]; ok {
					victim = true
				}
			}
			if !victim {
				falseAlarms++
				t.Errorf("%s: photo signals %v with no planted re-use", reg, kinds)
			}
		}
	}
	total, hit := 0, 0
	for tr, n := range planted {
		total += n
		hit += found[tr]
		t.Logf("%-14s %3d/%3d flagged", tr, found[tr], n)
	}
	if total < 50 || float64(hit)/float64(total) < 0.95 {
		t.Errorf("flagged %d of %d planted photo re-uses (by transformation %v of %v)", hit, total, found, planted)
	}
}
