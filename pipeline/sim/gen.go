package sim

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/waspada/waspada/pipeline/event"
)

// Label kinds. Planted frauds have Fraud=true; the organic kinds mark
// legitimate behaviour that looks suspicious (Fraud=false), so that an
// evaluation can report false alarms on exactly those.
const (
	KindDuplicateNIK       = "duplicate_nik"
	KindSamePersonOtherNIK = "same_person_different_nik"
	KindInvalidNIK         = "invalid_nik"
	KindReusedEmail        = "reused_email"
	KindPhotoReuse         = "photo_reuse" // another registration's KTP photo or selfie, transformed (Label.Group "photo:<transform>")
	KindBotSlash24         = "bot_slash24"
	KindBotRotatingIP      = "bot_rotating_ip"
	KindBotSlowDrip        = "bot_slow_drip"
	KindJokiRing           = "joki_ring"

	KindRetryStorm = "retry_storm" // organic: bad network, many re-submits from one IP
	KindAssisted   = "assisted"    // organic: a helper registers relatives from one device
)

// BotKinds are the planted burst patterns, in report order.
var BotKinds = []string{KindBotSlash24, KindBotRotatingIP, KindBotSlowDrip, KindJokiRing}

// Label says whether one event belongs to a planted fraud and of which
// kinds. Every event of a planted registration carries the same label
// (Kinds, Group); Group names the farm, ring or assisted group.
type Label struct {
	EventID        string   `json:"event_id"`
	RegistrationID string   `json:"registration_id"`
	Fraud          bool     `json:"fraud"`
	Kinds          []string `json:"kinds,omitempty"`
	Group          string   `json:"group,omitempty"`
}

// Generate emits exactly cfg.Events events in the decision order
// (occurred_at, event_id), each with its label. The emit callback owns ev
// and label after the call. A non-nil error from emit stops generation and
// is returned as is. Generate holds only the pending follow-up events of
// recent registrations in memory, so any size streams.
func Generate(cfg Config, emit func(ev *event.Event, label Label) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	g := newGen(cfg)
	g.plan()
	for g.emitted < cfg.Events && g.tasks.Len() > 0 {
		t := heap.Pop(&g.tasks).(task)
		if t.ev == nil {
			if next, ok := t.src.spawn(g, t.at); ok {
				g.schedule(next, t.src)
			}
			continue
		}
		g.emitted++
		t.ev.EventID = padID('E', g.emitted, 9)
		lab := Label{EventID: t.ev.EventID, RegistrationID: t.ev.RegistrationID}
		if t.lab != nil {
			lab.Fraud, lab.Group = t.lab.fraud, t.lab.group
			if len(t.lab.kinds) > 0 {
				lab.Kinds = append([]string(nil), t.lab.kinds...)
			}
		}
		if err := emit(t.ev, lab); err != nil {
			return err
		}
	}
	return nil
}

type labelInfo struct {
	fraud bool
	kinds []string
	group string
}

type source interface {
	// spawn creates what is due at `at` and says when it is due next.
	spawn(g *gen, at int64) (next int64, ok bool)
}

type task struct {
	at  int64 // unix milliseconds
	seq uint64
	ev  *event.Event // an event to emit, or nil for a source to run
	lab *labelInfo
	src source
}

type taskHeap []task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = task{}
	*h = old[:len(old)-1]
	return t
}

type gen struct {
	cfg       Config
	rng       *rand.Rand // organic stream
	tasks     taskHeap
	seq       uint64
	emitted   int
	regSeq    int
	personSeq int
	groupSeq  int
	recent    []*person
	startMs   int64
	norm      float64 // makes the diurnal curve average 1

	domains, phones, uas picker
	carrierBlocks        []string
}

func newGen(cfg Config) *gen {
	g := &gen{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		startMs: cfg.Start.UnixMilli(),
		domains: newPicker(emailDomains),
		phones:  newPicker(mobilePrefixes),
		uas:     newPicker(userAgents),
	}
	// Mobile CGNAT: a fixed set of busy /24 blocks per operator prefix, so
	// that organic traffic has heavy /24 keys like the real wave does.
	br := rand.New(rand.NewPCG(uint64(cfg.Seed), 7))
	for _, p := range carrierV4 {
		for _, o := range br.Perm(256)[:40] {
			g.carrierBlocks = append(g.carrierBlocks, p+"."+strconv.Itoa(o))
		}
	}
	var sum float64
	for m := 0; m < 24*60; m++ {
		sum += g.diurnalRaw(float64(m) / 60)
	}
	g.norm = 24 * 60 / sum
	return g
}

func (g *gen) schedule(at int64, src source) {
	g.seq++
	heap.Push(&g.tasks, task{at: at, seq: g.seq, src: src})
}

func (g *gen) push(at int64, ev *event.Event, lab *labelInfo) {
	g.seq++
	ev.OccurredAt = time.UnixMilli(at).UTC()
	heap.Push(&g.tasks, task{at: at, seq: g.seq, ev: ev, lab: lab})
}

// diurnalRaw is the unnormalised activity at local hour h (WIB): a morning
// peak around 10:00, a lunch shoulder and the evening peak around 20:00.
func (g *gen) diurnalRaw(h float64) float64 {
	bump := func(c, w float64) float64 {
		d := math.Abs(h - c)
		if d > 12 {
			d = 24 - d
		}
		return math.Exp(-d * d / (2 * w * w))
	}
	v := 0.8*bump(10, 2.5) + 0.5*bump(14, 2) + 1.0*bump(20, 2.2)
	return g.cfg.Wave.NightFloor + (1-g.cfg.Wave.NightFloor)*v
}

// rate is organic registrations per second at unix ms t.
func (g *gen) rate(t int64) float64 {
	local := float64((t/1000+7*3600)%86400) / 3600
	r := g.cfg.MeanRate * g.diurnalRaw(local) * g.norm
	if w := g.cfg.Wave; w.Surge > 0 {
		r *= 1 + w.Surge*math.Exp(-float64(t-g.startMs)/float64(w.SurgeDecay.Milliseconds()))
	}
	return r
}

// plan schedules the organic source and every bot farm.
func (g *gen) plan() {
	g.schedule(g.startMs, organicSource{})
	c := g.cfg
	o := c.Organic
	perReg := 1 + 1.5*o.RetryFraction + 22*o.StormFraction + o.VerifyFraction*(1+o.VerifiedFraction) +
		2*o.DocumentFraction + 12*o.StormFraction + o.PayoutFraction
	b := c.Bots
	botShare := b.Slash24 + b.RotatingIP + b.SlowDrip + b.JokiRing
	// The expected span: step the rate curve minute by minute until the
	// expected number of emitted events reaches Events. Follow-ups lag their
	// submission (about ten minutes on average), so a short stream is mostly
	// submissions; ignoring that would plant farms after the stream ends.
	var span int64
	var regs, emitted, pending float64
	const step = 10000 // ms
	for emitted < float64(c.Events) && span < 60*86400*1000 {
		m := g.rate(g.startMs+span) * step / 1000 / (1 - botShare)
		regs += m
		pending += m * (perReg - 1)
		arrived := pending * (1 - math.Exp(-step/600000.0))
		pending -= arrived
		emitted += m + arrived
		span += step
	}
	pr := rand.New(rand.NewPCG(uint64(c.Seed), 1))
	farm := 0
	for _, p := range []struct {
		kind     string
		share    float64
		lo, hi   int
		from, to float64 // start window as a fraction of the span
	}{
		{KindBotSlash24, b.Slash24, 100, 600, 0.05, 0.9},
		{KindBotRotatingIP, b.RotatingIP, 80, 400, 0.05, 0.9},
		{KindBotSlowDrip, b.SlowDrip, 40, 150, 0.05, 0.5},
		{KindJokiRing, b.JokiRing, 12, 40, 0.05, 0.7},
	} {
		budget := int(math.Round(p.share * regs))
		n := 0
		for budget >= b.MinFarmSize {
			size := p.lo + pr.IntN(p.hi-p.lo+1)
			if size > budget || budget-size < b.MinFarmSize {
				size = budget
			}
			budget -= size
			farm++
			n++
			start := g.startMs + int64((p.from+(p.to-p.from)*pr.Float64())*float64(span))
			f := newFarm(g, p.kind, fmt.Sprintf("%s-%d", strings.TrimPrefix(p.kind, "bot_"), n), size,
				rand.New(rand.NewPCG(uint64(c.Seed), uint64(1000+farm))))
			g.schedule(start, f)
		}
	}
}

// ---- people ----

type person struct {
	nik, name, birth, gender, email, phone string
	family                                 string
	// photos names whose KTP photo and selfie this person uploads: the id of
	// their first registration (set by newReg), or a victim's for planted
	// photo re-use; uploads says the first registration uploaded them.
	photos  string
	uploads bool
}

type picker struct {
	vals []string
	cum  []float64
}

func newPicker(ws []weighted) picker {
	p := picker{}
	s := 0.0
	for _, w := range ws {
		s += w.w
		p.vals = append(p.vals, w.v)
		p.cum = append(p.cum, s)
	}
	return p
}

func (p picker) pick(r *rand.Rand) string {
	x := r.Float64() * p.cum[len(p.cum)-1]
	return p.vals[sort.SearchFloat64s(p.cum, x)]
}

var provPicker = func() picker {
	ws := make([]weighted, len(provinces))
	for i, p := range provinces {
		ws[i] = weighted{strconv.Itoa(i), p.population}
	}
	return newPicker(ws)
}()

// randomRegion gives a plausible 4-digit regency code (province + kab/kota).
func randomRegion(r *rand.Rand) string {
	i, _ := strconv.Atoi(provPicker.pick(r))
	p := provinces[i]
	n := r.IntN(p.kab + p.kota)
	code := n + 1
	if n >= p.kab {
		code = 71 + n - p.kab
	}
	return p.code + pad2(code)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n % 100)
}

// padID formats prefix + n zero-padded to width digits (E000000123).
func padID(prefix byte, n, width int) string {
	s := strconv.Itoa(n)
	if len(s) >= width {
		return string(prefix) + s
	}
	return string(prefix) + strings.Repeat("0", width-len(s)) + s
}

// nikFor builds a structurally valid NIK: region(4) + district(2) +
// DDMMYY (day+40 for women) + serial(4).
func nikFor(r *rand.Rand, region, birth, gender string) string {
	day, _ := strconv.Atoi(birth[8:10])
	if gender == "F" {
		day += 40
	}
	serial := 1 + int(r.ExpFloat64()*300)
	if serial > 9999 {
		serial = 9999
	}
	s := strconv.Itoa(serial)
	return region + pad2(1+r.IntN(25)) + pad2(day) + birth[5:7] + birth[2:4] + strings.Repeat("0", 4-len(s)) + s
}

func (g *gen) newPerson(r *rand.Rand, region string) *person {
	if region == "" {
		region = randomRegion(r)
	}
	p := &person{gender: "M"}
	given := maleGiven
	if r.IntN(2) == 0 {
		p.gender, given = "F", femaleGiven
	}
	age := 18 + int(r.ExpFloat64()*11)
	if age > 64 {
		age = 18 + r.IntN(47)
	}
	year := g.cfg.Start.Year() - age - 1 + r.IntN(2)
	month := 1 + r.IntN(12)
	day := 1 + r.IntN(daysIn(year, month))
	p.birth = fmt.Sprintf("%04d-%02d-%02d", year, month, day)
	p.family = familyNames[r.IntN(len(familyNames))]
	p.name = g.nameFor(r, given, p.family)
	p.nik = nikFor(r, region, p.birth, p.gender)
	p.email = g.emailFor(r, p.name, g.domains.pick(r))
	p.phone = "+62" + g.phones.pick(r) + digits(r, 7+r.IntN(2))
	return p
}

func (g *gen) nameFor(r *rand.Rand, given []string, family string) string {
	name := given[r.IntN(len(given))]
	if r.IntN(10) < 3 {
		name += " " + given[r.IntN(len(given))]
	}
	if r.IntN(4) != 0 {
		name += " " + family
	}
	return name
}

// emailFor derives a mailbox from the name plus a number unique to this
// person, so organic addresses never collide by accident (a collision would
// be an unlabelled "reused email").
func (g *gen) emailFor(r *rand.Rand, name, domain string) string {
	g.personSeq++
	parts := strings.Fields(strings.ToLower(name))
	sep := []string{".", "", "_"}[r.IntN(3)]
	local := parts[0]
	if len(parts) > 1 && r.IntN(3) != 0 {
		local += sep + parts[len(parts)-1]
	}
	// A bijection of the sequence (prime modulus) looks random and stays unique.
	n := (int64(g.personSeq) * 48271) % 9999991
	return local + strconv.FormatInt(n, 10) + "@" + domain
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

func hexID(r *rand.Rand, prefix string, n int) string {
	const hx = "0123456789abcdef"
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	for range n {
		b = append(b, hx[r.IntN(16)])
	}
	return string(b)
}

// ---- networks ----

func (g *gen) organicIP(r *rand.Rand) string {
	o := g.cfg.Organic
	u := r.Float64()
	switch {
	case u < o.IPv6Fraction:
		return carrierV6[r.IntN(len(carrierV6))] + ":" + strconv.FormatInt(int64(r.IntN(0x10000)), 16) + ":" +
			strconv.FormatInt(int64(r.IntN(0x10000)), 16) + ":" + strconv.FormatInt(int64(1+r.IntN(0xffff)), 16) + "::" +
			strconv.FormatInt(int64(1+r.IntN(0xffff)), 16)
	case u < o.IPv6Fraction+o.HomeFraction:
		return homeV4[r.IntN(len(homeV4))] + "." + strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(1+r.IntN(254))
	default:
		return g.carrierBlocks[r.IntN(len(g.carrierBlocks))] + "." + strconv.Itoa(1+r.IntN(254))
	}
}

// ---- registrations ----

type reg struct {
	id               string
	p                *person
	ip, device, ua   string
	lab              *labelInfo
	verify, verified float64
	docs             float64
	payout           string // account set later by payout.changed, "" for none
	photoTransform   string // planted photo re-use: how the victim's photo was altered
	payoutDelayMin   int64
	payoutDelayMax   int64
}

func (g *gen) newReg(p *person, ip, device, ua string, lab *labelInfo) *reg {
	g.regSeq++
	o := g.cfg.Organic
	if p.photos == "" {
		p.photos = padID('R', g.regSeq, 8)
	}
	return &reg{id: padID('R', g.regSeq, 8), p: p, ip: ip, device: device, ua: ua, lab: lab,
		verify: o.VerifyFraction, verified: o.VerifiedFraction, docs: o.DocumentFraction}
}

func (g *gen) submitted(r *reg, at int64) {
	p := r.p
	g.push(at, &event.Event{Schema: event.SchemaV1, Type: event.Submitted, RegistrationID: r.id,
		NIK: p.nik, FullName: p.name, BirthDate: p.birth, Gender: p.gender, Email: p.email, Phone: p.phone,
		RegionCode: p.nik[:4], IP: r.ip, DeviceID: r.device, UserAgent: r.ua}, r.lab)
}

func (g *gen) upload(r *reg, at int64, kind string) {
	doc := event.Document{Kind: kind, URI: "file:///uploads/" + r.id + "/" + kind + ".jpg"}
	doc.SHA256, doc.PHash = g.photoHashes(r, kind)
	g.push(at, &event.Event{Schema: event.SchemaV1, Type: event.DocumentUploaded, RegistrationID: r.id,
		IP: r.ip, DeviceID: r.device, UserAgent: r.ua, Documents: []event.Document{doc}}, r.lab)
}

// lifecycle pushes the submission at `at` and its follow-ups: verification
// mail, click, KTP and selfie uploads, a payout account.
func (g *gen) lifecycle(rn *rand.Rand, r *reg, at int64) {
	g.submitted(r, at)
	if rn.Float64() < r.verify {
		sent := at + 2000 + rn.Int64N(28000)
		g.push(sent, &event.Event{Schema: event.SchemaV1, Type: event.VerificationSent, RegistrationID: r.id, Email: r.p.email}, r.lab)
		if rn.Float64() < r.verified {
			clicked := sent + 30000 + int64(rn.ExpFloat64()*20*60000)
			g.push(clicked, &event.Event{Schema: event.SchemaV1, Type: event.EmailVerified, RegistrationID: r.id,
				Email: r.p.email, IP: r.ip, DeviceID: r.device, UserAgent: r.ua}, r.lab)
		}
	}
	if rn.Float64() < r.docs {
		r.p.uploads = true
		ktp := at + 20000 + rn.Int64N(10*60000)
		g.upload(r, ktp, "ktp")
		g.upload(r, ktp+10000+rn.Int64N(5*60000), "selfie")
	}
	if r.payout != "" {
		d := r.payoutDelayMin + rn.Int64N(r.payoutDelayMax-r.payoutDelayMin+1)
		g.push(at+d, &event.Event{Schema: event.SchemaV1, Type: event.PayoutChanged, RegistrationID: r.id,
			IP: r.ip, DeviceID: r.device, UserAgent: r.ua, PayoutAccount: r.payout}, r.lab)
	}
}

func ewallet(r *rand.Rand, phone string) string {
	return ewallets[r.IntN(len(ewallets))] + ":0" + strings.TrimPrefix(phone, "+62")
}

// organicSource is the legitimate wave: a non-homogeneous Poisson process
// following rate(t), with planted identity frauds mixed in.
type organicSource struct{}

func (organicSource) spawn(g *gen, at int64) (int64, bool) {
	r := g.rng
	o := g.cfg.Organic
	if r.Float64() < o.AssistedFraction {
		g.groupSeq++
		g.startAssisted(at)
	} else {
		g.organicOne(at)
	}
	gap := r.ExpFloat64() / g.rate(at) * 1000
	return at + int64(math.Ceil(gap)), true
}

func (g *gen) remember(p *person) {
	const keep = 4096
	if len(g.recent) < keep {
		g.recent = append(g.recent, p)
		return
	}
	g.recent[g.rng.IntN(keep)] = p
}

func (g *gen) organicOne(at int64) {
	r := g.rng
	c := g.cfg
	p := g.newPerson(r, "")
	var lab *labelInfo
	photo := false
	if len(g.recent) > 0 {
		f := c.Fraud
		u := r.Float64()
		victim := g.recent[r.IntN(len(g.recent))]
		switch {
		case u < f.DuplicateNIK:
			p.nik = victim.nik
			if r.IntN(2) == 0 {
				p.name, p.birth, p.gender = victim.name, victim.birth, victim.gender
			}
			lab = &labelInfo{fraud: true, kinds: []string{KindDuplicateNIK}}
		case u < f.DuplicateNIK+f.SamePersonOtherNIK:
			p.name, p.birth, p.gender = victim.name, victim.birth, victim.gender
			for p.nik = nikFor(r, randomRegion(r), p.birth, p.gender); p.nik == victim.nik; {
				p.nik = nikFor(r, randomRegion(r), p.birth, p.gender)
			}
			lab = &labelInfo{fraud: true, kinds: []string{KindSamePersonOtherNIK}}
		case u < f.DuplicateNIK+f.SamePersonOtherNIK+f.InvalidNIK:
			p.nik = invalidNIK(r, p.nik)
			lab = &labelInfo{fraud: true, kinds: []string{KindInvalidNIK}}
		case u < f.DuplicateNIK+f.SamePersonOtherNIK+f.InvalidNIK+f.ReusedEmail:
			p.email = victim.email
			lab = &labelInfo{fraud: true, kinds: []string{KindReusedEmail}}
		case u < f.DuplicateNIK+f.SamePersonOtherNIK+f.InvalidNIK+f.ReusedEmail+f.PhotoReuse:
			// Another person's photos, altered: a new identity otherwise.
			// Remembered like an organic person so that the random stream
			// of everything else is the same with or without photo re-use.
			// Only photos that were uploaded can be re-used (and found).
			if victim.uploads {
				p.photos = victim.photos
				photo = true
			}
		}
	}
	if lab == nil {
		g.remember(p)
	}
	o := c.Organic
	rg := g.newReg(p, g.organicIP(r), hexID(r, "D", 12), g.uas.pick(r), lab)
	if photo {
		rg.photoTransform = photoTransforms[mix(uint64(g.cfg.Seed), rg.id, "transform")%uint64(len(photoTransforms))]
		rg.lab = &labelInfo{fraud: true, kinds: []string{KindPhotoReuse}, group: "photo:" + rg.photoTransform}
		rg.docs = 1
	}
	if r.Float64() < o.PayoutFraction {
		rg.payout, rg.payoutDelayMin, rg.payoutDelayMax = ewallet(r, p.phone), 10*60000, 6*3600000
	}
	u := r.Float64()
	storm := lab == nil && !photo && u < o.StormFraction
	if storm {
		rg.lab = &labelInfo{kinds: []string{KindRetryStorm}}
	}
	g.lifecycle(r, rg, at)
	switch {
	case storm:
		// A bad network: the same person re-submits and re-uploads many
		// times from one IP. Distinct identities: one.
		n := 5 + r.IntN(36)
		span := int64(2*60000 + r.IntN(28*60000))
		for i := range n {
			t := at + 1000 + span*int64(i+1)/int64(n) + r.Int64N(5000)
			g.submitted(rg, t)
			if i%3 == 0 {
				g.upload(rg, t+3000+r.Int64N(20000), "ktp")
			}
			if i%4 == 0 {
				g.upload(rg, t+3000+r.Int64N(20000), "selfie")
			}
		}
	case u < o.StormFraction+o.RetryFraction:
		for range 1 + r.IntN(2) {
			g.submitted(rg, at+5000+r.Int64N(3*60000))
		}
	}
}

// invalidNIK breaks a NIK's structure the way fabricated numbers do: a
// province code no province has, or date digits that are no date.
func invalidNIK(r *rand.Rand, nik string) string {
	b := []byte(nik)
	switch r.IntN(4) {
	case 0, 1:
		copy(b, invalidProvinceCodes[r.IntN(len(invalidProvinceCodes))])
	case 2: // day 32..39 or 72..79
		copy(b[6:], []string{"3", "7"}[r.IntN(2)]+strconv.Itoa(2+r.IntN(8)))
	default: // month 00 or 13..19
		m := []string{"00", "13", "14", "15", "16", "17", "18", "19"}[r.IntN(8)]
		copy(b[8:], m)
	}
	return string(b)
}

// assistedSource: a relative or village helper registering real people
// from one device, IP and often one phone. Legitimate.
type assistedSource struct {
	lab                    *labelInfo
	region, ip, device, ua string
	phone, family          string
	left                   int
}

func (g *gen) startAssisted(at int64) {
	r := g.rng
	size := 2
	for size < g.cfg.Organic.AssistedMax && r.Float64() < 0.55 {
		size++
	}
	helper := g.newPerson(r, "")
	s := &assistedSource{
		lab:    &labelInfo{kinds: []string{KindAssisted}, group: fmt.Sprintf("assisted-%d", g.groupSeq)},
		region: helper.nik[:4], ip: g.organicIP(r), device: hexID(r, "D", 12), ua: g.uas.pick(r),
		family: helper.family, left: size,
	}
	if r.Float64() < 0.6 {
		s.phone = helper.phone
	}
	s.spawn(g, at)
	if s.left > 0 {
		g.schedule(at+60000+r.Int64N(11*60000), s)
	}
}

func (s *assistedSource) spawn(g *gen, at int64) (int64, bool) {
	r := g.rng
	p := g.newPerson(r, s.region)
	if r.IntN(2) == 0 && strings.Count(p.name, " ") > 0 {
		// A family: the same family name.
		p.name = p.name[:strings.LastIndexByte(p.name, ' ')] + " " + s.family
	}
	if s.phone != "" {
		p.phone = s.phone
	}
	g.remember(p)
	g.lifecycle(r, g.newReg(p, s.ip, s.device, s.ua, s.lab), at)
	s.left--
	return at + 60000 + r.Int64N(11*60000), s.left > 0
}
