package burst

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config tunes the burst detector. Every threshold is a significance level
// against a baseline, except the floors that keep tiny counts out of the
// test (MinCount) and the ring size (Ring.MinSize).
type Config struct {
	// Windows are the tumbling event-time window lengths. Short windows
	// catch fast farms, long ones catch a slow drip that never stands out
	// in a minute.
	Windows []time.Duration
	// AllowedLateness is how far behind the largest occurred_at seen an
	// event may arrive and still be counted in its window.
	AllowedLateness time.Duration
	// MaxJump guards the watermark against one event from the far future:
	// an event more than MaxJump ahead of the largest occurred_at seen is
	// ignored (and counted) unless FutureStreak such events arrive in a row,
	// which means the stream itself has moved on. 0 disables the guard.
	MaxJump      time.Duration
	FutureStreak int

	// HalfLife is the memory of the baselines (per key and per class).
	HalfLife time.Duration
	// Warmup is the stream time, from the first window with events, during
	// which baselines learn and nothing is judged (no false burst at start).
	Warmup time.Duration

	// Alpha is the Poisson tail probability below which a key's window is
	// a burst; AlphaExtend the looser level for the windows next to a burst
	// (hysteresis, so an episode's edges are not cut off).
	Alpha       float64
	AlphaExtend float64
	// MinCount is the fewest distinct identities a key's window needs to be
	// judged at all; MinRatio the smallest observed/baseline ratio that can
	// be a burst (a heavy key's tiny relative excess is not a burst).
	MinCount int
	MinRatio float64

	Stream StreamConfig
	Ring   RingConfig
	Limits LimitsConfig
}

// StreamConfig judges the whole stream against its own moving baseline on
// log rates: a wave opening or a diurnal peak is a slow change, a farm that
// doubles the national rate within a window is not.
type StreamConfig struct {
	Enabled  bool
	Z        float64 // z-score of the log rate
	MinRatio float64 // and at least this multiple of the moving baseline
}

// RingConfig: proxy registrants ("joki"), one device or phone behind many
// distinct NIKs with distinct names.
type RingConfig struct {
	// MinSize is the ring size (distinct NIKs with distinct names) from
	// which every member gets a proxy_ring signal. Assisted registration by
	// relatives rarely passes 8.
	MinSize int
	// MaxMembers caps the members kept per ring (the earliest in event
	// order are kept, so the cap is order-independent).
	MaxMembers int
}

// LimitsConfig bounds memory.
type LimitsConfig struct {
	// MaxKeys caps the keys held across all classes. When it bites, idle
	// keys with the oldest activity are evicted (Stats.EvictedCap); if none
	// is idle, new keys are refused (Stats.KeysRefused).
	MaxKeys int
	// IdleTTL evicts keys without events for this long (event time).
	IdleTTL time.Duration
	// MaxMembers caps the registrations remembered per key and window (the
	// earliest in event order). Distinct counts stay exact up to
	// ExactDistinct, then use a HyperLogLog (about 3% error): heavy keys
	// are judged on counts far above the small numbers where exactness
	// matters, and the sketch keeps a busy window at 1 KiB per set.
	MaxMembers    int
	ExactDistinct int
	// EvidenceMembers caps the registration ids listed in one signal.
	EvidenceMembers int
}

// DefaultConfig: 1-minute and 1-hour windows, 2 minutes of lateness,
// 2-hour baseline half-life, 10 minutes of warm-up, alpha 1e-6.
func DefaultConfig() Config {
	return Config{
		Windows:         []time.Duration{time.Minute, time.Hour},
		AllowedLateness: 2 * time.Minute,
		MaxJump:         6 * time.Hour,
		FutureStreak:    1000,
		HalfLife:        2 * time.Hour,
		Warmup:          10 * time.Minute,
		Alpha:           1e-6,
		AlphaExtend:     0.02,
		MinCount:        5,
		MinRatio:        2,
		Stream:          StreamConfig{Enabled: true, Z: 6, MinRatio: 2},
		Ring:            RingConfig{MinSize: 10, MaxMembers: 200},
		Limits: LimitsConfig{MaxKeys: 4_000_000, IdleTTL: 6 * time.Hour,
			MaxMembers: 2048, ExactDistinct: 64, EvidenceMembers: 50},
	}
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(c.Windows) == 0 || len(c.Windows) > maxSizes {
		bad("windows: need 1 to %d window lengths, got %d", maxSizes, len(c.Windows))
	}
	for i, w := range c.Windows {
		if w < time.Second || w%time.Millisecond != 0 {
			bad("windows[%d]: must be a whole number of milliseconds >= 1s, got %v", i, w)
		}
	}
	if !slices.IsSorted(c.Windows) {
		bad("windows: must be in increasing order")
	}
	if c.AllowedLateness < 0 {
		bad("allowed_lateness: must be >= 0, got %v", c.AllowedLateness)
	}
	if c.MaxJump < 0 || (c.MaxJump > 0 && c.MaxJump <= c.AllowedLateness) {
		bad("max_jump: must be 0 (off) or more than allowed_lateness, got %v", c.MaxJump)
	}
	if c.MaxJump > 0 && c.FutureStreak < 1 {
		bad("future_streak: must be >= 1, got %d", c.FutureStreak)
	}
	if c.HalfLife <= 0 {
		bad("half_life: must be > 0, got %v", c.HalfLife)
	}
	if c.Warmup < 0 {
		bad("warmup: must be >= 0, got %v", c.Warmup)
	}
	if !(c.Alpha > 0 && c.Alpha < 1) {
		bad("alpha: must be in (0, 1), got %v", c.Alpha)
	}
	if !(c.AlphaExtend >= c.Alpha && c.AlphaExtend < 1) {
		bad("alpha_extend: must be in [alpha, 1), got %v", c.AlphaExtend)
	}
	if c.MinCount < 2 {
		bad("min_count: must be >= 2, got %d", c.MinCount)
	}
	if c.MinRatio < 1 {
		bad("min_ratio: must be >= 1, got %v", c.MinRatio)
	}
	if c.Stream.Enabled && (c.Stream.Z <= 0 || c.Stream.MinRatio < 1) {
		bad("stream: z must be > 0 and min_ratio >= 1, got %v and %v", c.Stream.Z, c.Stream.MinRatio)
	}
	if c.Ring.MinSize < 2 {
		bad("ring.min_size: must be >= 2, got %d", c.Ring.MinSize)
	}
	if c.Ring.MaxMembers < c.Ring.MinSize {
		bad("ring.max_members: must be >= ring.min_size, got %d", c.Ring.MaxMembers)
	}
	l := c.Limits
	if l.MaxKeys < 100 {
		bad("limits.max_keys: must be >= 100, got %d", l.MaxKeys)
	}
	if l.IdleTTL <= 0 {
		bad("limits.idle_ttl: must be > 0, got %v", l.IdleTTL)
	}
	if len(c.Windows) > 0 && l.IdleTTL < c.Windows[len(c.Windows)-1] {
		bad("limits.idle_ttl: must be >= the longest window, got %v", l.IdleTTL)
	}
	if l.MaxMembers < 1 {
		bad("limits.max_members: must be >= 1, got %d", l.MaxMembers)
	}
	if l.ExactDistinct < 8 {
		bad("limits.exact_distinct: must be >= 8, got %d", l.ExactDistinct)
	}
	if l.EvidenceMembers < 1 {
		bad("limits.evidence_members: must be >= 1, got %d", l.EvidenceMembers)
	}
	return errors.Join(errs...)
}
