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

type stamp struct {
	order    event.Order
	at       time.Time
	eventID  string
	deviceID string
	ip       string
}

// registration keeps the union of what its submissions said. Signals are
// never withdrawn, so every signal's existence must be monotone in the set
// of events: with unions, a condition that held once holds for any superset
// of events, whatever the arrival order.
type registration struct {
	id       string
	subs     []stamp                    // registration.submitted, in decision order
	addrs    map[string]address.Address // canonical -> parsed
	niks     map[string]bool
	devices  map[string]bool
	ips      map[string]bool
	links    map[string]bool // index keys: "device\x00..", "ip\x00..", "phone\x00.."
	sent     []stamp         // email.verification_sent
	verified []stamp         // email.verified
}

// Detector holds the state of the email detector. Not safe for concurrent
// use (the pipeline serialises calls).
type Detector struct {
	cfg        Config
	disposable *address.DomainSet
	regs       map[string]*registration
	seen       map[string]bool                     // event ids
	byCanon    map[string]map[string]bool          // canonical -> registration ids
	bySkeleton map[string]map[string]bool          // skeleton -> registration ids
	byLink     map[string]map[string]bool          // link key -> registration ids
	reports    map[string]map[string]report.Report // canonical -> report id -> report
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
		cfg: cfg, disposable: d,
		regs: map[string]*registration{}, seen: map[string]bool{},
		byCanon: map[string]map[string]bool{}, bySkeleton: map[string]map[string]bool{},
		byLink: map[string]map[string]bool{}, reports: map[string]map[string]report.Report{},
	}
}

// Name implements the detector contract.
func (d *Detector) Name() string { return Name }

func (d *Detector) reg(id string) *registration {
	r := d.regs[id]
	if r == nil {
		r = &registration{id: id, addrs: map[string]address.Address{}, niks: map[string]bool{},
			devices: map[string]bool{}, ips: map[string]bool{}, links: map[string]bool{}}
		d.regs[id] = r
	}
	return r
}

// Observe takes one event and returns the current signals of every
// registration whose picture it changed.
func (d *Detector) Observe(ev *event.Event) []detectors.Signal {
	if ev == nil || ev.RegistrationID == "" {
		return nil
	}
	r := d.reg(ev.RegistrationID)
	if !d.seen[ev.EventID] {
		d.seen[ev.EventID] = true
		st := stamp{order: ev.Order(), at: ev.OccurredAt, eventID: ev.EventID, deviceID: ev.DeviceID, ip: ev.IP}
		switch ev.Type {
		case event.Submitted:
			r.subs = insertStamp(r.subs, st)
			if a, err := address.Parse(ev.Email); err == nil {
				d.addAddress(r, a)
			}
			if ev.NIK != "" {
				r.niks[ev.NIK] = true
			}
			if ev.DeviceID != "" {
				r.devices[ev.DeviceID] = true
				d.addLink(r, "device\x00"+ev.DeviceID)
			}
			if ev.IP != "" {
				r.ips[ev.IP] = true
				d.addLink(r, "ip\x00"+ev.IP)
			}
			if ev.Phone != "" {
				d.addLink(r, "phone\x00"+ev.Phone)
			}
		case event.VerificationSent:
			r.sent = insertStamp(r.sent, st)
		case event.EmailVerified:
			r.verified = insertStamp(r.verified, st)
		}
	}
	affected := map[string]bool{r.id: true}
	d.neighbours(r, affected)
	return d.signalsFor(affected)
}

// ApplyReport records an accepted misuse report and returns the current
// signals of every registration using the reported address and of the
// registrations linked to them. Applying the same report twice is a no-op.
func (d *Detector) ApplyReport(rep report.Report) []detectors.Signal {
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
		// The verified report proves the registration used the address,
		// even when its submission has not been observed yet (replays).
		r := d.reg(rep.RegistrationID)
		d.addAddress(r, a)
		affected[r.id] = true
	}
	for id := range d.byCanon[a.Canonical] {
		affected[id] = true
		d.neighbours(d.regs[id], affected)
	}
	return d.signalsFor(affected)
}

func insertStamp(s []stamp, st stamp) []stamp {
	i, found := slices.BinarySearchFunc(s, st.order, func(a stamp, o event.Order) int {
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

func add(m map[string]map[string]bool, k, id string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][id] = true
}

func (d *Detector) addAddress(r *registration, a address.Address) {
	if _, ok := r.addrs[a.Canonical]; ok {
		return
	}
	a.Raw = "" // evidence uses canonical forms only: raw spellings differ by arrival
	r.addrs[a.Canonical] = a
	add(d.byCanon, a.Canonical, r.id)
	add(d.bySkeleton, a.Skeleton, r.id)
}

func (d *Detector) addLink(r *registration, k string) {
	r.links[k] = true
	add(d.byLink, k, r.id)
}

func (d *Detector) reported(r *registration) bool {
	for c := range r.addrs {
		if len(d.reports[c]) > 0 {
			return true
		}
	}
	return false
}

// neighbours adds every registration whose signals depend on r: its address
// and skeleton groups, and, when r is reported, everything sharing its
// device, IP or phone.
func (d *Detector) neighbours(r *registration, into map[string]bool) {
	for _, a := range r.addrs {
		for id := range d.byCanon[a.Canonical] {
			into[id] = true
		}
		for id := range d.bySkeleton[a.Skeleton] {
			into[id] = true
		}
	}
	if d.reported(r) {
		for k := range r.links {
			for id := range d.byLink[k] {
				into[id] = true
			}
		}
	}
}

func (d *Detector) signalsFor(ids map[string]bool) []detectors.Signal {
	keys := sortedKeys(ids)
	var out []detectors.Signal
	for _, id := range keys {
		out = append(out, d.signals(d.regs[id])...)
	}
	return out
}

func (r *registration) first() (event.Order, bool) {
	if len(r.subs) == 0 {
		return event.Order{}, false
	}
	return r.subs[0].order, true
}

// ordered sorts ids by first submission in decision order (never-submitted
// last, then by id).
func (d *Detector) ordered(ids []string) []string {
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

func (d *Detector) capped(ids []string) []string {
	if len(ids) > d.cfg.MaxEvidenceIDs {
		ids = ids[:d.cfg.MaxEvidenceIDs]
	}
	return ids
}

func (d *Detector) signals(r *registration) []detectors.Signal {
	var out []detectors.Signal
	emit := func(kind string, ev map[string]any) {
		out = append(out, detectors.Signal{RegistrationID: r.id, Detector: Name, Kind: kind, Evidence: ev})
	}
	canons := sortedKeys(mapKeys(r.addrs))

	// address_reused: another registration with a shared address and a
	// different NIK (some pair of NIKs differs: monotone).
	reusedAddrs, others, niks := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range canons {
		for id := range d.byCanon[c] {
			o := d.regs[id]
			if id == r.id || !differentNIK(r.niks, o.niks) {
				continue
			}
			reusedAddrs[c], others[id] = true, true
			for n := range o.niks {
				niks[n] = true
			}
		}
	}
	if len(others) > 0 {
		for n := range r.niks {
			niks[n] = true
		}
		ids := d.ordered(sortedKeys(others))
		emit(KindAddressReused, map[string]any{
			"addresses": sortedKeys(reusedAddrs), "other_registrations": d.capped(ids),
			"other_count": len(ids), "distinct_niks": len(niks),
		})
	}

	// lookalike_address: an address with look-alike letters whose skeleton
	// equals another registrant's address skeleton with another canonical form.
	if len(r.niks) > 0 {
		look, of, ids, skels := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, c := range canons {
			a := r.addrs[c]
			if !a.Lookalike() {
				continue
			}
			for id := range d.bySkeleton[a.Skeleton] {
				o := d.regs[id]
				if id == r.id || len(o.niks) == 0 {
					continue
				}
				for oc, oa := range o.addrs {
					if oa.Skeleton == a.Skeleton && oc != a.Canonical {
						look[c], of[oc], ids[id], skels[a.Skeleton] = true, true, true, true
					}
				}
			}
		}
		if len(ids) > 0 {
			emit(KindLookalikeAddress, map[string]any{
				"addresses": sortedKeys(look), "skeletons": sortedKeys(skels),
				"lookalike_of": d.capped(sortedKeys(of)), "other_registrations": d.capped(d.ordered(sortedKeys(ids))),
			})
		}
	}

	mixed, scripts, disp, domains := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range canons {
		a := r.addrs[c]
		if a.MixedScript {
			mixed[c] = true
			for _, s := range a.Scripts {
				scripts[s] = true
			}
		}
		if d.disposable.Match(a) {
			disp[c], domains[a.Registrable] = true, true
		}
	}
	if len(mixed) > 0 && len(r.subs) > 0 {
		emit(KindMixedScript, map[string]any{"addresses": sortedKeys(mixed), "scripts": sortedKeys(scripts)})
	}
	if len(disp) > 0 && len(r.subs) > 0 {
		emit(KindDisposableDomain, map[string]any{"domains": sortedKeys(domains), "addresses": sortedKeys(disp)})
	}

	d.verificationSignals(r, emit)

	// reported_misuse
	repIDs, chans, repRegs, repAddrs := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range canons {
		for id, rep := range d.reports[c] {
			repIDs[id], chans[rep.Channel], repAddrs[c] = true, true, true
			if rep.RegistrationID != "" {
				repRegs[rep.RegistrationID] = true
			}
		}
	}
	if len(repIDs) > 0 {
		ids := sortedKeys(repIDs)
		emit(KindReportedMisuse, map[string]any{
			"addresses": sortedKeys(repAddrs), "report_ids": d.capped(ids), "report_count": len(ids),
			"channels": sortedKeys(chans), "reported_registrations": d.capped(d.ordered(sortedKeys(repRegs))),
		})
	}

	// linked_to_reported
	linked, via := map[string]bool{}, map[string]bool{}
	for k := range r.links {
		for id := range d.byLink[k] {
			if id == r.id || !d.reported(d.regs[id]) {
				continue
			}
			linked[id] = true
			kind, _, _ := strings.Cut(k, "\x00")
			via[kind] = true
		}
	}
	if len(linked) > 0 {
		ids := d.ordered(sortedKeys(linked))
		emit(KindLinkedToReported, map[string]any{
			"reported_registrations": d.capped(ids), "reported_count": len(ids), "via": sortedKeys(via),
		})
	}
	return out
}

// differentNIK reports whether some NIK of a differs from some NIK of b.
func differentNIK(a, b map[string]bool) bool {
	for x := range a {
		for y := range b {
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
func (d *Detector) verificationSignals(r *registration, emit func(string, map[string]any)) {
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
			devEvents = append(devEvents, v.eventID)
			devs[v.deviceID] = true
		}
		if netDiff {
			netEvents = append(netEvents, v.eventID)
			ips[v.ip] = true
		}
	}
	if len(devEvents) > 0 {
		emit(KindVerifiedOtherDevice, map[string]any{
			"registered_devices": d.capped(sortedKeys(r.devices)), "verified_devices": d.capped(sortedKeys(devs)),
			"verified_event_ids": d.capped(devEvents),
		})
	}
	if len(netEvents) > 0 {
		emit(KindVerifiedOtherNetwork, map[string]any{
			"registered_ips": d.capped(sortedKeys(r.ips)), "verified_ips": d.capped(sortedKeys(ips)),
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
	refs := append(slices.Clone(r.sent), r.subs...)
	for _, v := range r.verified {
		for _, ref := range refs {
			if !ref.order.Less(v.order) {
				continue
			}
			gap := v.at.Sub(ref.at)
			if gap < 0 || gap >= d.cfg.QuickClick {
				continue
			}
			if !best.found || gap < best.gap || (gap == best.gap && (v.order.Less(best.v.order) ||
				(v.order == best.v.order && ref.order.Less(best.ref.order)))) {
				best.gap, best.ref, best.v, best.found = gap, ref, v, true
			}
		}
	}
	if best.found {
		emit(KindVerifiedWithinSeconds, map[string]any{
			"seconds": math.Round(best.gap.Seconds()*1000) / 1000, "threshold_seconds": d.cfg.QuickClick.Seconds(),
			"sent_event_id": best.ref.eventID, "verified_event_id": best.v.eventID,
		})
	}
}

func mapKeys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
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
