package sim

import (
	"math/rand/v2"
	"strconv"
)

// farm is one planted bot farm or joki ring. Each farm has its own random
// stream, so planting more farms does not change the organic stream.
type farm struct {
	kind string
	lab  *labelInfo
	r    *rand.Rand
	left int

	perMin float64 // slash24, rotating: mean registrations per minute
	gapLo  int64   // drip, joki: gap between registrations (ms)
	gapHi  int64
	block  string // slash24: the /24; drip: the phone block (all but 3 digits)
	device string // rotating, joki
	ua     string
	ip     string // joki
	phone  string // joki
	region string // joki
	payout string // joki: the joki's own e-wallet
	used   map[string]bool
	suffix []int // drip: unused last three digits of the SIM block
}

func newFarm(g *gen, kind, group string, size int, r *rand.Rand) *farm {
	f := &farm{kind: kind, r: r, left: size,
		lab: &labelInfo{fraud: true, kinds: []string{kind}, group: group}}
	switch kind {
	case KindBotSlash24:
		f.perMin = float64(40 + r.IntN(161))
		f.block = hostingV4[r.IntN(len(hostingV4))] + "." + strconv.Itoa(r.IntN(256))
	case KindBotRotatingIP:
		f.perMin = float64(20 + r.IntN(61))
		f.device = hexID(r, "D", 12)
		f.ua = g.uas.pick(r)
	case KindBotSlowDrip:
		f.gapLo, f.gapHi = 2*60000, 5*60000
		f.block = "+62" + g.phones.pick(r) + digits(r, 5)
		f.suffix = r.Perm(1000)
		f.ua = botUserAgents[r.IntN(len(botUserAgents))]
	case KindJokiRing:
		f.gapLo, f.gapHi = 3*60000, 10*60000
		joki := g.newPerson(r, "")
		f.device, f.ua, f.ip = hexID(r, "D", 12), g.uas.pick(r), g.organicIP(r)
		f.phone, f.region = joki.phone, joki.nik[:4]
		f.payout = ewallet(r, joki.phone)
		f.used = map[string]bool{}
	}
	return f
}

func (f *farm) spawn(g *gen, at int64) (int64, bool) {
	r := f.r
	var rg *reg
	switch f.kind {
	case KindBotSlash24:
		// Bought identity data, spoofed browsers, one hosting /24.
		p := g.newPerson(r, "")
		rg = g.newReg(p, f.block+"."+strconv.Itoa(1+r.IntN(254)), hexID(r, "D", 12), g.uas.pick(r), f.lab)
	case KindBotRotatingIP:
		// Residential proxies hide the network, but the emulator keeps
		// one device fingerprint.
		p := g.newPerson(r, "")
		rg = g.newReg(p, g.organicIP(r), f.device, f.ua, f.lab)
	case KindBotSlowDrip:
		// Everything rotates except the batch of SIM cards bought together.
		p := g.newPerson(r, "")
		s := f.suffix[f.left%1000]
		p.phone = f.block + string([]byte{byte('0' + s/100), byte('0' + s/10%10), byte('0' + s%10)})
		rg = g.newReg(p, g.organicIP(r), hexID(r, "D", 12), f.ua, f.lab)
	case KindJokiRing:
		// Villagers' real identities from one regency, typed in by one
		// man on his phone; their payouts later point at his e-wallet.
		var p *person
		for {
			p = g.newPerson(r, f.region)
			if !f.used[p.name] {
				break
			}
		}
		f.used[p.name] = true
		p.phone = f.phone
		rg = g.newReg(p, f.ip, f.device, f.ua, f.lab)
		rg.payout, rg.payoutDelayMin, rg.payoutDelayMax = f.payout, 30*60000, 6*3600000
	}
	rg.verify, rg.verified = 0.98, 0.95
	g.lifecycle(r, rg, at)
	f.left--
	var gap int64
	if f.perMin > 0 {
		gap = int64(r.ExpFloat64()*60000/f.perMin) + 1
	} else {
		gap = f.gapLo + r.Int64N(f.gapHi-f.gapLo+1)
	}
	return at + gap, f.left > 0
}
