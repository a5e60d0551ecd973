package email

// The detector as it was before the compact state (commit 54c032c), kept
// as the oracle of TestCompactMatchesReference: the compact detector must
// return exactly the same signals for every call.

import (
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/detectors/email/address"
	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline/event"
)

// refStamp is one event of a refRegistration, in decision order.
type refStamp struct {
	order    event.Order
	deviceID string
	ip       string
}

// refAddr is what the detector keeps of one address: only the forms it
// matches on (memory: see BenchmarkMemoryPerRegistration).
type refAddr struct {
	canonical   string
	skeleton    string // shares canonical's bytes when equal
	registrable string
	scripts     []string
	lookalike   bool
	mixed       bool
	disposable  bool
}

// refRegistration keeps the union of what its submissions said. Signals are
// never withdrawn, so every signal's existence must be monotone in the set
// of events: with unions, a condition that held once holds for any superset
// of events, whatever the arrival order. Small slices, not maps: nearly
// every refRegistration has one value of each.
type refRegistration struct {
	id                         string
	subs                       []refStamp // refRegistration.submitted
	sent                       []refStamp // email.verification_sent
	verified                   []refStamp // email.verified
	addrs                      []refAddr
	niks, devices, ips, phones []string
}

// refDetector holds the state of the email detector. Not safe for concurrent
// use (the pipeline serialises calls).
type refDetector struct {
	cfg        Config
	disposable *address.DomainSet
	regs       map[string]*refRegistration
	byCanon    map[string][]string // canonical -> refRegistration ids
	byLookSkel map[string][]string // skeleton of a look-alike address -> refRegistration ids
	byDevice   map[string][]string
	byIP       map[string][]string
	byPhone    map[string][]string
	reports    map[string]map[string]report.Report // canonical -> report id -> report
}

// refNew returns an empty detector. cfg should be valid (Validate); an invalid
// value is replaced by its default so that refNew never fails at runtime.
func refNew(cfg Config) *refDetector {
	def := DefaultConfig()
	if cfg.QuickClick <= 0 {
		cfg.QuickClick = def.QuickClick
	}
	if cfg.NetworkPrefixV4 < 8 || cfg.NetworkPrefixV4 > 32 {
		cfg.NetworkPrefixV4 = def.NetworkPrefixV4
	}
	if cfg.NetworkPrefixV6 < 16 || cfg.NetworkPrefixV6 > 128 {
		cfg.NetworkPrefixV6 = def.NetworkPrefixV6
	}
	if cfg.MaxEvidenceIDs < 1 {
		cfg.MaxEvidenceIDs = def.MaxEvidenceIDs
	}
	d := cfg.Disposable
	if d == nil {
		d = address.DefaultDisposable()
	}
	return &refDetector{
		cfg: cfg, disposable: d, regs: map[string]*refRegistration{},
		byCanon: map[string][]string{}, byLookSkel: map[string][]string{},
		byDevice: map[string][]string{}, byIP: map[string][]string{}, byPhone: map[string][]string{},
		reports: map[string]map[string]report.Report{},
	}
}

// Name implements the detector contract.

func (d *refDetector) reg(id string) *refRegistration {
	r := d.regs[id]
	if r == nil {
		r = &refRegistration{id: id}
		d.regs[id] = r
	}
	return r
}

// refAddUniq appends v to *s unless present, and reports whether it did.
func refAddUniq(s *[]string, v string) bool {
	if v == "" || slices.Contains(*s, v) {
		return false
	}
	*s = append(*s, v)
	return true
}

func refIndex(m map[string][]string, k, id string) {
	ids := m[k]
	if !slices.Contains(ids, id) {
		m[k] = append(ids, id)
	}
}

// Observe takes one event and returns the current signals of every
// refRegistration whose picture it changed. Every update is a set insert, so
// observing an event twice changes nothing and returns the same signals.
func (d *refDetector) Observe(ev *event.Event) []detectors.Signal {
	if ev == nil || ev.RegistrationID == "" {
		return nil
	}
	if ev.Type == event.MisuseReported {
		return d.ApplyReport(ReportFromEvent(ev))
	}
	r := d.reg(ev.RegistrationID)
	st := refStamp{order: ev.Order(), deviceID: ev.DeviceID, ip: ev.IP}
	switch ev.Type {
	case event.Submitted:
		r.subs = refInsertStamp(r.subs, st)
		if a, err := address.Parse(ev.Email); err == nil {
			d.addAddress(r, a)
		}
		refAddUniq(&r.niks, ev.NIK)
		if refAddUniq(&r.devices, ev.DeviceID) {
			refIndex(d.byDevice, ev.DeviceID, r.id)
		}
		if refAddUniq(&r.ips, ev.IP) {
			refIndex(d.byIP, ev.IP, r.id)
		}
		if refAddUniq(&r.phones, ev.Phone) {
			refIndex(d.byPhone, ev.Phone, r.id)
		}
	case event.VerificationSent:
		r.sent = refInsertStamp(r.sent, st)
	case event.EmailVerified:
		r.verified = refInsertStamp(r.verified, st)
	}
	affected := map[string]bool{r.id: true}
	d.neighbours(r, affected)
	return d.signalsFor(affected)
}

// ApplyReport records an accepted misuse report and returns the current
// signals of every refRegistration using the reported address and of the
// registrations linked to them. Applying the same report twice is a no-op.
func (d *refDetector) ApplyReport(rep report.Report) []detectors.Signal {
	a, err := address.Parse(rep.Address)
	if err != nil || rep.ID == "" {
		return nil
	}
	if d.reports[a.Canonical] == nil {
		d.reports[a.Canonical] = map[string]report.Report{}
	}
	d.reports[a.Canonical][rep.ID] = rep
	affected := map[string]bool{}
	if rep.RegistrationID != "" {
		// The verified report proves the refRegistration used the address,
		// even when its submission has not been observed yet (replays).
		r := d.reg(rep.RegistrationID)
		d.addAddress(r, a)
		affected[r.id] = true
	}
	for _, id := range d.byCanon[a.Canonical] {
		affected[id] = true
		d.neighbours(d.regs[id], affected)
	}
	return d.signalsFor(affected)
}

func refInsertStamp(s []refStamp, st refStamp) []refStamp {
	i, found := slices.BinarySearchFunc(s, st.order, func(a refStamp, o event.Order) int {
		switch {
		case a.order.Less(o):
			return -1
		case o.Less(a.order):
			return 1
		}
		return 0
	})
	if found {
		return s
	}
	return slices.Insert(s, i, st)
}

func (d *refDetector) addAddress(r *refRegistration, a address.Address) {
	for _, x := range r.addrs {
		if x.canonical == a.Canonical {
			return
		}
	}
	x := refAddr{canonical: a.Canonical, skeleton: a.Canonical, registrable: a.Registrable,
		lookalike: a.Lookalike(), mixed: a.MixedScript, disposable: d.disposable.Match(a)}
	if x.lookalike {
		x.skeleton = a.Skeleton
		refIndex(d.byLookSkel, a.Skeleton, r.id)
	}
	if x.mixed {
		x.scripts = a.Scripts
	}
	r.addrs = append(r.addrs, x)
	refIndex(d.byCanon, a.Canonical, r.id)
}

func (d *refDetector) reported(r *refRegistration) bool {
	for _, a := range r.addrs {
		if len(d.reports[a.canonical]) > 0 {
			return true
		}
	}
	return false
}

// neighbours adds every refRegistration whose signals depend on r: its address
// group, the look-alikes of its addresses (or the addresses it imitates),
// and, when r is reported, everything sharing its device, IP or phone.
func (d *refDetector) neighbours(r *refRegistration, into map[string]bool) {
	put := func(ids []string) {
		for _, id := range ids {
			into[id] = true
		}
	}
	for _, a := range r.addrs {
		put(d.byCanon[a.canonical])
		put(d.byLookSkel[a.skeleton])
		if a.lookalike {
			put(d.byCanon[a.skeleton])
		}
	}
	if d.reported(r) {
		for _, v := range r.devices {
			put(d.byDevice[v])
		}
		for _, v := range r.ips {
			put(d.byIP[v])
		}
		for _, v := range r.phones {
			put(d.byPhone[v])
		}
	}
}

func (d *refDetector) signalsFor(ids map[string]bool) []detectors.Signal {
	var out []detectors.Signal
	for _, id := range refSortedKeys(ids) {
		out = append(out, d.signals(d.regs[id])...)
	}
	return out
}

func (r *refRegistration) first() (event.Order, bool) {
	if len(r.subs) == 0 {
		return event.Order{}, false
	}
	return r.subs[0].order, true
}

// ordered sorts ids by first submission in decision order (never-submitted
// last, then by id).
func (d *refDetector) ordered(ids []string) []string {
	slices.SortFunc(ids, func(a, b string) int {
		oa, ha := d.regs[a].first()
		ob, hb := d.regs[b].first()
		switch {
		case ha != hb:
			if ha {
				return -1
			}
			return 1
		case oa.Less(ob):
			return -1
		case ob.Less(oa):
			return 1
		}
		return strings.Compare(a, b)
	})
	return ids
}

func (d *refDetector) capped(ids []string) []string {
	if len(ids) > d.cfg.MaxEvidenceIDs {
		ids = ids[:d.cfg.MaxEvidenceIDs]
	}
	return ids
}

func (d *refDetector) signals(r *refRegistration) []detectors.Signal {
	var out []detectors.Signal
	emit := func(kind string, ev map[string]any) {
		out = append(out, detectors.Signal{RegistrationID: r.id, Detector: Name, Kind: kind, Evidence: ev})
	}

	// address_reused: another refRegistration with a shared address and a
	// different NIK (some pair of NIKs differs: monotone).
	reusedAddrs, others, niks := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, a := range r.addrs {
		for _, id := range d.byCanon[a.canonical] {
			o := d.regs[id]
			if id == r.id || !refDifferentNIK(r.niks, o.niks) {
				continue
			}
			reusedAddrs[a.canonical], others[id] = true, true
			for _, n := range o.niks {
				niks[n] = true
			}
		}
	}
	if len(others) > 0 {
		for _, n := range r.niks {
			niks[n] = true
		}
		ids := d.ordered(refSortedKeys(others))
		emit(KindAddressReused, map[string]any{
			"addresses": refSortedKeys(reusedAddrs), "other_registrations": d.capped(ids),
			"other_count": len(ids), "distinct_niks": len(niks),
		})
	}

	// lookalike_address: an address with look-alike letters whose skeleton
	// equals another registrant's address skeleton with another canonical form.
	if len(r.niks) > 0 {
		look, of, ids, skels := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, a := range r.addrs {
			if !a.lookalike {
				continue
			}
			for _, group := range [][]string{d.byCanon[a.skeleton], d.byLookSkel[a.skeleton]} {
				for _, id := range group {
					o := d.regs[id]
					if id == r.id || len(o.niks) == 0 {
						continue
					}
					for _, oa := range o.addrs {
						if oa.skeleton == a.skeleton && oa.canonical != a.canonical {
							look[a.canonical], of[oa.canonical], ids[id], skels[a.skeleton] = true, true, true, true
						}
					}
				}
			}
		}
		if len(ids) > 0 {
			emit(KindLookalikeAddress, map[string]any{
				"addresses": refSortedKeys(look), "skeletons": refSortedKeys(skels),
				"lookalike_of": d.capped(refSortedKeys(of)), "other_registrations": d.capped(d.ordered(refSortedKeys(ids))),
			})
		}
	}

	mixed, scripts, disp, domains := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, a := range r.addrs {
		if a.mixed {
			mixed[a.canonical] = true
			for _, s := range a.scripts {
				scripts[s] = true
			}
		}
		if a.disposable {
			disp[a.canonical], domains[a.registrable] = true, true
		}
	}
	if len(mixed) > 0 && len(r.subs) > 0 {
		emit(KindMixedScript, map[string]any{"addresses": refSortedKeys(mixed), "scripts": refSortedKeys(scripts)})
	}
	if len(disp) > 0 && len(r.subs) > 0 {
		emit(KindDisposableDomain, map[string]any{"domains": refSortedKeys(domains), "addresses": refSortedKeys(disp)})
	}

	d.verificationSignals(r, emit)

	// reported_misuse
	repIDs, chans, repRegs, repAddrs := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, a := range r.addrs {
		for id, rep := range d.reports[a.canonical] {
			repIDs[id], chans[rep.Channel], repAddrs[a.canonical] = true, true, true
			if rep.RegistrationID != "" {
				repRegs[rep.RegistrationID] = true
			}
		}
	}
	if len(repIDs) > 0 {
		ids := refSortedKeys(repIDs)
		emit(KindReportedMisuse, map[string]any{
			"addresses": refSortedKeys(repAddrs), "report_ids": d.capped(ids), "report_count": len(ids),
			"channels": refSortedKeys(chans), "reported_registrations": d.capped(d.ordered(refSortedKeys(repRegs))),
		})
	}

	// linked_to_reported
	linked, via := map[string]bool{}, map[string]bool{}
	for _, link := range []struct {
		kind     string
		values   []string
		refIndex map[string][]string
	}{{"device", r.devices, d.byDevice}, {"ip", r.ips, d.byIP}, {"phone", r.phones, d.byPhone}} {
		for _, v := range link.values {
			for _, id := range link.refIndex[v] {
				if id == r.id || !d.reported(d.regs[id]) {
					continue
				}
				linked[id], via[link.kind] = true, true
			}
		}
	}
	if len(linked) > 0 {
		ids := d.ordered(refSortedKeys(linked))
		emit(KindLinkedToReported, map[string]any{
			"reported_registrations": d.capped(ids), "reported_count": len(ids), "via": refSortedKeys(via),
		})
	}
	return out
}

// refDifferentNIK reports whether some NIK of a differs from some NIK of b.
func refDifferentNIK(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x != y {
				return true
			}
		}
	}
	return false
}

// verificationSignals compare every verification with every submission
// (and sent email): "some pair differs" and "some pair is quick" only grow
// with more events, so the signals do not depend on arrival order.
func (d *refDetector) verificationSignals(r *refRegistration, emit func(string, map[string]any)) {
	if len(r.subs) == 0 || len(r.verified) == 0 {
		return
	}
	var devEvents, netEvents []string
	devs, ips := map[string]bool{}, map[string]bool{}
	for _, v := range r.verified {
		devDiff, netDiff := false, false
		for _, s := range r.subs {
			devDiff = devDiff || (v.deviceID != "" && s.deviceID != "" && v.deviceID != s.deviceID)
			netDiff = netDiff || (v.ip != "" && s.ip != "" && !d.sameNetwork(v.ip, s.ip))
		}
		if devDiff {
			devEvents = append(devEvents, v.order.EventID)
			devs[v.deviceID] = true
		}
		if netDiff {
			netEvents = append(netEvents, v.order.EventID)
			ips[v.ip] = true
		}
	}
	if len(devEvents) > 0 {
		emit(KindVerifiedOtherDevice, map[string]any{
			"registered_devices": d.capped(refSortedSlice(r.devices)), "verified_devices": d.capped(refSortedKeys(devs)),
			"verified_event_ids": d.capped(devEvents),
		})
	}
	if len(netEvents) > 0 {
		emit(KindVerifiedOtherNetwork, map[string]any{
			"registered_ips": d.capped(refSortedSlice(r.ips)), "verified_ips": d.capped(refSortedKeys(ips)),
			"verified_event_ids": d.capped(netEvents), "prefix_v4": d.cfg.NetworkPrefixV4, "prefix_v6": d.cfg.NetworkPrefixV6,
		})
	}
	// verified_within_seconds: the quickest (verification, earlier sent email
	// or submission) pair under the threshold; ties by decision order.
	var best struct {
		gap    time.Duration
		ref, v event.Order
		found  bool
	}
	for _, v := range r.verified {
		for _, refs := range [][]refStamp{r.sent, r.subs} {
			for _, ref := range refs {
				if !ref.order.Less(v.order) {
					continue
				}
				gap := time.Duration(v.order.At - ref.order.At)
				if gap < 0 || gap >= d.cfg.QuickClick {
					continue
				}
				if !best.found || gap < best.gap || (gap == best.gap && (v.order.Less(best.v) ||
					(v.order == best.v && ref.order.Less(best.ref)))) {
					best.gap, best.ref, best.v, best.found = gap, ref.order, v.order, true
				}
			}
		}
	}
	if best.found {
		emit(KindVerifiedWithinSeconds, map[string]any{
			"seconds": math.Round(best.gap.Seconds()*1000) / 1000, "threshold_seconds": d.cfg.QuickClick.Seconds(),
			"sent_event_id": best.ref.EventID, "verified_event_id": best.v.EventID,
		})
	}
}

func refSortedSlice(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func (d *refDetector) sameNetwork(a, b string) bool {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	x, y = x.Unmap(), y.Unmap()
	if x.Is4() != y.Is4() {
		return false
	}
	bits := d.cfg.NetworkPrefixV6
	if x.Is4() {
		bits = d.cfg.NetworkPrefixV4
	}
	px, _ := x.Prefix(bits)
	py, _ := y.Prefix(bits)
	return px == py
}

func refSortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
