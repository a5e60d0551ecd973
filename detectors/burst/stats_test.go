package burst

import (
	"strings"
	"testing"
)

// ReportStats gives every counter of Stats under its metric name, and the
// cap biting shows as evicted_cap_total.
func TestReportStats(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limits.MaxKeys = 2000
	d := New(cfg)
	run(d, background(180, flat, 6))
	s := d.Stats()
	got := map[string]float64{}
	d.ReportStats(func(name, help string, v float64) {
		if _, dup := got[name]; dup || help == "" || strings.ContainsAny(name, " -.") {
			t.Errorf("name %q help %q", name, help)
		}
		got[name] = v
	})
	want := map[string]int64{"keys": int64(s.Keys), "events_total": s.Events, "submissions_total": s.Submissions,
		"late_total": s.Late, "future_total": s.Future, "evicted_idle_total": s.EvictedIdle,
		"evicted_cap_total": s.EvictedCap, "keys_refused_total": s.KeysRefused, "windows_closed_total": s.WindowsClosed,
		"bursts_total": s.Bursts, "ring_signals_total": s.Rings, "truncated_total": s.Truncated}
	if len(got) != len(want) {
		t.Errorf("reported %v, want the %d values of Stats", got, len(want))
	}
	for k, v := range want {
		if got[k] != float64(v) {
			t.Errorf("%s = %v, want %d", k, got[k], v)
		}
	}
	if got["evicted_cap_total"] == 0 {
		t.Errorf("the cap did not bite: %+v", s)
	}
}
