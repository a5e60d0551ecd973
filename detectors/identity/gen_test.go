package identity

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/waspada/waspada/pipeline/event"
)

var (
	genFirst = []string{"AGUS", "BUDI", "SITI", "DEWI", "RINA", "ANDI", "EKO", "NUR", "SRI", "WAHYU", "ADI", "PUTRI", "RIZKI",
		"FAJAR", "INDAH", "YUSUF", "LESTARI", "BAMBANG", "SUSANTI", "HENDRA", "DIAN", "ARIF", "MEGA", "TAUFIK", "YULI",
		"NANANG", "ASEP", "UJANG", "KOMANG", "MADE", "KETUT", "NYOMAN", "RATNA", "HARTONO", "SUPARMAN", "ROSMINI", "IWAN",
		"DEDI", "YANTI", "FITRI", "ILHAM", "GILANG", "SAFITRI", "HERU", "JOKO", "LINDA", "MARLINA", "NOVI", "OKTA", "PRASETYO"}
	genLast = []string{"SANTOSO", "WIJAYA", "HIDAYAT", "SAPUTRA", "LESTARI", "PRATAMA", "KURNIAWAN", "SETIAWAN", "RAHMAN",
		"NASUTION", "SIREGAR", "HARAHAP", "SIMANJUNTAK", "SARFINAL", "WULANDARI", "PERMATA", "GUNAWAN", "SUSILO", "HAKIM",
		"FIRMANSYAH", "SYAHPUTRA", "MAULANA", "RAMADHAN", "HASIBUAN", "LUBIS", "TANJUNG", "PANGGABEAN", "MANURUNG", "SITORUS",
		"GINTING", "TARIGAN", "SEMBIRING", "PURBA", "DAMANIK", "SINAGA", "PANJAITAN", "NAINGGOLAN", "SIHOMBING", "BUTAR",
		"HUTAPEA", "MARPAUNG", "SIAHAAN", "PARDEDE", "SITUMORANG", "SIMATUPANG", "SILALAHI", "SIBARANI", "SARAGIH", "SIPAYUNG", ""}
	genProvinces = func() []int {
		var p []int
		for k := range provinces {
			p = append(p, k)
		}
		// map order is random: sort for a reproducible generator
		for i := 1; i < len(p); i++ {
			for j := i; j > 0 && p[j] < p[j-1]; j-- {
				p[j], p[j-1] = p[j-1], p[j]
			}
		}
		return p
	}()
	genEpoch = time.Date(2026, 4, 11, 0, 0, 0, 0, time.UTC)
)

// person is a synthetic applicant with a realistic, structurally valid NIK.
type person struct {
	nik, name, birth, gender, email, phone, region string
}

func genPerson(r *rand.Rand, i int) person {
	prov := genProvinces[r.IntN(len(genProvinces))]
	reg := 1 + r.IntN(30)
	dist := 1 + r.IntN(25)
	y := 1960 + r.IntN(46)
	m := 1 + r.IntN(12)
	d := 1 + r.IntN(daysIn[m])
	female := r.IntN(2) == 0
	dd := d
	g := "M"
	if female {
		dd += 40
		g = "F"
	}
	nik := fmt.Sprintf("%02d%02d%02d%02d%02d%02d%04d", prov, reg, dist, dd, m, y%100, 1+r.IntN(9999))
	name := genFirst[r.IntN(len(genFirst))]
	if l := genLast[r.IntN(len(genLast))]; l != "" {
		name += " " + l
	}
	return person{nik: nik, name: name, birth: fmt.Sprintf("%04d-%02d-%02d", y, m, d), gender: g,
		email: fmt.Sprintf("%s.%d@example.co.id", genFirst[r.IntN(len(genFirst))], i),
		phone: fmt.Sprintf("+628%010d", r.Int64N(1e10)), region: nik[:4]}
}

func submitted(evID, regID string, at time.Duration, p person) *event.Event {
	return &event.Event{Schema: event.SchemaV1, EventID: evID, Type: event.Submitted, OccurredAt: genEpoch.Add(at),
		RegistrationID: regID, NIK: p.nik, FullName: p.name, BirthDate: p.birth, Gender: p.gender,
		Email: p.email, Phone: p.phone, RegionCode: p.region}
}

// gen produces a synthetic registration stream with the cases the
// detector looks for mixed in: NIK reuse (a joki reusing a NIK with other
// contact data, the same person registering twice), retries with the same
// data, retries with another NIK, the same person under another NIK, and
// events sharing one occurred_at millisecond (ties broken by event_id).
// Every registration's own submissions come in decision order. Reused
// identities are drawn from the last len(recent) people, so the generator
// itself holds little memory at any stream length.
type gen struct {
	r       *rand.Rand
	recent  []person
	regs    int
	events  int
	at      time.Duration
	pending *event.Event // a retry, emitted next
}

func newGen(seed uint64, ring int) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, 42)), recent: make([]person, 0, ring)}
}

func (g *gen) evID() string { g.events++; return fmt.Sprintf("E%09d", g.events-1) }

func (g *gen) next() *event.Event {
	if ev := g.pending; ev != nil {
		g.pending = nil
		return ev
	}
	r := g.r
	i := g.regs
	g.regs++
	if r.IntN(4) != 0 {
		g.at += time.Duration(r.IntN(3)) * time.Millisecond // ties are common
	}
	p := genPerson(r, i)
	if n := len(g.recent); n > 0 {
		switch x := r.IntN(100); {
		case x < 10: // reuse an earlier NIK with other data
			p.nik = g.recent[r.IntN(n)].nik
		case x < 14: // same person registers again, same NIK
			q := g.recent[r.IntN(n)]
			q.email = p.email
			p = q
		case x < 18: // same person, another NIK
			q := g.recent[r.IntN(n)]
			q.nik = p.nik
			p = q
		}
	}
	if len(g.recent) < cap(g.recent) {
		g.recent = append(g.recent, p)
	} else {
		g.recent[i%cap(g.recent)] = p
	}
	regID := fmt.Sprintf("R%08d", i)
	ev := submitted(g.evID(), regID, g.at, p)
	switch x := r.IntN(100); {
	case x < 8: // retry with the same data
		g.pending = submitted(g.evID(), regID, g.at+time.Duration(1+r.IntN(5000))*time.Millisecond, p)
	case x < 11: // retry with another NIK (a typo fixed, or a joki trying another)
		q := p
		q.nik = genPerson(r, i).nik
		if r.IntN(2) == 0 {
			q.nik = g.recent[r.IntN(len(g.recent))].nik
		}
		g.pending = submitted(g.evID(), regID, g.at+time.Duration(1+r.IntN(5000))*time.Millisecond, q)
	}
	return ev
}

// genStream returns the events of n registrations (about 1.1 n events).
func genStream(seed uint64, n int) []*event.Event {
	g := newGen(seed, max(n, 1))
	var evs []*event.Event
	for g.regs < n || g.pending != nil {
		evs = append(evs, g.next())
	}
	return evs
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
