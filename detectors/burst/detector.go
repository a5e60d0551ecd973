package burst

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
)

// Name is the detector name in signals.
const Name = "burst"

// Signal kinds: "<class>_burst" for a key whose window holds too many
// distinct identities for its baseline (ip_burst, ip24_burst, ip64_burst,
// device_burst, user_agent_burst, email_domain_burst, phone_prefix_burst,
// region_burst, stream_burst) and proxy_ring for one device or phone behind
// many distinct people.
const KindRing = "proxy_ring"

// BurstKind is the signal kind of a burst on a key class.
func BurstKind(c Class) string { return c.String() + "_burst" }

const maxSizes = 2

// Stats are counters for metrics; the pipeline reads them after Observe.
type Stats struct {
	Events        int64 // events observed
	Submissions   int64 // registration.submitted events counted (replays excluded)
	Late          int64 // submissions whose window (of some length) had closed
	Future        int64 // events ignored for being more than MaxJump ahead
	Keys          int   // keys held now
	EvictedIdle   int64 // keys evicted after IdleTTL without events
	EvictedCap    int64 // keys evicted because MaxKeys was reached
	KeysRefused   int64 // new keys refused because MaxKeys was reached and none was idle
	WindowsClosed int64 // key windows judged
	Bursts        int64 // key windows flagged (including extensions)
	Rings         int64 // ring signals emitted (per member, per growth)
	Truncated     int64 // registrations not remembered because a window hit MaxMembers
}

// Detector finds signup bursts and proxy rings. Not safe for concurrent use.
type Detector struct {
	cfg      Config
	sizes    []int64 // window lengths, ms
	decay    []float64
	lateness int64
	maxSeen  int64
	started  bool
	// hold caps maxSeen for the watermark (HoldWatermark); wm is the
	// watermark windows were last judged at.
	hold    int64
	holding bool
	wm      int64
	streak  int

	keys      [nClass]map[string]*keyState
	nkeys     int
	nextClose [maxSizes]int64
	first     [maxSizes]int64 // first window index with events; -1 before
	touched   [maxSizes]map[int64][]*keyState
	cls       [maxSizes]classStats
	stream    *keyState
	stats     Stats
	kb        keyBuf
	// seen holds the event ids of two generations of the longest window,
	// enough to recognise a replay of any event whose windows are open.
	seen, seenPrev map[uint64]struct{}
}

// classStats are the decayed baselines of one window length.
type classStats struct {
	streamHist float64 // decayed sum of stream counts T
	wins       float64 // decayed number of windows
	logMean    float64 // EWMA of ln T (stream test)
	logVar     float64
	mass       [nClass]float64 // decayed sum of per-key counts
	n          [nClass]float64 // decayed number of key windows
}

type keyState struct {
	class    Class
	key      string
	hist     [maxSizes]float64 // decayed history of this key's counts
	histAt   [maxSizes]int64
	open     []*window         // open windows of every length
	prev     [maxSizes]*window // the last judged window if it may join an episode
	lastSeen int64
	ring     *ring
	// the first registration of a device or phone, until a ring exists
	firstReg            string
	firstNIK, firstName uint64
}

type member struct {
	at        int64
	evh       uint64 // event id hash: the tie-break of the event order here
	reg       string
	nik, mail uint64
}

func memberLess(a, b member) int {
	if a.at != b.at {
		if a.at < b.at {
			return -1
		}
		return 1
	}
	switch {
	case a.evh < b.evh:
		return -1
	case a.evh > b.evh:
		return 1
	}
	return 0
}

type window struct {
	idx       int64
	size      int // index into Detector.sizes
	events    int // submissions (replays are dropped before counting)
	niks      distinct
	members   []member
	truncated int
	// set when judged
	x       int
	lambda  float64
	log10p  float64
	flagged bool
}

// New builds a detector; cfg must be valid (see Config.Validate).
func New(cfg Config) *Detector {
	d := &Detector{cfg: cfg, lateness: cfg.AllowedLateness.Milliseconds()}
	for i, w := range cfg.Windows {
		ms := w.Milliseconds()
		d.sizes = append(d.sizes, ms)
		d.decay = append(d.decay, math.Exp2(-float64(ms)/float64(cfg.HalfLife.Milliseconds())))
		d.first[i] = -1
		d.touched[i] = map[int64][]*keyState{}
	}
	for c := range d.keys {
		d.keys[c] = map[string]*keyState{}
	}
	d.stream = &keyState{class: ClassStream}
	d.seen, d.seenPrev = map[uint64]struct{}{}, map[uint64]struct{}{}
	return d
}

// Name is "burst".
func (d *Detector) Name() string { return Name }

// Stats returns the counters.
func (d *Detector) Stats() Stats {
	s := d.stats
	s.Keys = d.nkeys
	return s
}

// ReportStats gives Stats one value at a time, for metrics (the pipeline's
// optional StatsReporter): names ending in _total are counters.
func (d *Detector) ReportStats(report func(name, help string, value float64)) {
	s := d.Stats()
	report("keys", "Burst detector keys (IP, /24, /64, device, ...) held now.", float64(s.Keys))
	report("events_total", "Events the burst detector observed.", float64(s.Events))
	report("submissions_total", "Submissions counted in windows (replays excluded).", float64(s.Submissions))
	report("late_total", "Submissions whose window (of some length) had already been judged: left out of it.", float64(s.Late))
	report("future_total", "Events ignored for being more than max_jump ahead of the stream.", float64(s.Future))
	report("evicted_idle_total", "Keys evicted after idle_ttl without events.", float64(s.EvictedIdle))
	report("evicted_cap_total", "Keys evicted because max_keys was reached (the cap bites).", float64(s.EvictedCap))
	report("keys_refused_total", "New keys refused because max_keys was reached and no key was idle.", float64(s.KeysRefused))
	report("windows_closed_total", "Key windows judged.", float64(s.WindowsClosed))
	report("bursts_total", "Key windows flagged as bursts (including extensions).", float64(s.Bursts))
	report("ring_signals_total", "Proxy-ring signals emitted (per member, per growth step).", float64(s.Rings))
	report("truncated_total", "Registrations not remembered because a window held max_members.", float64(s.Truncated))
}

// Observe counts a registration.submitted event in the windows of its keys
// and its proxy rings, advances the watermark (the largest occurred_at seen
// minus AllowedLateness) with any event, and judges every window that the
// watermark passed. It returns the signals of registrations in windows
// found to be bursts and of ring members whose ring grew.
func (d *Detector) Observe(ev *event.Event) []detectors.Signal {
	d.stats.Events++
	t := ev.OccurredAt.UnixMilli()
	if !d.started {
		d.started = true
		d.maxSeen = t
		d.wm = t - d.lateness
		for i, s := range d.sizes {
			d.nextClose[i] = floorDiv(t-d.lateness, s)
		}
	} else if d.cfg.MaxJump > 0 && t > d.maxSeen+d.cfg.MaxJump.Milliseconds() {
		d.streak++
		if d.streak < d.cfg.FutureStreak {
			d.stats.Future++
			return nil
		}
	}
	d.streak = 0
	var out []detectors.Signal
	if ev.Type == event.Submitted {
		out = d.add(ev, t)
	}
	if t > d.maxSeen {
		d.maxSeen = t
	}
	if wm := d.watermark(); wm > d.wm {
		d.wm = wm
		out = append(out, d.advance(wm)...)
	}
	return out
}

// watermark is the largest occurred_at seen, held at the pipeline's
// low-water mark of its input partitions when it sets one, minus the
// allowed lateness.
func (d *Detector) watermark() int64 {
	t := d.maxSeen
	if d.holding && d.hold < t {
		t = d.hold
	}
	return t - d.lateness
}

// HoldWatermark implements pipeline.WatermarkHolder: until the next call,
// windows close only when t (the low-water mark of the input partitions)
// has passed them, however far ahead the largest occurred_at seen is. It
// only defers judgement; it never changes which window a submission
// counts in.
func (d *Detector) HoldWatermark(t time.Time) {
	d.hold, d.holding = t.UnixMilli(), true
}

// Flush judges every open window as if the stream had ended: call it at the
// end of a finite input (score, evaluation). Observing more events after
// Flush counts them as late.
func (d *Detector) Flush() []detectors.Signal {
	if !d.started {
		return nil
	}
	return d.advance(d.maxSeen + d.sizes[len(d.sizes)-1] + 1)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (d *Detector) add(ev *event.Event, t int64) []detectors.Signal {
	kb := &d.kb
	kb.fill(ev)
	evh := hash64(ev.EventID)
	if _, ok := d.seen[evh]; ok {
		return nil // a replay changes nothing
	}
	if _, ok := d.seenPrev[evh]; ok {
		return nil
	}
	d.seen[evh] = struct{}{}
	d.stats.Submissions++
	m := member{at: t, evh: evh, reg: ev.RegistrationID, nik: hash64(ev.NIK), mail: hash64(canonicalEmail(ev.Email))}
	var idx [maxSizes]int64
	late := false
	live := [maxSizes]bool{}
	for i, s := range d.sizes {
		idx[i] = floorDiv(t, s)
		live[i] = idx[i] >= d.nextClose[i]
		late = late || !live[i]
	}
	if late {
		d.stats.Late++
	}
	var out []detectors.Signal
	for c := Class(0); c < nClass; c++ {
		if !kb.has[c] {
			continue
		}
		var k *keyState
		if c == ClassStream {
			k = d.stream
		} else if k = d.key(c, kb.keys[c], t); k == nil {
			continue
		}
		if t > k.lastSeen {
			k.lastSeen = t
		}
		if c != ClassPhone {
			for i := range d.sizes {
				if live[i] {
					d.count(k, i, idx[i], evh, m)
				}
			}
		}
		if c == ClassDevice || c == ClassPhone {
			out = append(out, d.ringAdd(k, m, hash64(normName(ev.FullName)))...)
		}
	}
	return out
}

// key finds or creates the state of a key, enforcing MaxKeys.
func (d *Detector) key(c Class, v string, t int64) *keyState {
	if k := d.keys[c][v]; k != nil {
		return k
	}
	if d.nkeys >= d.cfg.Limits.MaxKeys {
		d.evictCap()
		if d.nkeys >= d.cfg.Limits.MaxKeys {
			d.stats.KeysRefused++
			return nil
		}
	}
	k := &keyState{class: c, key: string([]byte(v))} // own copy: do not pin the event
	for i := range k.histAt {
		k.histAt[i] = math.MinInt64
	}
	d.keys[c][k.key] = k
	d.nkeys++
	return k
}

func (d *Detector) count(k *keyState, i int, idx int64, evh uint64, m member) {
	var w *window
	for _, o := range k.open {
		if o.idx == idx && o.size == i {
			w = o
			break
		}
	}
	if w == nil {
		w = &window{idx: idx, size: i}
		k.open = append(k.open, w)
		d.touched[i][idx] = append(d.touched[i][idx], k)
	}
	lim := d.cfg.Limits
	w.events++
	w.niks.add(m.nik, lim.ExactDistinct)
	// Keep the earliest MaxMembers in event order (not in arrival order),
	// so that which registrations a truncated window signals is
	// order-independent too.
	if n := len(w.members); n == 0 || memberLess(w.members[n-1], m) < 0 {
		if n < lim.MaxMembers {
			w.members = append(w.members, m)
			return
		}
	} else {
		pos, _ := slices.BinarySearchFunc(w.members, m, memberLess)
		w.members = slices.Insert(w.members, pos, m)
		if len(w.members) <= lim.MaxMembers {
			return
		}
		w.members = w.members[:lim.MaxMembers]
	}
	w.truncated++
	d.stats.Truncated++
}

// advance closes, in index order, every window that ends at or before wm.
func (d *Detector) advance(wm int64) []detectors.Signal {
	var out []detectors.Signal
	for i, s := range d.sizes {
		for (d.nextClose[i]+1)*s <= wm {
			out = append(out, d.close(i, d.nextClose[i])...)
			d.nextClose[i]++
			if i == len(d.sizes)-1 {
				// Sweep at window ends, not at arrival-dependent times.
				d.sweep(d.nextClose[i] * s)
				d.seenPrev, d.seen = d.seen, make(map[uint64]struct{}, len(d.seen))
			}
		}
	}
	if len(out) > 1 {
		slices.SortFunc(out, func(a, b detectors.Signal) int {
			if a.RegistrationID != b.RegistrationID {
				if a.RegistrationID < b.RegistrationID {
					return -1
				}
				return 1
			}
			if a.Kind != b.Kind {
				if a.Kind < b.Kind {
					return -1
				}
				return 1
			}
			switch {
			case a.Key < b.Key:
				return -1
			case a.Key > b.Key:
				return 1
			}
			return 0
		})
	}
	return out
}

func takeWindow(k *keyState, i int, idx int64) *window {
	for j, o := range k.open {
		if o.idx == idx && o.size == i {
			k.open = slices.Delete(k.open, j, j+1)
			if len(k.open) == 0 {
				k.open = nil
			}
			return o
		}
	}
	return nil
}

// personalClass marks key classes that belong to one subscriber or one
// handset: a device id, a /64, a block of 1000 phone numbers. No organic key
// of these classes is heavy, so they are judged against the class baseline
// alone (the typical count of an active key, scaled by the stream) from the
// first window on. Their own history is not used: a farm that was already
// running when the detector started would otherwise be learnt as normal.
// Shared classes (IP, /24, user agent, email domain, region) have heavy
// organic keys (carrier NAT, Gmail, Java) and need their own history, hence
// the warm-up.
// warmupClip bounds what one window may teach a shared key's history
// during the warm-up, in multiples of the class's typical key.
const warmupClip = 4

var personalClass = [nClass]bool{ClassDevice: true, ClassIP64: true, ClassPhonePrefix: true}

// close judges window idx of length i for every key that had events in it.
// It reads only baselines built from earlier windows and updates them with
// integer sums, so the outcome does not depend on the order in which the
// keys or their events arrived.
func (d *Detector) close(i int, idx int64) []detectors.Signal {
	keys := d.touched[i][idx]
	delete(d.touched[i], idx)
	sw := takeWindow(d.stream, i, idx)
	T := 0
	if sw != nil {
		T = sw.niks.count()
	}
	cs := &d.cls[i]
	if d.first[i] < 0 {
		if T == 0 {
			return nil
		}
		d.first[i] = idx
	}
	dec := d.decay[i]
	size := d.sizes[i]
	warmWins := max(int64(1), (d.cfg.Warmup.Milliseconds()+size-1)/size)
	warm := idx-d.first[i] >= warmWins && cs.wins > 0
	tbar := 0.0
	if cs.wins > 0 {
		tbar = cs.streamHist / cs.wins
	}
	var out []detectors.Signal
	var sumMass, sumN [nClass]int64
	logAlpha, logExt := math.Log10(d.cfg.Alpha), math.Log10(d.cfg.AlphaExtend)
	// First pass: this window's counts, and per class the mean count of an
	// active key in this very window (the cross-sectional baseline that
	// personal classes use before any history exists).
	type judged struct {
		k *keyState
		w *window
	}
	js := make([]judged, 0, len(keys))
	var nowMass, nowN [nClass]int64
	for _, k := range keys {
		w := takeWindow(k, i, idx)
		if w == nil {
			continue
		}
		w.x = w.niks.count()
		nowMass[k.class] += int64(w.x)
		nowN[k.class]++
		js = append(js, judged{k, w})
	}
	for _, j := range js {
		k, w := j.k, j.w
		d.stats.WindowsClosed++
		x := w.x
		// hk is this key's history as of the previous window, like the
		// class baselines it is compared with.
		hk := 0.0
		if k.histAt[i] != math.MinInt64 {
			hk = k.hist[i] * math.Pow(dec, float64(idx-1-k.histAt[i]))
		}
		contrib := float64(x)
		cm := int64(x)
		personal := personalClass[k.class]
		if !warm && !personal && x >= 2 {
			// Learning, not judging: a key may teach its history at most
			// warmupClip times what it or a typical key of its class
			// would expect now, so a farm that starts during the warm-up
			// is not learnt as normal, while Gmail or a busy carrier NAT
			// block (heavy from the first window on) is learnt in full.
			if n := cs.n[k.class]; n > 0 && tbar > 0 {
				own := 0.0
				if cs.streamHist > 0 {
					own = float64(T) * hk / cs.streamHist
				}
				clip := warmupClip * max(1, own, cs.mass[k.class]/n*float64(T)/tbar)
				if float64(x) > clip {
					contrib = clip
					cm = int64(math.Ceil(clip))
				}
			}
		}
		if (warm || personal) && x >= 2 {
			lam := 0.0
			if cs.streamHist > 0 && !personal {
				lam = float64(T) * hk / cs.streamHist
			}
			if n := cs.n[k.class]; n > 0 && tbar > 0 {
				lam = max(lam, cs.mass[k.class]/n*float64(T)/tbar)
			} else if personal && nowN[k.class] > 0 {
				lam = max(lam, float64(nowMass[k.class])/float64(nowN[k.class]))
			}
			lam = max(lam, 0.05)
			w.lambda = lam
			w.log10p = poissonLog10SF(x, lam)
			p := k.prev[i]
			adjacent := p != nil && p.idx == idx-1
			switch {
			case x >= d.cfg.MinCount && float64(x) >= d.cfg.MinRatio*lam && w.log10p < logAlpha:
				w.flagged = true
			case adjacent && p.flagged && float64(x) > lam && w.log10p < logExt:
				w.flagged = true // the episode goes on
			}
			if w.flagged {
				contrib = math.Min(float64(x), lam)
				cm = min(int64(x), int64(math.Ceil(lam)))
				out = append(out, d.burstSignals(k, i, w)...)
				if adjacent && !p.flagged && float64(p.x) > p.lambda && p.log10p < logExt {
					p.flagged = true // the episode started a window earlier
					out = append(out, d.burstSignals(k, i, p)...)
				}
			}
		}
		k.hist[i] = hk*dec + contrib
		k.histAt[i] = idx
		sumMass[k.class] += cm
		sumN[k.class]++
		// Keep the window only while it may still join an episode.
		if w.flagged || (x >= 2 && float64(x) > w.lambda && w.log10p < logExt) {
			k.prev[i] = w
		} else {
			k.prev[i] = nil
		}
	}
	// The whole stream against its own moving baseline on log rates.
	streamFlag := false
	if d.cfg.Stream.Enabled && warm && T > 0 && tbar > 0 {
		sd := math.Sqrt(max(cs.logVar, 1/tbar))
		z := (math.Log(float64(T)) - cs.logMean) / sd
		if z >= d.cfg.Stream.Z && float64(T) >= d.cfg.Stream.MinRatio*tbar {
			streamFlag = true
			sw.x, sw.lambda, sw.flagged = T, tbar, true
			sw.log10p = poissonLog10SF(T, tbar)
			out = append(out, d.burstSignals(d.stream, i, sw)...)
		}
	}
	// Update the baselines with this window.
	tv := float64(T)
	if streamFlag {
		tv = tbar
	}
	a := 1 - dec
	if tv > 0 {
		if cs.wins == 0 {
			cs.logMean = math.Log(tv)
		} else {
			dl := math.Log(tv) - cs.logMean
			cs.logMean += a * dl
			cs.logVar = (1 - a) * (cs.logVar + a*dl*dl)
		}
	}
	cs.streamHist = cs.streamHist*dec + tv
	cs.wins = cs.wins*dec + 1
	for c := range nClass {
		cs.mass[c] = cs.mass[c]*dec + float64(sumMass[c])
		cs.n[c] = cs.n[c]*dec + float64(sumN[c])
	}
	return out
}

// burstSignals gives one signal per registration in a flagged window.
func (d *Detector) burstSignals(k *keyState, i int, w *window) []detectors.Signal {
	d.stats.Bursts++
	var regs []string
	seen := map[string]bool{}
	for _, m := range w.members { // already in event order
		if !seen[m.reg] {
			seen[m.reg] = true
			regs = append(regs, m.reg)
		}
	}
	size := d.sizes[i]
	start := time.UnixMilli(w.idx * size).UTC()
	end := start.Add(time.Duration(size) * time.Millisecond)
	listed := regs
	if len(listed) > d.cfg.Limits.EvidenceMembers {
		listed = listed[:d.cfg.Limits.EvidenceMembers]
	}
	kind := BurstKind(k.class)
	key := k.class.String() + ":" + k.key + "@" + start.Format(time.RFC3339) + "/" + time.Duration(size*1e6).String()
	ev := map[string]any{
		"key_class":           k.class.String(),
		"key":                 k.key,
		"window_start":        start.Format(time.RFC3339),
		"window_end":          end.Format(time.RFC3339),
		"window_seconds":      int(size / 1000),
		"count":               w.events,
		"distinct_identities": w.x,
		"distinct_emails":     distinctMails(w.members),
		"baseline":            round3(w.lambda),
		"ratio":               round3(float64(w.x) / w.lambda),
		// The share of the window's identities above the baseline: the
		// chance that any one member belongs to the excess. A rotating
		// farm lifting a popular user agent gives a real burst whose
		// members are mostly organic (low excess_fraction).
		"excess_fraction": round3(max(0, 1-w.lambda/float64(max(w.x, 1)))),
		"p_value":         math.Pow(10, w.log10p),
		"score":           round3(-w.log10p),
		"members":         listed,
		"members_total":   len(regs) + w.truncated,
		"approximate":     w.niks.approximate(),
	}
	out := make([]detectors.Signal, 0, len(regs))
	for _, r := range regs {
		out = append(out, detectors.Signal{RegistrationID: r, Detector: Name, Kind: kind, Key: key, Evidence: ev})
	}
	return out
}

func round3(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

// ---- proxy rings ----

// ring is the people behind one device or phone. Its size is the number of
// distinct NIKs with distinct names; members are told in steps (MinSize,
// then doublings up to MaxMembers) rather than at every new member, so a
// ring of n costs O(n log n) signals, and every member's final signal
// carries the same step whatever the arrival order: a member that joins
// after the last step gets it at once, earlier members get it when the
// step is reached.
type ring struct {
	niks, names, regSet distinct
	regs                []string // registrations to re-signal, up to MaxMembers
	step                int
}

func (d *Detector) ringStep(size int) int {
	rc := d.cfg.Ring
	if size < rc.MinSize {
		return 0
	}
	s := rc.MinSize
	for s*2 <= size && s*2 <= rc.MaxMembers {
		s *= 2
	}
	return min(s, rc.MaxMembers)
}

func (d *Detector) ringAdd(k *keyState, m member, name uint64) []detectors.Signal {
	exact := d.cfg.Limits.ExactDistinct
	r := k.ring
	if r == nil {
		// Most devices and phones carry one person: keep that person inline
		// and build a ring only when a second registration shows up.
		if k.firstReg == "" || k.firstReg == m.reg {
			k.firstReg, k.firstNIK, k.firstName = m.reg, m.nik, name
			return nil
		}
		r = &ring{}
		k.ring = r
		r.regSet.add(hash64(k.firstReg), exact)
		r.niks.add(k.firstNIK, exact)
		r.names.add(k.firstName, exact)
		r.regs = append(r.regs, k.firstReg)
		k.firstReg = ""
	}
	newReg := r.regSet.add(hash64(m.reg), exact)
	r.niks.add(m.nik, exact)
	r.names.add(name, exact)
	if newReg && len(r.regs) < d.cfg.Ring.MaxMembers {
		r.regs = append(r.regs, m.reg)
	}
	step := d.ringStep(min(r.niks.count(), r.names.count()))
	var targets []string
	switch {
	case step > r.step:
		r.step = step
		targets = r.regs
		if newReg && len(r.regs) == d.cfg.Ring.MaxMembers && r.regs[len(r.regs)-1] != m.reg {
			targets = append(slices.Clone(targets), m.reg)
		}
	case step > 0 && newReg:
		targets = []string{m.reg}
	default:
		return nil
	}
	ev := map[string]any{
		"key_class":     k.class.String(),
		"key":           k.key,
		"size_at_least": r.step,
		"min_size":      d.cfg.Ring.MinSize,
	}
	key := k.class.String() + ":" + k.key
	out := make([]detectors.Signal, 0, len(targets))
	for _, reg := range targets {
		out = append(out, detectors.Signal{RegistrationID: reg, Detector: Name, Kind: KindRing, Key: key, Evidence: ev})
	}
	d.stats.Rings += int64(len(out))
	return out
}

// ---- bounded state ----

// sweep evicts keys idle for IdleTTL (no open window, no event since).
func (d *Detector) sweep(wm int64) {
	ttl := d.cfg.Limits.IdleTTL.Milliseconds()
	for c := range d.keys {
		// A /64 or a phone block keeps nothing worth having once its
		// windows are judged (personal classes use no history and feed no
		// ring), so it goes as soon as it cannot join an episode.
		early := Class(c) == ClassIP64 || Class(c) == ClassPhonePrefix
		for v, k := range d.keys[c] {
			if len(k.open) > 0 {
				continue
			}
			if k.lastSeen < wm-ttl || (early && d.settled(k)) {
				delete(d.keys[c], v)
				d.nkeys--
				d.stats.EvictedIdle++
			}
		}
	}
}

// settled reports whether no judged window of k may still join an episode.
func (d *Detector) settled(k *keyState) bool {
	for i, p := range k.prev {
		if p != nil && i < len(d.sizes) && p.idx >= d.nextClose[i]-1 {
			return false
		}
	}
	return true
}

// evictCap makes room when MaxKeys is reached: it evicts the idle keys
// with the oldest activity, down to 90% of the cap. The cut is a
// lastSeen threshold, so which keys go does not depend on map order.
func (d *Detector) evictCap() {
	var seen []int64
	for c := range d.keys {
		for _, k := range d.keys[c] {
			if len(k.open) == 0 {
				seen = append(seen, k.lastSeen)
			}
		}
	}
	need := d.nkeys - d.cfg.Limits.MaxKeys*9/10
	if len(seen) == 0 || need <= 0 {
		return
	}
	sort.Slice(seen, func(a, b int) bool { return seen[a] < seen[b] })
	cut := seen[min(need, len(seen))-1]
	for c := range d.keys {
		for v, k := range d.keys[c] {
			if len(k.open) == 0 && k.lastSeen <= cut {
				delete(d.keys[c], v)
				d.nkeys--
				d.stats.EvictedCap++
			}
		}
	}
}

// distinctMails counts canonical emails among the remembered members.
func distinctMails(ms []member) int {
	seen := make(map[uint64]struct{}, len(ms))
	for _, m := range ms {
		seen[m.mail] = struct{}{}
	}
	return len(seen)
}
