package sim

import (
	"errors"
	"fmt"
	"time"
)

// Config decides the size, shape and fraud mix of a simulated wave. The same
// Config (Seed included) always gives the same stream, byte for byte.
type Config struct {
	// Seed selects the stream; everything random derives from it.
	Seed int64
	// Events is the exact number of events Generate emits (all types).
	Events int
	// Start is the wave opening (UTC); the first registration comes at Start.
	Start time.Time
	// MeanRate is organic registrations per second averaged over a day,
	// before the opening surge. Kartu Prakerja's first day averaged ~19/s.
	MeanRate float64

	Wave    WaveConfig
	Organic OrganicConfig
	Fraud   FraudMix
	Bots    BotMix
}

// WaveConfig is the shape of the organic arrival rate: a diurnal curve in
// WIB (UTC+7) with a morning and an evening peak, times an opening surge
// that decays exponentially.
type WaveConfig struct {
	// Surge is the extra multiple of the rate at the opening: 4 means the
	// first minutes run at 5x the diurnal rate.
	Surge float64
	// SurgeDecay is the e-folding time of the surge.
	SurgeDecay time.Duration
	// NightFloor is the rate at the diurnal trough relative to the peak (0..1).
	NightFloor float64
}

// OrganicConfig describes legitimate behaviour, including the parts that
// look suspicious but are not fraud (retries, assisted registration).
type OrganicConfig struct {
	VerifyFraction   float64 // registrations that get a verification email
	VerifiedFraction float64 // of those, the ones that click the link
	DocumentFraction float64 // registrations that upload KTP and selfie
	RetryFraction    float64 // registrations re-submitted once or twice
	// StormFraction is the share of registrations on a bad network that
	// re-submit and re-upload many times from one IP (label retry_storm).
	StormFraction float64
	// AssistedFraction is the share of registrations that start an
	// assisted group: a relative or village helper registers 2..AssistedMax
	// real people from one device and IP (label assisted, not fraud).
	AssistedFraction float64
	AssistedMax      int
	IPv6Fraction     float64 // registrations from a mobile IPv6 address
	HomeFraction     float64 // registrations from fixed broadband (else mobile CGNAT)
	PayoutFraction   float64 // registrations that later set a payout account
}

// FraudMix gives the share of organic registrations turned into planted
// identity frauds of each kind (see the Kind constants).
type FraudMix struct {
	DuplicateNIK       float64 // re-uses an earlier registration's NIK
	SamePersonOtherNIK float64 // same name and birth date as an earlier one, another NIK
	InvalidNIK         float64 // bad province code or impossible date digits
	ReusedEmail        float64 // an earlier registration's email with another NIK
	PhotoReuse         float64 // an earlier registration's KTP photo or selfie, copied or transformed
}

// BotMix gives the share of all registrations planted by each bot pattern.
// Farms are scheduled at seeded times across the expected span of the wave;
// a pattern whose share gives fewer than MinFarmSize registrations plants
// nothing.
type BotMix struct {
	Slash24    float64 // one hosting /24 fans out at 40-200 registrations/min
	RotatingIP float64 // residential-proxy IPs, one device fingerprint
	SlowDrip   float64 // one every 2-5 min for hours, IPs and devices rotate, SIMs from one block
	JokiRing   float64 // a proxy registrant enters 12-40 villagers from his device and phone
	// MinFarmSize is the smallest farm worth planting.
	MinFarmSize int
}

// DefaultConfig is a 10,000-event wave opening at 2026-04-11T00:00Z (07:00
// WIB) with a few percent of each fraud kind and bot pattern.
func DefaultConfig() Config {
	return Config{
		Seed:     1,
		Events:   10000,
		Start:    time.Date(2026, 4, 11, 0, 0, 0, 0, time.UTC),
		MeanRate: 20,
		Wave:     WaveConfig{Surge: 4, SurgeDecay: 3 * time.Hour, NightFloor: 0.08},
		Organic: OrganicConfig{
			VerifyFraction: 0.97, VerifiedFraction: 0.8, DocumentFraction: 0.9,
			RetryFraction: 0.1, StormFraction: 0.02,
			AssistedFraction: 0.02, AssistedMax: 8,
			IPv6Fraction: 0.12, HomeFraction: 0.3, PayoutFraction: 0.3,
		},
		Fraud: FraudMix{DuplicateNIK: 0.01, SamePersonOtherNIK: 0.005, InvalidNIK: 0.01, ReusedEmail: 0.01, PhotoReuse: 0.01},
		Bots:  BotMix{Slash24: 0.01, RotatingIP: 0.01, SlowDrip: 0.005, JokiRing: 0.005, MinFarmSize: 5},
	}
}

// Validate lists every problem with the config.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Events < 0 {
		bad("events: must be >= 0, got %d", c.Events)
	}
	if c.Start.IsZero() {
		bad("start: must be set")
	}
	if !(c.MeanRate > 0) || c.MeanRate > 1e6 {
		bad("mean_rate: must be in (0, 1e6], got %v", c.MeanRate)
	}
	if c.Wave.Surge < 0 || c.Wave.Surge > 100 {
		bad("wave.surge: must be in [0, 100], got %v", c.Wave.Surge)
	}
	if c.Wave.Surge > 0 && c.Wave.SurgeDecay <= 0 {
		bad("wave.surge_decay: must be > 0 when surge > 0, got %v", c.Wave.SurgeDecay)
	}
	if c.Wave.NightFloor <= 0 || c.Wave.NightFloor > 1 {
		bad("wave.night_floor: must be in (0, 1], got %v", c.Wave.NightFloor)
	}
	frac := func(name string, v float64) {
		if !(v >= 0 && v <= 1) {
			bad("%s: must be a fraction in [0, 1], got %v", name, v)
		}
	}
	o := c.Organic
	frac("organic.verify_fraction", o.VerifyFraction)
	frac("organic.verified_fraction", o.VerifiedFraction)
	frac("organic.document_fraction", o.DocumentFraction)
	frac("organic.retry_fraction", o.RetryFraction)
	frac("organic.storm_fraction", o.StormFraction)
	frac("organic.assisted_fraction", o.AssistedFraction)
	frac("organic.ipv6_fraction", o.IPv6Fraction)
	frac("organic.home_fraction", o.HomeFraction)
	frac("organic.payout_fraction", o.PayoutFraction)
	if o.IPv6Fraction+o.HomeFraction > 1 {
		bad("organic: ipv6_fraction + home_fraction must be <= 1, got %v", o.IPv6Fraction+o.HomeFraction)
	}
	if o.AssistedFraction > 0 && o.AssistedMax < 2 {
		bad("organic.assisted_max: must be >= 2 when assisted_fraction > 0, got %d", o.AssistedMax)
	}
	f := c.Fraud
	frac("fraud.duplicate_nik", f.DuplicateNIK)
	frac("fraud.same_person_other_nik", f.SamePersonOtherNIK)
	frac("fraud.invalid_nik", f.InvalidNIK)
	frac("fraud.reused_email", f.ReusedEmail)
	frac("fraud.photo_reuse", f.PhotoReuse)
	if s := f.DuplicateNIK + f.SamePersonOtherNIK + f.InvalidNIK + f.ReusedEmail + f.PhotoReuse; s > 0.5 {
		bad("fraud: fractions sum to %v, must be <= 0.5", s)
	}
	b := c.Bots
	frac("bots.slash24", b.Slash24)
	frac("bots.rotating_ip", b.RotatingIP)
	frac("bots.slow_drip", b.SlowDrip)
	frac("bots.joki_ring", b.JokiRing)
	if s := b.Slash24 + b.RotatingIP + b.SlowDrip + b.JokiRing; s > 0.5 {
		bad("bots: fractions sum to %v, must be <= 0.5", s)
	}
	if b.MinFarmSize < 1 {
		bad("bots.min_farm_size: must be >= 1, got %d", b.MinFarmSize)
	}
	return errors.Join(errs...)
}
