package identity

import (
	"slices"
	"strconv"
	"strings"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
)

// Detector finds NIK problems and identity reuse across registrations.
// It is not safe for concurrent use (the pipeline serialises calls).
type Detector struct {
	cfg    Config
	titles map[string]bool

	ar    arena
	pages [][]reg
	n     int

	byID  map[uint64]uint32 // xxhash(registration_id) -> registration
	byIDx map[string]uint32 // ids whose hash collided with an earlier id
	more  map[uint32][]claim
	nik   map[uint64]uint32 // NIK key -> registration, or groupBit|nikGroups index
	// person: hash(normalised name, birth date) -> registration, or
	// groupBit|personGroups index. A 64-bit hash collision between two
	// different people is accepted (about 3e-6 for 10M registrations).
	person       map[uint64]uint32
	nikGroups    []nikGroup
	personGroups []personGroup
	rawNIKs      map[uint64]string

	buf []claim
}

// New returns an empty detector. Fields of cfg that fail Validate fall back
// to DefaultConfig's values; call Validate at startup to report them.
func New(cfg Config) *Detector {
	def := DefaultConfig()
	if cfg.Evidence.MaxIDs < 1 || cfg.Evidence.MaxIDs > 1000 {
		cfg.Evidence.MaxIDs = def.Evidence.MaxIDs
	}
	if cfg.Evidence.MaxRawNIKBytes < 16 || cfg.Evidence.MaxRawNIKBytes > 4096 {
		cfg.Evidence.MaxRawNIKBytes = def.Evidence.MaxRawNIKBytes
	}
	// No size hints: a pre-sized swiss map measured 15% more bytes per
	// registration at 1M (it rounds up to a power of two at once), and
	// no faster, than one grown table by table.
	d := &Detector{cfg: cfg, titles: map[string]bool{},
		byID: map[uint64]uint32{}, nik: map[uint64]uint32{}, person: map[uint64]uint32{}}
	for _, t := range cfg.Names.Titles {
		d.titles[t] = true
	}
	return d
}

// Name is the detector name used in signals and rules ("identity").
func (d *Detector) Name() string { return DetectorName }

// Len is the number of registrations in the state.
func (d *Detector) Len() int { return d.n }

// Observe takes one event and returns the signals it produced or changed:
// the per-event NIK findings of the submission, every current
// cross-registration signal of its registration, and those of other
// registrations whose evidence it changed. Only registration.submitted
// events are read; others return nil. The result is sorted by Signal.ID.
//
// Observing an event again changes no state; it returns the event's
// findings and its registration's current signals, which are the values
// last returned for those signal ids.
func (d *Detector) Observe(ev *event.Event) []detectors.Signal {
	if ev == nil || ev.Type != event.Submitted || ev.RegistrationID == "" {
		return nil
	}
	out := d.checkEvent(ev)

	c := claim{
		nik:   d.nikKey(ev.NIK),
		at:    ev.OccurredAt.UnixNano(),
		name:  hash64(NormalizeName(ev.FullName, d.titles)),
		birth: packBirth(ev.BirthDate),
		email: hash32(normalizeEmail(ev.Email)),
		phone: hash32(normalizePhone(ev.Phone)),
	}
	ri, found := d.lookup(ev.RegistrationID)
	changed, moved := false, false
	var oldPerson uint64
	if !found {
		c.ev = d.ar.add(ev.EventID)
		ri = d.newReg(ev.RegistrationID, c)
		changed = true
	} else if p := d.claimFor(ri, c.nik); p == nil {
		c.ev = d.ar.add(ev.EventID)
		d.addClaim(ri, c)
		changed = true
	} else if d.lessEvent(c.at, ev.EventID, p) {
		// An earlier submission arrived late: it is the claim now.
		oldPerson = personKey(p)
		c.ev = d.ar.add(ev.EventID)
		c.extra = p.extra
		*p = c
		changed, moved = true, true
	}
	// else: a replay, or a retry later than the claim: no state change.

	var nikShared bool
	pk := personKey(&c)
	if changed {
		nikShared = d.placeNIK(c.nik, ri)
		if oldPerson != 0 && oldPerson != pk {
			d.removePerson(oldPerson, ri, c.nik)
		}
		d.placePerson(pk, ri, c.nik)
	}

	out = d.regSignals(ri, out, true)
	if changed {
		if nikShared {
			out = d.refreshNIK(d.nikGroup(c.nik), ri, moved, out)
		}
		out = d.refreshPerson(d.personGroup(pk), ri, c.nik, moved, out)
		if oldPerson != 0 && oldPerson != pk {
			out = d.refreshPerson(d.personGroup(oldPerson), ri, c.nik, true, out)
		}
	}
	return sortDedup(out)
}

// Signals returns the current cross-registration signals of a registration
// (duplicate_nik, nik_reused_later, nik_changed_on_resubmit,
// same_person_other_nik), sorted by ID. The per-event NIK findings are not
// kept in the state. Read-only.
func (d *Detector) Signals(registrationID string) []detectors.Signal {
	ri, ok := d.lookup(registrationID)
	if !ok {
		return nil
	}
	return sortDedup(d.regSignals(ri, nil, false))
}

// regSignals appends every current cross-registration signal of ri; with
// record it also stores their fingerprints as emitted.
func (d *Detector) regSignals(ri uint32, out []detectors.Signal, record bool) []detectors.Signal {
	cs := slices.Clone(d.claimsOf(ri))
	if len(cs) > 1 {
		out = append(out, d.changedSignal(ri, cs))
	}
	var seen []uint64
	for k := range cs {
		if g := d.nikGroup(cs[k].nik); g != nil {
			for i := range g.members {
				if g.members[i].reg != ri {
					continue
				}
				fp, s := d.dupSignal(g, i, true)
				if s != nil {
					out = append(out, *s)
				}
				fl, s2 := d.laterSignal(g, i, true)
				if s2 != nil {
					out = append(out, *s2)
				}
				if record {
					g.members[i].fpDup, g.members[i].fpLat = fp, fl
				}
			}
		}
		pk := personKey(&cs[k])
		if slices.Contains(seen, pk) {
			continue
		}
		seen = append(seen, pk)
		if g := d.personGroup(pk); g != nil {
			view := d.personView(g)
			fp, s := d.personSignal(g, ri, view, true)
			if s != nil {
				out = append(out, *s)
			}
			if record {
				for i := range g.members {
					if g.members[i].reg == ri {
						g.members[i].fp = fp
					}
				}
			}
		}
	}
	return out
}

// refreshNIK re-derives the signals of other members of a NIK group after
// self joined it (or, with moved, changed its claim) and appends those whose
// evidence changed; only changed signals are built.
//
// A new member at position q can change only: the nik_reused_later lists of
// the K+1 members before it (their window of K later ids, or their
// more_later flag), and the duplicate_nik lists of the members after it if
// q < K (the first K earlier ids). So a hot NIK costs O(K) per event, not
// O(group). A moved claim (rare) refreshes the whole group.
func (d *Detector) refreshNIK(g *nikGroup, self uint32, moved bool, out []detectors.Signal) []detectors.Signal {
	if g == nil {
		return out
	}
	k := d.cfg.Evidence.MaxIDs
	q := slices.IndexFunc(g.members, func(m nikMember) bool { return m.reg == self })
	for i := range g.members {
		m := &g.members[i]
		if m.reg == self {
			continue
		}
		if !moved && i < q && i < q-k-1 {
			continue
		}
		if !moved && i > q && q > k {
			break
		}
		if fp, _ := d.dupSignal(g, i, false); fp != m.fpDup {
			m.fpDup = fp
			if _, s := d.dupSignal(g, i, true); s != nil {
				out = append(out, *s)
			}
		}
		if fp, _ := d.laterSignal(g, i, false); fp != m.fpLat {
			m.fpLat = fp
			if _, s := d.laterSignal(g, i, true); s != nil {
				out = append(out, *s)
			}
		}
	}
	return out
}

// refreshPerson is refreshNIK for a person group. Others' evidence lists
// the first K+1 other registrations and depends on whether the group holds
// two NIKs; a new claim of a registration beyond the first K+2 in a group
// that already had two NIKs changes nobody else's evidence and is skipped.
func (d *Detector) refreshPerson(g *personGroup, self uint32, nik uint64, moved bool, out []detectors.Signal) []detectors.Signal {
	if g == nil {
		return out
	}
	view := d.personView(g)
	if !view.distinctNIKs {
		// One NIK in the whole group: every member's only NIK, so nobody
		// has the signal, now or before (members are only added).
		return out
	}
	if !moved && !view.complete && !slices.Contains(view.firstRegs, self) && d.hadTwoNIKs(g, self, nik) {
		return out
	}
	for i := range g.members {
		m := &g.members[i]
		if m.reg == self {
			continue
		}
		// One signal per registration: handle it at its first member. Only
		// a registration with several claims can appear twice.
		if d.regAt(m.reg).first.extra != 0 && slices.ContainsFunc(g.members[:i], func(o personMember) bool { return o.reg == m.reg }) {
			continue
		}
		fp, _ := d.personSignal(g, m.reg, view, false)
		if fp == m.fp {
			continue
		}
		for j := i; j < len(g.members); j++ {
			if g.members[j].reg == m.reg {
				g.members[j].fp = fp
			}
		}
		if _, s := d.personSignal(g, m.reg, view, true); s != nil {
			out = append(out, *s)
		}
	}
	return out
}

// hadTwoNIKs reports whether the group, without claim (self, nik), holds
// two different NIKs.
func (d *Detector) hadTwoNIKs(g *personGroup, self uint32, nik uint64) bool {
	first, have := uint64(0), false
	for _, m := range g.members {
		if m.reg == self && m.nik == nik {
			continue
		}
		if !have {
			first, have = m.nik, true
		} else if m.nik != first {
			return true
		}
	}
	return false
}

// fingerprint accumulator (FNV-style mixing of integers).
type fpAcc uint64

func (f *fpAcc) add(v uint64) { *f = fpAcc(fmix64(uint64(*f)*0x100000001b3 ^ v)) }

func (f fpAcc) sum() uint64 {
	if f == 0 {
		return 1
	}
	return uint64(f)
}

// differs compares two claims field by field (normalised values).
func differs(a, b *claim) (bits uint64, fields []string) {
	if a.name != b.name {
		bits |= 1
	}
	if a.birth != b.birth {
		bits |= 2
	}
	if a.email != b.email {
		bits |= 4
	}
	if a.phone != b.phone {
		bits |= 8
	}
	fields = []string{}
	for k, name := range [...]string{"name", "birth_date", "email", "phone"} {
		if bits&(1<<k) != 0 {
			fields = append(fields, name)
		}
	}
	return bits, fields
}

// dupSignal: duplicate_nik of member i of a NIK group. fp is 0 when the
// signal is absent (i is the first claimant).
func (d *Detector) dupSignal(g *nikGroup, i int, build bool) (uint64, *detectors.Signal) {
	if i == 0 {
		return 0, nil
	}
	k := d.cfg.Evidence.MaxIDs
	self := d.claimFor(g.members[i].reg, g.nik)
	n := min(i, k)
	var f fpAcc = 1
	var ids []string
	var diff map[string]any
	if build {
		ids = make([]string, 0, n)
		diff = make(map[string]any, n)
	}
	for j := 0; j < n; j++ {
		o := g.members[j].reg
		bits, fields := differs(self, d.claimFor(o, g.nik))
		f.add(uint64(o))
		f.add(bits)
		if build {
			id := d.ar.str(d.regAt(o).id)
			ids = append(ids, id)
			diff[id] = fields
		}
	}
	more := i > k
	if more {
		f.add(1)
	}
	if !build {
		return f.sum(), nil
	}
	return f.sum(), &detectors.Signal{RegistrationID: d.ar.str(d.regAt(g.members[i].reg).id), Detector: DetectorName,
		Kind: KindDuplicateNIK, Key: d.nikText(g.nik), Evidence: map[string]any{
			"nik": d.nikText(g.nik), "earlier": ids, "differs": diff, "more_earlier": more}}
}

// laterSignal: nik_reused_later of member i (absent for the last member).
func (d *Detector) laterSignal(g *nikGroup, i int, build bool) (uint64, *detectors.Signal) {
	last := len(g.members) - 1
	if i >= last {
		return 0, nil
	}
	k := d.cfg.Evidence.MaxIDs
	end := min(last, i+k)
	var f fpAcc = 2
	var ids []string
	for j := i + 1; j <= end; j++ {
		o := g.members[j].reg
		f.add(uint64(o))
		if build {
			ids = append(ids, d.ar.str(d.regAt(o).id))
		}
	}
	more := last-i > k
	if more {
		f.add(1)
	}
	if !build {
		return f.sum(), nil
	}
	return f.sum(), &detectors.Signal{RegistrationID: d.ar.str(d.regAt(g.members[i].reg).id), Detector: DetectorName,
		Kind: KindNIKReusedLater, Key: d.nikText(g.nik), Evidence: map[string]any{
			"nik": d.nikText(g.nik), "later": ids, "more_later": more}}
}

// personView is what every member's same_person_other_nik needs from the
// whole group, computed once per refresh: the first MaxIDs+2 distinct
// registrations in order (enough to list MaxIDs others and tell whether
// there are more) and whether the group has two NIKs and two registrations.
type personView struct {
	firstRegs    []uint32
	complete     bool // firstRegs holds every registration of the group
	distinctNIKs bool
}

func (d *Detector) personView(g *personGroup) personView {
	var v personView
	limit := d.cfg.Evidence.MaxIDs + 2
	for _, m := range g.members {
		if !v.distinctNIKs && m.nik != g.members[0].nik {
			v.distinctNIKs = true
		}
		if len(v.firstRegs) < limit && !slices.Contains(v.firstRegs, m.reg) {
			v.firstRegs = append(v.firstRegs, m.reg)
		}
		if v.distinctNIKs && len(v.firstRegs) >= limit {
			return v
		}
	}
	v.complete = len(v.firstRegs) < limit
	return v
}

// personSignal: same_person_other_nik of registration ri in a person group.
// Present when another registration in the group holds a NIK that ri does
// not: with one own NIK, the group has a second NIK; with several own NIKs
// (changed on resubmit), the group has a second registration.
func (d *Detector) personSignal(g *personGroup, ri uint32, v personView, build bool) (uint64, *detectors.Signal) {
	var own []uint64
	for _, c := range d.claimsOf(ri) {
		if personKey(&c) == g.key {
			own = append(own, c.nik)
		}
	}
	others := 0
	for _, r := range v.firstRegs {
		if r != ri {
			others++
		}
	}
	present := others > 0 && (len(own) > 1 || v.distinctNIKs)
	if !present {
		return 0, nil
	}
	k := d.cfg.Evidence.MaxIDs
	// An incomplete view holds k+2 registrations, so at least k+1 others.
	more := others > k || !v.complete
	var f fpAcc = 3
	var ids []string
	otherNIKs := map[string]any{}
	listed := 0
	for _, r := range v.firstRegs {
		if r == ri || listed == k {
			continue
		}
		listed++
		f.add(uint64(r))
		var niks []string
		for _, c := range d.claimsOf(r) {
			if personKey(&c) == g.key {
				f.add(c.nik)
				if build {
					niks = append(niks, d.nikText(c.nik))
				}
			}
		}
		if build {
			id := d.ar.str(d.regAt(r).id)
			ids = append(ids, id)
			otherNIKs[id] = niks
		}
	}
	for _, o := range own {
		f.add(o)
	}
	if more {
		f.add(1)
	}
	if !build {
		return f.sum(), nil
	}
	ownText := make([]string, len(own))
	for i, o := range own {
		ownText[i] = d.nikText(o)
	}
	return f.sum(), &detectors.Signal{RegistrationID: d.ar.str(d.regAt(ri).id), Detector: DetectorName,
		Kind: KindSamePersonOtherNIK, Key: "p" + strconv.FormatUint(g.key, 16), Evidence: map[string]any{
			"others": ids, "other_niks": otherNIKs, "own_niks": ownText, "more_others": more}}
}

// changedSignal: nik_changed_on_resubmit, the NIKs of a registration in the
// order of their first submission.
func (d *Detector) changedSignal(ri uint32, cs []claim) detectors.Signal {
	k := d.cfg.Evidence.MaxIDs
	n := min(len(cs), k)
	niks := make([]string, n)
	evs := make([]string, n)
	for i := 0; i < n; i++ {
		niks[i] = d.nikText(cs[i].nik)
		evs[i] = d.ar.str(cs[i].ev)
	}
	return detectors.Signal{RegistrationID: d.ar.str(d.regAt(ri).id), Detector: DetectorName,
		Kind: KindNIKChanged, Evidence: map[string]any{"niks": niks, "first_event_ids": evs, "more_niks": len(cs) > k}}
}

func sortDedup(s []detectors.Signal) []detectors.Signal {
	if len(s) == 0 {
		return s
	}
	slices.SortStableFunc(s, func(a, b detectors.Signal) int { return strings.Compare(a.ID(), b.ID()) })
	out := s[:1]
	for _, x := range s[1:] {
		if x.ID() != out[len(out)-1].ID() {
			out = append(out, x)
		}
	}
	return out
}
