package identity

import (
	"sort"

	"github.com/cespare/xxhash/v2"
)

// This file holds the compact state: a byte arena for the strings the
// evidence needs, registrations in fixed-size pages, and three indexes
// (registration id, NIK, person) whose values are registration indexes.
// Groups (a NIK or a person shared by several registrations) are the rare
// case and get their own small structs.

// strRef locates a string in the arena: chunk (24 bits), offset (24 bits),
// length (16 bits).
type strRef uint64

const (
	arenaChunk = 1 << 20
	maxStrLen  = 1<<16 - 1
)

// arena stores strings back to back in 1 MiB chunks: no per-string header,
// no pointer for the garbage collector to scan, and no doubling copy when it
// grows.
type arena struct {
	chunks [][]byte
}

func (a *arena) add(s string) strRef {
	if len(s) > maxStrLen {
		// Ids are capped at 4096 bytes by the decoder; longer ones are
		// compared on their first 64 KiB.
		s = s[:maxStrLen]
	}
	n := len(s)
	if len(a.chunks) == 0 {
		a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
	}
	c := len(a.chunks) - 1
	if cap(a.chunks[c])-len(a.chunks[c]) < n {
		a.chunks = append(a.chunks, make([]byte, 0, max(arenaChunk, n)))
		c++
	}
	off := len(a.chunks[c])
	a.chunks[c] = append(a.chunks[c], s...)
	return strRef(uint64(c)<<40 | uint64(off)<<16 | uint64(n))
}

func (a *arena) bytes(r strRef) []byte {
	c, off, n := uint64(r)>>40, (uint64(r)>>16)&(1<<24-1), uint64(r)&0xFFFF
	return a.chunks[c][off : off+n]
}

func (a *arena) str(r strRef) string { return string(a.bytes(r)) }

func (a *arena) size() int {
	s := 0
	for _, c := range a.chunks {
		s += cap(c)
	}
	return s
}

// claim is one registration's use of one NIK: the data of its earliest
// submission (in decision order) with that NIK. 48 bytes. Names, emails and
// phones are kept as hashes of their normalised form: the evidence needs
// only "same or different", and the values themselves are in the
// registrations table.
type claim struct {
	nik   uint64 // nikKey
	at    int64  // occurred_at, unix ns
	ev    strRef // event_id
	name  uint64 // hash of NormalizeName(full_name); 0 = empty
	birth int32  // y*512+m*32+d; 0 = unknown
	email uint32 // hash of the normalised email; 0 = empty
	phone uint32 // hash of the normalised phone; 0 = empty
	extra uint32 // on a registration's first claim: 1 if it has more claims
}

// reg is one registration: 56 bytes.
type reg struct {
	id    strRef
	first claim
}

const (
	pageBits = 16
	pageSize = 1 << pageBits
	// groupBit marks an index value that names a group rather than the
	// single registration holding the key.
	groupBit = 1 << 31
	// malformedBit marks NIK keys of strings that are not 16 digits; those
	// keys are hashes, 16-digit NIKs are their own numeric value.
	malformedBit = 1 << 63
)

type nikGroup struct {
	nik     uint64
	members []nikMember // sorted by claim order
}

// nikMember keeps fingerprints of the evidence last emitted for the
// member, so a refresh emits only what changed.
type nikMember struct {
	reg          uint32
	fpDup, fpLat uint64
}

type personGroup struct {
	key     uint64
	members []personMember // sorted by claim order
}

type personMember struct {
	reg uint32
	nik uint64
	fp  uint64
}

func (d *Detector) regAt(i uint32) *reg { return &d.pages[i>>pageBits][i&(pageSize-1)] }

func (d *Detector) lookup(id string) (uint32, bool) {
	i, ok := d.byID[xxhash.Sum64String(id)]
	if !ok {
		return 0, false
	}
	if string(d.ar.bytes(d.regAt(i).id)) == trimID(id) {
		return i, true
	}
	// 64-bit collision with another id: the loser lives in byIDx.
	j, ok := d.byIDx[trimID(id)]
	return j, ok
}

func trimID(id string) string {
	if len(id) > maxStrLen {
		return id[:maxStrLen]
	}
	return id
}

func (d *Detector) newReg(id string, c claim) uint32 {
	i := uint32(d.n)
	if d.n&(pageSize-1) == 0 {
		d.pages = append(d.pages, make([]reg, pageSize))
	}
	d.n++
	r := d.regAt(i)
	r.id = d.ar.add(id)
	r.first = c
	h := xxhash.Sum64String(id)
	if _, taken := d.byID[h]; taken {
		if d.byIDx == nil {
			d.byIDx = map[string]uint32{}
		}
		d.byIDx[trimID(id)] = i
	} else {
		d.byID[h] = i
	}
	return i
}

// claims returns the registration's claims; the first is the inline one.
// The returned pointers stay valid until the next claim is added.
func (d *Detector) claimFor(ri uint32, nik uint64) *claim {
	r := d.regAt(ri)
	if r.first.nik == nik {
		return &r.first
	}
	if r.first.extra == 0 {
		return nil
	}
	cs := d.more[ri]
	for k := range cs {
		if cs[k].nik == nik {
			return &cs[k]
		}
	}
	return nil
}

// claimsOf returns the registration's claims in decision order, in a
// buffer reused by the next call: do not hold it across calls.
func (d *Detector) claimsOf(ri uint32) []claim {
	r := d.regAt(ri)
	d.buf = append(d.buf[:0], r.first)
	if r.first.extra != 0 {
		d.buf = append(d.buf, d.more[ri]...)
		sortClaims(d, d.buf)
	}
	return d.buf
}

func sortClaims(d *Detector, cs []claim) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && d.less(&cs[j], &cs[j-1]); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

func (d *Detector) addClaim(ri uint32, c claim) {
	r := d.regAt(ri)
	r.first.extra = 1
	if d.more == nil {
		d.more = map[uint32][]claim{}
	}
	d.more[ri] = append(d.more[ri], c)
}

// less is the decision order (occurred_at, event_id) of two claims.
func (d *Detector) less(a, b *claim) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return string(d.ar.bytes(a.ev)) < string(d.ar.bytes(b.ev))
}

// lessEvent compares a claim not yet in the arena (at, ev) with a stored one.
func (d *Detector) lessEvent(at int64, ev string, b *claim) bool {
	if at != b.at {
		return at < b.at
	}
	return ev < string(d.ar.bytes(b.ev))
}

func personKey(c *claim) uint64 {
	if c.name == 0 || c.birth == 0 {
		return 0
	}
	k := fmix64(c.name ^ (uint64(uint32(c.birth)) * 0x9E3779B97F4A7C15))
	if k == 0 {
		k = 1
	}
	return k
}

// fmix64 is MurmurHash3's finaliser: a bijection that spreads bits.
func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

func hash32(s string) uint32 {
	if s == "" {
		return 0
	}
	h := uint32(xxhash.Sum64String(s))
	if h == 0 {
		h = 1
	}
	return h
}

func hash64(s string) uint64 {
	if s == "" {
		return 0
	}
	h := xxhash.Sum64String(s)
	if h == 0 {
		h = 1
	}
	return h
}

// nikKey maps a NIK to its index key: the numeric value when the canonical
// form is 16 digits (exact), else malformedBit|hash (a 63-bit hash; two
// different malformed strings colliding would be treated as one NIK, a
// risk of about n²/2^64 that is accepted). Malformed strings are kept
// (truncated) so that evidence can quote them.
func (d *Detector) nikKey(raw string) uint64 {
	canon := CanonicalNIK(raw)
	if len(canon) == 16 && allDigits(canon) {
		return nikValue(canon)
	}
	k := malformedBit | (xxhash.Sum64String(raw) &^ malformedBit)
	if _, ok := d.rawNIKs[k]; !ok {
		if d.rawNIKs == nil {
			d.rawNIKs = map[uint64]string{}
		}
		d.rawNIKs[k] = d.rawNIK(raw)
	}
	return k
}

func (d *Detector) nikText(k uint64) string {
	if k&malformedBit == 0 {
		return formatNIK(k)
	}
	return d.rawNIKs[k]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func packBirth(s string) int32 {
	y, m, dd, ok := splitDate(s)
	if !ok {
		return 0
	}
	return int32(y*512 + m*32 + dd)
}

// placeNIK puts registration ri (whose claim on nik is new or moved earlier)
// in its place in the NIK index. It reports whether the NIK is shared.
func (d *Detector) placeNIK(nik uint64, ri uint32) bool {
	v, ok := d.nik[nik]
	if !ok {
		d.nik[nik] = ri
		return false
	}
	if v&groupBit == 0 {
		if v == ri {
			return false
		}
		d.nikGroups = append(d.nikGroups, nikGroup{nik: nik, members: []nikMember{{reg: v}}})
		v = groupBit | uint32(len(d.nikGroups)-1)
		d.nik[nik] = v
	}
	g := &d.nikGroups[v&^groupBit]
	m := nikMember{reg: ri}
	for k := range g.members {
		if g.members[k].reg == ri {
			m = g.members[k]
			g.members = append(g.members[:k], g.members[k+1:]...)
			break
		}
	}
	c := d.claimFor(ri, nik)
	at := sort.Search(len(g.members), func(k int) bool { return d.less(c, d.claimFor(g.members[k].reg, nik)) })
	g.members = append(g.members, nikMember{})
	copy(g.members[at+1:], g.members[at:])
	g.members[at] = m
	return true
}

// placePerson is placeNIK for the person index; members are claims.
func (d *Detector) placePerson(key uint64, ri uint32, nik uint64) {
	if key == 0 {
		return
	}
	v, ok := d.person[key]
	if !ok {
		d.person[key] = ri
		return
	}
	if v&groupBit == 0 {
		// The single holder is registration v; find which of its claims.
		if v == ri && d.personClaims(v, key) == 1 {
			return
		}
		var first []personMember
		for _, c := range d.claimsOf(v) {
			if personKey(&c) == key && !(v == ri && c.nik == nik) {
				first = append(first, personMember{reg: v, nik: c.nik})
			}
		}
		d.personGroups = append(d.personGroups, personGroup{key: key, members: first})
		v = groupBit | uint32(len(d.personGroups)-1)
		d.person[key] = v
	}
	g := &d.personGroups[v&^groupBit]
	m := personMember{reg: ri, nik: nik}
	for k := range g.members {
		if g.members[k].reg == ri && g.members[k].nik == nik {
			m = g.members[k]
			g.members = append(g.members[:k], g.members[k+1:]...)
			break
		}
	}
	c := d.claimFor(ri, nik)
	at := sort.Search(len(g.members), func(k int) bool {
		return d.less(c, d.claimFor(g.members[k].reg, g.members[k].nik))
	})
	g.members = append(g.members, personMember{})
	copy(g.members[at+1:], g.members[at:])
	g.members[at] = m
}

// personClaims counts the claims of ri under a person key.
func (d *Detector) personClaims(ri uint32, key uint64) int {
	n := 0
	r := d.regAt(ri)
	if personKey(&r.first) == key {
		n++
	}
	if r.first.extra != 0 {
		for k := range d.more[ri] {
			if personKey(&d.more[ri][k]) == key {
				n++
			}
		}
	}
	return n
}

// removePerson drops claim (ri, nik) from a person group after the claim's
// data was replaced by an earlier submission with another name or birth
// date. Signals already emitted for the old group stay (see doc.go).
func (d *Detector) removePerson(key uint64, ri uint32, nik uint64) {
	v, ok := d.person[key]
	if !ok {
		return
	}
	if v&groupBit == 0 {
		if v == ri && d.personClaims(ri, key) == 0 {
			delete(d.person, key)
		}
		return
	}
	g := &d.personGroups[v&^groupBit]
	for k := range g.members {
		if g.members[k].reg == ri && g.members[k].nik == nik {
			g.members = append(g.members[:k], g.members[k+1:]...)
			return
		}
	}
}

func (d *Detector) nikGroup(nik uint64) *nikGroup {
	if v, ok := d.nik[nik]; ok && v&groupBit != 0 {
		return &d.nikGroups[v&^groupBit]
	}
	return nil
}

func (d *Detector) personGroup(key uint64) *personGroup {
	if key == 0 {
		return nil
	}
	if v, ok := d.person[key]; ok && v&groupBit != 0 {
		return &d.personGroups[v&^groupBit]
	}
	return nil
}
