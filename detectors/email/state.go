package email

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// This file holds the compact state (see "State" in doc.go): strings as
// 8-byte cstr values (packed when short and regular, else in a byte arena),
// registrations as fixed-size records in pages with the first value of
// every list inline, and the indexes as open-addressing tables of uint32
// item numbers. Every index is exact: a lookup compares the stored string,
// so a hash collision costs a probe, never a wrong answer.

// cstr is a compact string. 0 is "". With packedBit set it holds the string
// itself (see pack); otherwise it locates the string in the arena.
// Encoding is deterministic, so two packed values are equal exactly when
// their strings are.
type cstr uint64

const packedBit = 1 << 63

// Packed modes (bits 61-62).
const (
	modeDigits    = 0 // 1..16 decimal digits: NIKs
	modePrefixDec = 1 // one non-digit ASCII byte + 0..15 digits: event, registration ids, phones
	modePrefixHex = 2 // one non-digit ASCII byte + 1..12 lower-case hex digits: device ids
	modeIPv4      = 3 // dotted-quad IPv4 in canonical form
)

// pack returns the packed form of s, if it has one.
func pack(s string) (cstr, bool) {
	n := len(s)
	if n == 0 || n > 16 {
		return 0, false
	}
	if isDigits(s) {
		v, _ := strconv.ParseUint(s, 10, 64)
		return cstr(packedBit | modeDigits<<61 | uint64(n-1)<<54 | v), true
	}
	p := s[0]
	if p >= '0' && p <= '9' {
		if v, ok := parseIPv4(s); ok {
			return cstr(packedBit | modeIPv4<<61 | uint64(v)), true
		}
		return 0, false
	}
	if p >= 0x80 {
		return 0, false
	}
	rest := s[1:]
	if len(rest) <= 15 && isDigits(rest) {
		var v uint64
		for i := 0; i < len(rest); i++ {
			v = v*10 + uint64(rest[i]-'0')
		}
		return cstr(packedBit | modePrefixDec<<61 | uint64(p)<<54 | uint64(len(rest))<<50 | v), true
	}
	if len(rest) >= 1 && len(rest) <= 12 && isLowerHex(rest) {
		var v uint64
		for i := 0; i < len(rest); i++ {
			c := rest[i]
			if c <= '9' {
				v = v<<4 | uint64(c-'0')
			} else {
				v = v<<4 | uint64(c-'a'+10)
			}
		}
		return cstr(packedBit | modePrefixHex<<61 | uint64(p)<<52 | uint64(len(rest))<<48 | v), true
	}
	return 0, false
}

// appendPacked appends the string of a packed value.
func appendPacked(b []byte, c cstr) []byte {
	u := uint64(c)
	switch (u >> 61) & 3 {
	case modeDigits:
		return appendPadded(b, u&(1<<54-1), int(u>>54&15)+1)
	case modePrefixDec:
		b = append(b, byte(u>>54&0x7f))
		return appendPadded(b, u&(1<<50-1), int(u>>50&15))
	case modePrefixHex:
		b = append(b, byte(u>>52&0x7f))
		n := int(u >> 48 & 15)
		for i := n - 1; i >= 0; i-- {
			b = append(b, "0123456789abcdef"[u>>(4*uint(i))&15])
		}
		return b
	default:
		v := uint32(u)
		for i := 3; i >= 0; i-- {
			b = strconv.AppendUint(b, uint64(v>>(8*uint(i))&255), 10)
			if i > 0 {
				b = append(b, '.')
			}
		}
		return b
	}
}

func appendPadded(b []byte, v uint64, n int) []byte {
	if n == 0 {
		return b
	}
	var tmp [20]byte
	s := strconv.AppendUint(tmp[:0], v, 10)
	for i := len(s); i < n; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parseIPv4 accepts only the form strconv would print back: four decimal
// octets without leading zeros.
func parseIPv4(s string) (uint32, bool) {
	var v uint32
	parts := 0
	for len(s) > 0 || parts == 0 {
		dot := strings.IndexByte(s, '.')
		part := s
		if dot >= 0 {
			part, s = s[:dot], s[dot+1:]
		} else {
			s = ""
		}
		if len(part) == 0 || len(part) > 3 || (len(part) > 1 && part[0] == '0') || !isDigits(part) {
			return 0, false
		}
		o, _ := strconv.Atoi(part)
		if o > 255 || parts == 4 {
			return 0, false
		}
		v = v<<8 | uint32(o)
		parts++
		if dot >= 0 && s == "" {
			return 0, false // trailing dot
		}
	}
	return v, parts == 4
}

// Arena references (packedBit clear): chunk (20 bits), offset (20 bits),
// length (23 bits). Strings of 1 MiB or more get a chunk of their own;
// strings of 8 MiB or more (only possible with limits far above the
// defaults) are kept in a plain slice, under chunk hugeChunk.
const (
	arenaChunk = 1 << 20
	maxArenaN  = 1<<23 - 1
	hugeChunk  = 1<<20 - 1
)

type arena struct {
	chunks [][]byte
	huge   []string
}

func (a *arena) add(s string) cstr {
	n := len(s)
	if n > maxArenaN {
		a.huge = append(a.huge, strings.Clone(s))
		return cstr(uint64(hugeChunk)<<43 | uint64(len(a.huge)))
	}
	c := len(a.chunks) - 1
	if c < 0 || cap(a.chunks[c])-len(a.chunks[c]) < n {
		a.chunks = append(a.chunks, make([]byte, 0, max(arenaChunk, n)))
		c++
	}
	off := len(a.chunks[c])
	a.chunks[c] = append(a.chunks[c], s...)
	return cstr(uint64(c)<<43 | uint64(off)<<23 | uint64(n))
}

// bytes returns the arena bytes of an unpacked value (no copy).
func (a *arena) bytes(c cstr) []byte {
	u := uint64(c)
	ch := u >> 43
	if ch == hugeChunk {
		s := a.huge[u&(1<<43-1)-1]
		return []byte(s)
	}
	off, n := u>>23&(1<<20-1), u&maxArenaN
	return a.chunks[ch][off : off+n]
}

// cs returns the cstr of s, storing it if it has no packed form.
func (a *arena) cs(s string) cstr {
	if s == "" {
		return 0
	}
	if c, ok := pack(s); ok {
		return c
	}
	return a.add(s)
}

func (a *arena) str(c cstr) string {
	switch {
	case c == 0:
		return ""
	case c&packedBit != 0:
		var buf [24]byte
		return string(appendPacked(buf[:0], c))
	}
	return string(a.bytes(c))
}

// eq reports whether c holds s; p is pack(s) (0 when s has no packed form).
func (a *arena) eq(c cstr, s string, p cstr) bool {
	if c&packedBit != 0 || p != 0 {
		return c == p
	}
	return c != 0 && string(a.bytes(c)) == s
}

// eqC reports whether two cstr values hold the same string.
func (a *arena) eqC(x, y cstr) bool {
	if x == y {
		return true
	}
	if x&packedBit != 0 || y&packedBit != 0 || x == 0 || y == 0 {
		return false
	}
	return string(a.bytes(x)) == string(a.bytes(y))
}

// cmp compares the strings of c and s.
func (a *arena) cmp(c cstr, s string) int {
	if c&packedBit != 0 {
		var buf [24]byte
		return strings.Compare(string(appendPacked(buf[:0], c)), s)
	}
	if c == 0 {
		return strings.Compare("", s)
	}
	return strings.Compare(string(a.bytes(c)), s)
}

func (a *arena) cmpC(x, y cstr) int {
	if x == y {
		return 0
	}
	if y&packedBit != 0 {
		var buf [24]byte
		return a.cmp(x, string(appendPacked(buf[:0], y)))
	}
	if y == 0 {
		return a.cmp(x, "")
	}
	return a.cmp(x, string(a.bytes(y)))
}

// hashOf is the table hash of a string whose packed form is p.
func hashOf(s string, p cstr) uint64 {
	if p != 0 {
		return fmix64(uint64(p))
	}
	return xxhash.Sum64String(s)
}

func (a *arena) hashC(c cstr) uint64 {
	if c&packedBit != 0 {
		return fmix64(uint64(c))
	}
	return xxhash.Sum64(a.bytes(c))
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

// slotTable is an open-addressing (linear probing) table of item numbers:
// 5 bytes a slot (item+1 and an 8-bit hash tag), grown at 13/16 load. The
// items keep their keys; the owner supplies equality and the hash.
type slotTable struct {
	slots []uint32
	tags  []uint8
	n     int
}

func (t *slotTable) mask() uint64 { return uint64(len(t.slots) - 1) }

func tagOf(h uint64) uint8 { return uint8(h >> 56) }

// needGrow reports whether one more item needs a bigger table.
func (t *slotTable) needGrow() bool { return (t.n+1)*16 > len(t.slots)*13 }

// put stores item at the first free slot of h (the caller checked that the
// key is absent and grew the table).
func (t *slotTable) put(h uint64, item uint32) {
	m := t.mask()
	for i := h & m; ; i = (i + 1) & m {
		if t.slots[i] == 0 {
			t.slots[i], t.tags[i] = item+1, tagOf(h)
			t.n++
			return
		}
	}
}

// rebuild makes a table of twice the size (at least 1024 slots) holding
// items 0..n-1, whose hashes hash returns.
func (t *slotTable) rebuild(n int, hash func(uint32) uint64) {
	size := max(1024, 2*len(t.slots))
	for (n+1)*16 > size*13 {
		size *= 2
	}
	t.slots, t.tags, t.n = make([]uint32, size), make([]uint8, size), 0
	for i := range uint32(n) {
		t.put(hash(i), i)
	}
}

// Pages of fixed-size records: appending never moves a record, so
// pointers to records stay valid.
const (
	pageBits = 12
	pageSize = 1 << pageBits
)

// value is one distinct string of a kind (device id, IP, phone, address)
// and the registrations listed under it (for addresses: those with it as
// canonical address; Detector.skelRegs has those with a look-alike
// address whose skeleton it is): 12 bytes.
type value struct {
	lo, hi uint32 // the cstr
	a      regList
}

func (v *value) s() cstr { return cstr(uint64(v.hi)<<32 | uint64(v.lo)) }

// values interns the strings of one kind. Value ids start at 1; 0 is none.
type values struct {
	pages [][]value
	n     int
	tab   slotTable
}

func (v *values) at(id uint32) *value {
	i := id - 1
	return &v.pages[i>>pageBits][i&(pageSize-1)]
}

func (v *values) lookup(ar *arena, s string, p cstr, h uint64) (uint32, bool) {
	if len(v.tab.slots) == 0 {
		return 0, false
	}
	m, tag := v.tab.mask(), tagOf(h)
	for i := h & m; ; i = (i + 1) & m {
		it := v.tab.slots[i]
		if it == 0 {
			return 0, false
		}
		if v.tab.tags[i] == tag && ar.eq(v.at(it).s(), s, p) {
			return it, true
		}
	}
}

// intern returns the id of s, adding it if new; "" is 0.
func (v *values) intern(ar *arena, s string) uint32 {
	if s == "" {
		return 0
	}
	p, _ := pack(s)
	h := hashOf(s, p)
	if id, ok := v.lookup(ar, s, p, h); ok {
		return id
	}
	if v.tab.needGrow() {
		v.tab.rebuild(v.n, func(i uint32) uint64 { return ar.hashC(v.at(i + 1).s()) })
	}
	if v.n&(pageSize-1) == 0 {
		v.pages = append(v.pages, make([]value, pageSize))
	}
	v.n++
	id := uint32(v.n)
	c := p
	if c == 0 {
		c = ar.add(s)
	}
	*v.at(id) = value{lo: uint32(c), hi: uint32(c >> 32)}
	v.tab.put(h, id-1)
	return id
}

// A regList is the set of registrations under one key: 0 for none,
// registration index+1 for one, groupBit|g for d.groups[g] (the rare
// case of a key shared by several registrations).
type regList = uint32

const groupBit = 1 << 31

func (d *Detector) addToList(l *regList, ri uint32) {
	switch {
	case *l == 0:
		*l = ri + 1
	case *l&groupBit == 0:
		if *l == ri+1 {
			return
		}
		d.groups = append(d.groups, []uint32{*l - 1, ri})
		*l = groupBit | uint32(len(d.groups)-1)
	default:
		g := &d.groups[*l&^groupBit]
		if !slices.Contains(*g, ri) {
			*g = append(*g, ri)
		}
	}
}

// members returns the registrations of l; one is the caller's buffer for
// the single case.
func (d *Detector) members(l regList, one *[1]uint32) []uint32 {
	switch {
	case l == 0:
		return nil
	case l&groupBit == 0:
		one[0] = l - 1
		return one[:]
	}
	return d.groups[l&^groupBit]
}

// stamp is one event of a registration, in decision order: 24 bytes.
type stamp struct {
	at      int64 // occurred_at, unix ns
	ev      cstr  // event_id
	dev, ip uint32
}

// regAddr is one address of a registration: canonical form and skeleton
// as address value ids (equal when the address is not a look-alike), the
// scripts (an index into Detector.scriptSets, only for mixed-script
// addresses) and flags.
type regAddr struct {
	canon, skel uint32
	scripts     uint16
	flags       uint8
}

const (
	addrMixed = 1 << iota
	addrDisposable
)

// reg is one registration: 96 bytes. The first (earliest) stamp of each
// kind and the first address, NIK and phone are inline; further ones, rare,
// are in Detector.more. The devices and IPs of a registration's
// submissions are those of its submission stamps plus more.devs/ips (a
// submission whose order equals a stored one but with another device).
type reg struct {
	id     cstr
	sub    stamp // earliest registration.submitted
	ver    stamp // earliest email.verified
	sentAt int64 // earliest email.verification_sent
	sentEv cstr
	nik    cstr
	canon  uint32 // first address (regAddr fields)
	skel   uint32
	phone  uint32
	script uint16
	aflags uint8
	flags  uint8
}

const (
	hasSub = 1 << iota
	hasVer
	hasSent
	hasMore
)

// more holds a registration's values beyond the inline ones: further
// submissions (retries, the common case) and, rarer, the rest.
type more struct {
	subs []stamp // after the inline stamp, in decision order
	x    *rare
}

type rare struct {
	ver, sent []stamp // after the inline stamp, in decision order
	addrs     []regAddr
	niks      []cstr
	phones    []uint32
	devs, ips []uint32
}

var noRare rare

func (d *Detector) regAt(i uint32) *reg { return &d.pages[i>>pageBits][i&(pageSize-1)] }

// lookup returns the index of registration id.
func (d *Detector) lookup(id string) (uint32, bool) {
	if d.nregs == 0 {
		return 0, false
	}
	p, _ := pack(id)
	h := hashOf(id, p)
	ri, ok := d.lookupH(id, p, h)
	return ri, ok
}

func (d *Detector) lookupH(id string, p cstr, h uint64) (uint32, bool) {
	if len(d.regTab.slots) == 0 {
		return 0, false
	}
	m, tag := d.regTab.mask(), tagOf(h)
	for i := h & m; ; i = (i + 1) & m {
		it := d.regTab.slots[i]
		if it == 0 {
			return 0, false
		}
		if d.regTab.tags[i] == tag && d.ar.eq(d.regAt(it-1).id, id, p) {
			return it - 1, true
		}
	}
}

// reg returns the index of registration id, adding it if new.
func (d *Detector) reg(id string) uint32 {
	p, _ := pack(id)
	h := hashOf(id, p)
	if ri, ok := d.lookupH(id, p, h); ok {
		return ri
	}
	if d.regTab.needGrow() {
		d.regTab.rebuild(d.nregs, func(i uint32) uint64 { return d.ar.hashC(d.regAt(i).id) })
	}
	if d.nregs&(pageSize-1) == 0 {
		d.pages = append(d.pages, make([]reg, pageSize))
	}
	ri := uint32(d.nregs)
	d.nregs++
	c := p
	if c == 0 {
		c = d.ar.add(id)
	}
	d.regAt(ri).id = c
	d.regTab.put(h, ri)
	return ri
}

func (d *Detector) moreOf(ri uint32) *more {
	r := d.regAt(ri)
	if r.flags&hasMore != 0 {
		return d.more[ri]
	}
	r.flags |= hasMore
	m := &more{}
	d.more[ri] = m
	return m
}

// rareOf returns the rare values of ri for writing.
func (d *Detector) rareOf(ri uint32) *rare {
	m := d.moreOf(ri)
	if m.x == nil {
		m.x = &rare{}
	}
	return m.x
}

// rareGet returns the rare values of ri for reading (never nil).
func (d *Detector) rareGet(ri uint32) *rare {
	if d.regAt(ri).flags&hasMore == 0 {
		return &noRare
	}
	if x := d.more[ri].x; x != nil {
		return x
	}
	return &noRare
}

// Stamp kinds.
const (
	kindSub = iota
	kindVer
	kindSent
)

func (d *Detector) firstStamp(r *reg, kind int) (stamp, bool) {
	switch kind {
	case kindSub:
		return r.sub, r.flags&hasSub != 0
	case kindVer:
		return r.ver, r.flags&hasVer != 0
	}
	return stamp{at: r.sentAt, ev: r.sentEv}, r.flags&hasSent != 0
}

func (d *Detector) setFirst(r *reg, kind int, st stamp) {
	switch kind {
	case kindSub:
		r.sub = st
		r.flags |= hasSub
	case kindVer:
		r.ver = st
		r.flags |= hasVer
	default:
		r.sentAt, r.sentEv = st.at, st.ev
		r.flags |= hasSent
	}
}

// rest returns the stamps of a kind after the inline one.
func (d *Detector) rest(ri uint32, kind int) []stamp {
	if d.regAt(ri).flags&hasMore == 0 {
		return nil
	}
	switch kind {
	case kindSub:
		return d.more[ri].subs
	case kindVer:
		return d.rareGet(ri).ver
	}
	return d.rareGet(ri).sent
}

func (d *Detector) restPtr(ri uint32, kind int) *[]stamp {
	switch kind {
	case kindSub:
		return &d.moreOf(ri).subs
	case kindVer:
		return &d.rareOf(ri).ver
	}
	return &d.rareOf(ri).sent
}

// insertAt is slices.Insert of one element that grows small slices by one
// element at a time: most registrations with retries have two or three.
func insertAt(s []stamp, i int, st stamp) []stamp {
	if len(s) == cap(s) && len(s) < 8 {
		t := make([]stamp, len(s), len(s)+1)
		copy(t, s)
		s = t
	}
	return slices.Insert(s, i, st)
}

// stamps returns the registration's stamps of a kind in decision order;
// buf holds the common single-stamp case.
func (d *Detector) stamps(ri uint32, kind int, buf *[1]stamp) []stamp {
	r := d.regAt(ri)
	first, ok := d.firstStamp(r, kind)
	if !ok {
		return nil
	}
	if rest := d.rest(ri, kind); len(rest) > 0 {
		return append([]stamp{first}, rest...)
	}
	buf[0] = first
	return buf[:]
}

// cmpOrder compares the decision order (at, ev) with a stored stamp.
func (d *Detector) cmpOrder(at int64, ev string, st *stamp) int {
	switch {
	case at < st.at:
		return -1
	case at > st.at:
		return 1
	}
	return -d.ar.cmp(st.ev, ev)
}

// lessStamp is the decision order of two stored stamps.
func (d *Detector) lessStamp(a, b *stamp) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return d.ar.cmpC(a.ev, b.ev) < 0
}

// addStamp inserts the stamp (at, ev, dev, ip) of a kind unless one with the
// same order is stored; it returns the stored one in that case.
func (d *Detector) addStamp(ri uint32, kind int, at int64, ev string, dev, ip uint32) (stamp, bool) {
	r := d.regAt(ri)
	first, ok := d.firstStamp(r, kind)
	if !ok {
		d.setFirst(r, kind, stamp{at: at, ev: d.ar.cs(ev), dev: dev, ip: ip})
		return stamp{}, true
	}
	c := d.cmpOrder(at, ev, &first)
	if c == 0 {
		return first, false
	}
	rest := d.rest(ri, kind)
	i, found := slices.BinarySearchFunc(rest, 0, func(s stamp, _ int) int { return -d.cmpOrder(at, ev, &s) })
	if found {
		return rest[i], false
	}
	st := stamp{at: at, ev: d.ar.cs(ev), dev: dev, ip: ip}
	p := d.restPtr(ri, kind)
	if c < 0 {
		*p = insertAt(*p, 0, first)
		d.setFirst(r, kind, st)
	} else {
		*p = insertAt(*p, i, st)
	}
	return stamp{}, true
}

// addrs returns the registration's addresses; buf holds the single case.
func (d *Detector) regAddrs(ri uint32, buf *[1]regAddr) []regAddr {
	r := d.regAt(ri)
	if r.canon == 0 {
		return nil
	}
	buf[0] = regAddr{canon: r.canon, skel: r.skel, scripts: r.script, flags: r.aflags}
	if r.flags&hasMore != 0 {
		if x := d.rareGet(ri); len(x.addrs) > 0 {
			return append(buf[:1:1], x.addrs...)
		}
	}
	return buf[:]
}

// niks returns the registration's NIKs; buf holds the single case.
func (d *Detector) regNIKs(ri uint32, buf *[1]cstr) []cstr {
	r := d.regAt(ri)
	if r.nik == 0 {
		return nil
	}
	buf[0] = r.nik
	if r.flags&hasMore != 0 {
		if x := d.rareGet(ri); len(x.niks) > 0 {
			return append(buf[:1:1], x.niks...)
		}
	}
	return buf[:]
}

// phones returns the registration's phone value ids.
func (d *Detector) regPhones(ri uint32, buf *[1]uint32) []uint32 {
	r := d.regAt(ri)
	if r.phone == 0 {
		return nil
	}
	buf[0] = r.phone
	if r.flags&hasMore != 0 {
		if x := d.rareGet(ri); len(x.phones) > 0 {
			return append(buf[:1:1], x.phones...)
		}
	}
	return buf[:]
}

// subValues returns the distinct device (ip=false) or IP value ids of the
// registration's submissions.
func (d *Detector) subValues(ri uint32, ip bool) []uint32 {
	var buf [1]stamp
	var out []uint32
	for _, s := range d.stamps(ri, kindSub, &buf) {
		v := s.dev
		if ip {
			v = s.ip
		}
		if v != 0 && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if r := d.regAt(ri); r.flags&hasMore != 0 {
		extra := d.rareGet(ri).devs
		if ip {
			extra = d.rareGet(ri).ips
		}
		for _, v := range extra {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// hasSubValue reports whether v is among subValues(ri, ip).
func (d *Detector) hasSubValue(ri uint32, ip bool, v uint32) bool {
	return slices.Contains(d.subValues(ri, ip), v)
}

// scriptSet interns a sorted list of script names.
func (d *Detector) scriptSet(s []string) uint16 {
	k := strings.Join(s, "\x00")
	if i, ok := d.scriptIdx[k]; ok {
		return i
	}
	d.scriptSets = append(d.scriptSets, slices.Clone(s))
	i := uint16(len(d.scriptSets)) // 1-based; at most 2^14 sets of the 14 known scripts
	d.scriptIdx[k] = i
	return i
}
