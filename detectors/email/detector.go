package email

import (
	"errors"
	"fmt"
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

// Name is the detector name in signals and rules ("email.<kind>").
const Name = "email"

// Signal kinds.
const (
	KindAddressReused         = "address_reused"
	KindLookalikeAddress      = "lookalike_address"
	KindMixedScript           = "mixed_script_address"
	KindDisposableDomain      = "disposable_domain"
	KindVerifiedOtherDevice   = "verified_from_other_device"
	KindVerifiedOtherNetwork  = "verified_from_other_network"
	KindVerifiedWithinSeconds = "verified_within_seconds"
	KindReportedMisuse        = "reported_misuse"
	KindLinkedToReported      = "linked_to_reported"
)

// Config tunes the detector.
type Config struct {
	// QuickClick: a verification sooner than this after the email was sent
	// is verified_within_seconds.
	QuickClick time.Duration
	// Networks are compared on these prefix lengths.
	NetworkPrefixV4 int
	NetworkPrefixV6 int
	// MaxEvidenceIDs caps every id list in evidence (the count is kept).
	MaxEvidenceIDs int
	// Disposable is the disposable-domain list; nil means the embedded one
	// (address.DefaultDisposable). Load a bigger list with address.LoadDomainSet.
	Disposable *address.DomainSet
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{QuickClick: 10 * time.Second, NetworkPrefixV4: 24, NetworkPrefixV6: 48, MaxEvidenceIDs: 50}
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if c.QuickClick <= 0 {
		errs = append(errs, fmt.Errorf("email: quick_click %v must be positive", c.QuickClick))
	}
	if c.NetworkPrefixV4 < 8 || c.NetworkPrefixV4 > 32 {
		errs = append(errs, fmt.Errorf("email: network_prefix_v4 %d must be 8..32", c.NetworkPrefixV4))
	}
	if c.NetworkPrefixV6 < 16 || c.NetworkPrefixV6 > 128 {
		errs = append(errs, fmt.Errorf("email: network_prefix_v6 %d must be 16..128", c.NetworkPrefixV6))
	}
	if c.MaxEvidenceIDs < 1 {
		errs = append(errs, fmt.Errorf("email: max_evidence_ids %d must be at least 1", c.MaxEvidenceIDs))
	}
	return errors.Join(errs...)
}

// Detector holds the state of the email detector (layout: state.go and
// "State" in doc.go). Not safe for concurrent use (the pipeline serialises
// calls).
type Detector struct {
	cfg        Config
	disposable *address.DomainSet

	ar     arena
	pages  [][]reg
	nregs  int
	regTab slotTable
	more   map[uint32]*more
	groups [][]uint32

	devices, ips, phones values
	// addrs holds canonical addresses and look-alike skeletons (value.a:
	// registrations with it as canonical address).
	addrs       values
	skelRegs    map[uint32]regList // address id -> registrations with a look-alike address whose skeleton it is
	registrable map[uint32]cstr    // canonical address id -> registrable domain, disposable addresses only
	scriptSets  [][]string         // index-1 = regAddr.scripts
	scriptIdx   map[string]uint16
	reports     map[uint32]map[string]report.Report // canonical address id -> report id -> report
}

// New returns an empty detector. cfg should be valid (Validate); an invalid
// value is replaced by its default so that New never fails at runtime.
func New(cfg Config) *Detector {
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
	return &Detector{
		cfg: cfg, disposable: d, more: map[uint32]*more{}, registrable: map[uint32]cstr{}, skelRegs: map[uint32]regList{},
		scriptIdx: map[string]uint16{}, reports: map[uint32]map[string]report.Report{},
	}
}

// Name implements the detector contract.
func (d *Detector) Name() string { return Name }

// Observe takes one event and returns the current signals of every
// registration whose picture it changed. Every update is a set insert, so
// observing an event twice changes nothing and returns the same signals.
func (d *Detector) Observe(ev *event.Event) []detectors.Signal {
	if ev == nil || ev.RegistrationID == "" {
		return nil
	}
	if ev.Type == event.MisuseReported {
		return d.ApplyReport(ReportFromEvent(ev))
	}
	var ri uint32
	switch ev.Type {
	case event.Submitted:
		ri = d.reg(ev.RegistrationID)
		d.observeSubmission(ri, ev)
	case event.VerificationSent:
		ri = d.reg(ev.RegistrationID)
		d.addStamp(ri, kindSent, ev.OccurredAt.UnixNano(), ev.EventID, 0, 0)
	case event.EmailVerified:
		ri = d.reg(ev.RegistrationID)
		dev, ip := d.devices.intern(&d.ar, ev.DeviceID), d.ips.intern(&d.ar, ev.IP)
		d.addStamp(ri, kindVer, ev.OccurredAt.UnixNano(), ev.EventID, dev, ip)
	default:
		// Other events change nothing; a registration not seen yet has
		// no signals (and is not stored).
		var ok bool
		if ri, ok = d.lookup(ev.RegistrationID); !ok {
			return nil
		}
	}
	affected := map[uint32]bool{ri: true}
	d.neighbours(ri, affected)
	return d.signalsFor(affected)
}

func (d *Detector) observeSubmission(ri uint32, ev *event.Event) {
	dev, ip := d.devices.intern(&d.ar, ev.DeviceID), d.ips.intern(&d.ar, ev.IP)
	// The registration's device and IP sets are its submission stamps'
	// values plus more.devs/ips: note what is new before adding the stamp.
	newDev := dev != 0 && !d.hasSubValue(ri, false, dev)
	newIP := ip != 0 && !d.hasSubValue(ri, true, ip)
	old, inserted := d.addStamp(ri, kindSub, ev.OccurredAt.UnixNano(), ev.EventID, dev, ip)
	if a, err := address.Parse(ev.Email); err == nil {
		d.addAddress(ri, a)
	}
	if ev.NIK != "" {
		var buf [1]cstr
		p, _ := pack(ev.NIK)
		found := false
		for _, n := range d.regNIKs(ri, &buf) {
			if d.ar.eq(n, ev.NIK, p) {
				found = true
				break
			}
		}
		if !found {
			if r := d.regAt(ri); r.nik == 0 {
				r.nik = d.ar.cs(ev.NIK)
			} else {
				m := d.rareOf(ri)
				m.niks = append(m.niks, d.ar.cs(ev.NIK))
			}
		}
	}
	if newDev {
		if !inserted && old.dev != dev {
			m := d.rareOf(ri)
			m.devs = append(m.devs, dev)
		}
		d.addToList(&d.devices.at(dev).a, ri)
	}
	if newIP {
		if !inserted && old.ip != ip {
			m := d.rareOf(ri)
			m.ips = append(m.ips, ip)
		}
		d.addToList(&d.ips.at(ip).a, ri)
	}
	if ev.Phone != "" {
		ph := d.phones.intern(&d.ar, ev.Phone)
		var buf [1]uint32
		if !slices.Contains(d.regPhones(ri, &buf), ph) {
			if r := d.regAt(ri); r.phone == 0 {
				r.phone = ph
			} else {
				m := d.rareOf(ri)
				m.phones = append(m.phones, ph)
			}
			d.addToList(&d.phones.at(ph).a, ri)
		}
	}
}

// ApplyReport records an accepted misuse report and returns the current
// signals of every registration using the reported address and of the
// registrations linked to them. Applying the same report twice is a no-op.
func (d *Detector) ApplyReport(rep report.Report) []detectors.Signal {
	a, err := address.Parse(rep.Address)
	if err != nil || rep.ID == "" {
		return nil
	}
	canon := d.addrs.intern(&d.ar, a.Canonical)
	if d.reports[canon] == nil {
		d.reports[canon] = map[string]report.Report{}
	}
	d.reports[canon][rep.ID] = rep
	affected := map[uint32]bool{}
	if rep.RegistrationID != "" {
		// The verified report proves the registration used the address,
		// even when its submission has not been observed yet (replays).
		ri := d.reg(rep.RegistrationID)
		d.addAddress(ri, a)
		affected[ri] = true
	}
	var one [1]uint32
	for _, o := range d.members(d.addrs.at(canon).a, &one) {
		affected[o] = true
		d.neighbours(o, affected)
	}
	return d.signalsFor(affected)
}

func (d *Detector) addAddress(ri uint32, a address.Address) {
	canon := d.addrs.intern(&d.ar, a.Canonical)
	var buf [1]regAddr
	for _, x := range d.regAddrs(ri, &buf) {
		if x.canon == canon {
			return
		}
	}
	x := regAddr{canon: canon, skel: canon}
	if a.Lookalike() {
		x.skel = d.addrs.intern(&d.ar, a.Skeleton)
		l := d.skelRegs[x.skel]
		d.addToList(&l, ri)
		d.skelRegs[x.skel] = l
	}
	if a.MixedScript {
		x.flags |= addrMixed
		x.scripts = d.scriptSet(a.Scripts)
	}
	if d.disposable.Match(a) {
		x.flags |= addrDisposable
		if _, ok := d.registrable[canon]; !ok {
			d.registrable[canon] = d.ar.cs(a.Registrable)
		}
	}
	if r := d.regAt(ri); r.canon == 0 {
		r.canon, r.skel, r.script, r.aflags = x.canon, x.skel, x.scripts, x.flags
	} else {
		m := d.rareOf(ri)
		m.addrs = append(m.addrs, x)
	}
	d.addToList(&d.addrs.at(canon).a, ri)
}

func (d *Detector) reported(ri uint32) bool {
	if len(d.reports) == 0 {
		return false
	}
	var buf [1]regAddr
	for _, a := range d.regAddrs(ri, &buf) {
		if len(d.reports[a.canon]) > 0 {
			return true
		}
	}
	return false
}

// neighbours adds every registration whose signals depend on ri: its
// address group, the look-alikes of its addresses (or the addresses it
// imitates), and, when ri is reported, everything sharing its device, IP or
// phone.
func (d *Detector) neighbours(ri uint32, into map[uint32]bool) {
	var one [1]uint32
	put := func(l regList) {
		for _, o := range d.members(l, &one) {
			into[o] = true
		}
	}
	var buf [1]regAddr
	for _, a := range d.regAddrs(ri, &buf) {
		put(d.addrs.at(a.canon).a)
		put(d.skelRegs[a.skel])
		if a.skel != a.canon {
			put(d.addrs.at(a.skel).a)
		}
	}
	if d.reported(ri) {
		for _, v := range d.subValues(ri, false) {
			put(d.devices.at(v).a)
		}
		for _, v := range d.subValues(ri, true) {
			put(d.ips.at(v).a)
		}
		var pb [1]uint32
		for _, v := range d.regPhones(ri, &pb) {
			put(d.phones.at(v).a)
		}
	}
}

// signalsFor returns the signals of the registrations, ordered by id.
func (d *Detector) signalsFor(set map[uint32]bool) []detectors.Signal {
	type idReg struct {
		id string
		ri uint32
	}
	rs := make([]idReg, 0, len(set))
	for ri := range set {
		rs = append(rs, idReg{d.ar.str(d.regAt(ri).id), ri})
	}
	slices.SortFunc(rs, func(a, b idReg) int { return strings.Compare(a.id, b.id) })
	var out []detectors.Signal
	for _, x := range rs {
		out = append(out, d.signals(x.ri, x.id)...)
	}
	return out
}

// ordered returns the ids of the registrations sorted by first submission
// in decision order (never-submitted last, then by id).
func (d *Detector) ordered(set map[uint32]bool) []string {
	type entry struct {
		id    string
		first stamp
		has   bool
	}
	es := make([]entry, 0, len(set))
	for ri := range set {
		r := d.regAt(ri)
		es = append(es, entry{id: d.ar.str(r.id), first: r.sub, has: r.flags&hasSub != 0})
	}
	slices.SortFunc(es, func(a, b entry) int {
		switch {
		case a.has != b.has:
			if a.has {
				return -1
			}
			return 1
		case a.has && d.lessStamp(&a.first, &b.first):
			return -1
		case a.has && d.lessStamp(&b.first, &a.first):
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.id
	}
	return ids
}

func (d *Detector) capped(ids []string) []string {
	if len(ids) > d.cfg.MaxEvidenceIDs {
		ids = ids[:d.cfg.MaxEvidenceIDs]
	}
	return ids
}

// strs returns the sorted strings of a set of address value ids.
func (d *Detector) addrStrs(set map[uint32]bool) []string {
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, d.ar.str(d.addrs.at(v).s()))
	}
	slices.Sort(out)
	return out
}

func (d *Detector) signals(ri uint32, id string) []detectors.Signal {
	var out []detectors.Signal
	emit := func(kind string, ev map[string]any) {
		out = append(out, detectors.Signal{RegistrationID: id, Detector: Name, Kind: kind, Evidence: ev})
	}
	var one [1]uint32
	var ab [1]regAddr
	var nb, onb [1]cstr
	addrs := d.regAddrs(ri, &ab)
	niks := d.regNIKs(ri, &nb)

	// address_reused: another registration with a shared address and a
	// different NIK (some pair of NIKs differs: monotone).
	var reusedAddrs, others map[uint32]bool
	var nikSet map[string]bool
	for _, a := range addrs {
		for _, o := range d.members(d.addrs.at(a.canon).a, &one) {
			if o == ri {
				continue
			}
			oniks := d.regNIKs(o, &onb)
			if !d.differentNIK(niks, oniks) {
				continue
			}
			if others == nil {
				reusedAddrs, others, nikSet = map[uint32]bool{}, map[uint32]bool{}, map[string]bool{}
			}
			reusedAddrs[a.canon], others[o] = true, true
			for _, n := range oniks {
				nikSet[d.ar.str(n)] = true
			}
		}
	}
	if len(others) > 0 {
		for _, n := range niks {
			nikSet[d.ar.str(n)] = true
		}
		ids := d.ordered(others)
		emit(KindAddressReused, map[string]any{
			"addresses": d.addrStrs(reusedAddrs), "other_registrations": d.capped(ids),
			"other_count": len(ids), "distinct_niks": len(nikSet),
		})
	}

	// lookalike_address: an address with look-alike letters whose skeleton
	// equals another registrant's address skeleton with another canonical form.
	if len(niks) > 0 {
		var look, of, ids, skels map[uint32]bool
		var oab [1]regAddr
		for _, a := range addrs {
			if a.skel == a.canon {
				continue
			}
			sk := d.addrs.at(a.skel)
			for _, group := range [2]regList{sk.a, d.skelRegs[a.skel]} {
				for _, o := range d.members(group, &one) {
					if o == ri || d.regAt(o).nik == 0 {
						continue
					}
					for _, oa := range d.regAddrs(o, &oab) {
						if oa.skel == a.skel && oa.canon != a.canon {
							if ids == nil {
								look, of, ids, skels = map[uint32]bool{}, map[uint32]bool{}, map[uint32]bool{}, map[uint32]bool{}
							}
							look[a.canon], of[oa.canon], ids[o], skels[a.skel] = true, true, true, true
						}
					}
				}
			}
		}
		if len(ids) > 0 {
			emit(KindLookalikeAddress, map[string]any{
				"addresses": d.addrStrs(look), "skeletons": d.addrStrs(skels),
				"lookalike_of": d.capped(d.addrStrs(of)), "other_registrations": d.capped(d.ordered(ids)),
			})
		}
	}

	hasSubs := d.regAt(ri).flags&hasSub != 0
	var mixed, disp map[uint32]bool
	var scripts, domains map[string]bool
	for _, a := range addrs {
		if a.flags&addrMixed != 0 {
			if mixed == nil {
				mixed, scripts = map[uint32]bool{}, map[string]bool{}
			}
			mixed[a.canon] = true
			for _, s := range d.scriptSets[a.scripts-1] {
				scripts[s] = true
			}
		}
		if a.flags&addrDisposable != 0 {
			if disp == nil {
				disp, domains = map[uint32]bool{}, map[string]bool{}
			}
			disp[a.canon], domains[d.ar.str(d.registrable[a.canon])] = true, true
		}
	}
	if len(mixed) > 0 && hasSubs {
		emit(KindMixedScript, map[string]any{"addresses": d.addrStrs(mixed), "scripts": sortedKeys(scripts)})
	}
	if len(disp) > 0 && hasSubs {
		emit(KindDisposableDomain, map[string]any{"domains": sortedKeys(domains), "addresses": d.addrStrs(disp)})
	}

	d.verificationSignals(ri, emit)

	if len(d.reports) == 0 {
		return out
	}
	// reported_misuse
	repIDs, chans, repRegs, repAddrs := map[string]bool{}, map[string]bool{}, map[uint32]bool{}, map[uint32]bool{}
	for _, a := range addrs {
		for id, rep := range d.reports[a.canon] {
			repIDs[id], chans[rep.Channel], repAddrs[a.canon] = true, true, true
			if rep.RegistrationID != "" {
				// A report names a registration: ApplyReport stored it.
				rr, _ := d.lookup(rep.RegistrationID)
				repRegs[rr] = true
			}
		}
	}
	if len(repIDs) > 0 {
		ids := sortedKeys(repIDs)
		emit(KindReportedMisuse, map[string]any{
			"addresses": d.addrStrs(repAddrs), "report_ids": d.capped(ids), "report_count": len(ids),
			"channels": sortedKeys(chans), "reported_registrations": d.capped(d.ordered(repRegs)),
		})
	}

	// linked_to_reported
	var linked map[uint32]bool
	via := map[string]bool{}
	var pb [1]uint32
	for _, link := range []struct {
		kind   string
		values []uint32
		index  *values
	}{{"device", d.subValues(ri, false), &d.devices}, {"ip", d.subValues(ri, true), &d.ips}, {"phone", d.regPhones(ri, &pb), &d.phones}} {
		for _, v := range link.values {
			for _, o := range d.members(link.index.at(v).a, &one) {
				if o == ri || !d.reported(o) {
					continue
				}
				if linked == nil {
					linked = map[uint32]bool{}
				}
				linked[o], via[link.kind] = true, true
			}
		}
	}
	if len(linked) > 0 {
		ids := d.ordered(linked)
		emit(KindLinkedToReported, map[string]any{
			"reported_registrations": d.capped(ids), "reported_count": len(ids), "via": sortedKeys(via),
		})
	}
	return out
}

// differentNIK reports whether some NIK of a differs from some NIK of b.
func (d *Detector) differentNIK(a, b []cstr) bool {
	for _, x := range a {
		for _, y := range b {
			if !d.ar.eqC(x, y) {
				return true
			}
		}
	}
	return false
}

// verificationSignals compare every verification with every submission
// (and sent email): "some pair differs" and "some pair is quick" only grow
// with more events, so the signals do not depend on arrival order.
func (d *Detector) verificationSignals(ri uint32, emit func(string, map[string]any)) {
	r := d.regAt(ri)
	if r.flags&hasSub == 0 || r.flags&hasVer == 0 {
		return
	}
	var sb, vb, tb [1]stamp
	subs, verified := d.stamps(ri, kindSub, &sb), d.stamps(ri, kindVer, &vb)
	var devEvents, netEvents []string
	devs, ips := map[string]bool{}, map[string]bool{}
	for _, v := range verified {
		devDiff, netDiff := false, false
		for _, s := range subs {
			devDiff = devDiff || (v.dev != 0 && s.dev != 0 && v.dev != s.dev)
			netDiff = netDiff || (v.ip != 0 && s.ip != 0 && v.ip != s.ip &&
				!d.sameNetwork(d.ar.str(d.ips.at(v.ip).s()), d.ar.str(d.ips.at(s.ip).s())))
		}
		if devDiff {
			devEvents = append(devEvents, d.ar.str(v.ev))
			devs[d.ar.str(d.devices.at(v.dev).s())] = true
		}
		if netDiff {
			netEvents = append(netEvents, d.ar.str(v.ev))
			ips[d.ar.str(d.ips.at(v.ip).s())] = true
		}
	}
	if len(devEvents) > 0 {
		emit(KindVerifiedOtherDevice, map[string]any{
			"registered_devices": d.capped(d.valueStrs(&d.devices, d.subValues(ri, false))), "verified_devices": d.capped(sortedKeys(devs)),
			"verified_event_ids": d.capped(devEvents),
		})
	}
	if len(netEvents) > 0 {
		emit(KindVerifiedOtherNetwork, map[string]any{
			"registered_ips": d.capped(d.valueStrs(&d.ips, d.subValues(ri, true))), "verified_ips": d.capped(sortedKeys(ips)),
			"verified_event_ids": d.capped(netEvents), "prefix_v4": d.cfg.NetworkPrefixV4, "prefix_v6": d.cfg.NetworkPrefixV6,
		})
	}
	// verified_within_seconds: the quickest (verification, earlier sent email
	// or submission) pair under the threshold; ties by decision order.
	var best struct {
		gap    time.Duration
		ref, v stamp
		found  bool
	}
	sent := d.stamps(ri, kindSent, &tb)
	for _, v := range verified {
		for _, refs := range [2][]stamp{sent, subs} {
			for _, ref := range refs {
				if !d.lessStamp(&ref, &v) {
					continue
				}
				gap := time.Duration(v.at - ref.at)
				if gap < 0 || gap >= d.cfg.QuickClick {
					continue
				}
				if !best.found || gap < best.gap || (gap == best.gap && (d.lessStamp(&v, &best.v) ||
					(d.sameOrder(&v, &best.v) && d.lessStamp(&ref, &best.ref)))) {
					best.gap, best.ref, best.v, best.found = gap, ref, v, true
				}
			}
		}
	}
	if best.found {
		emit(KindVerifiedWithinSeconds, map[string]any{
			"seconds": math.Round(best.gap.Seconds()*1000) / 1000, "threshold_seconds": d.cfg.QuickClick.Seconds(),
			"sent_event_id": d.ar.str(best.ref.ev), "verified_event_id": d.ar.str(best.v.ev),
		})
	}
}

func (d *Detector) sameOrder(a, b *stamp) bool { return a.at == b.at && d.ar.eqC(a.ev, b.ev) }

// valueStrs returns the sorted strings of value ids.
func (d *Detector) valueStrs(vs *values, ids []uint32) []string {
	out := make([]string, len(ids))
	for i, v := range ids {
		out[i] = d.ar.str(vs.at(v).s())
	}
	slices.Sort(out)
	return out
}

func (d *Detector) sameNetwork(a, b string) bool {
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

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
