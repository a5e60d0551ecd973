package mih

import (
	"cmp"
	"math/bits"
	"slices"
	"unsafe"
)

const (
	nTables = 3
	maxKey  = 21
)

// chunk layout of the permuted code: [63..43] [42..22] [21..0]
var chunkLow = [nTables]uint{43, 22, 0}
var chunkLen = [nTables]uint{21, 21, 22}

// perm tables: permute(x) = OR of permTab[i][byte i of x].
var permTab, unpermTab [8][256]uint64

func init() {
	// order lists original bits by their new position, top first.
	var order []int
	for c := 0; c < nTables; c++ {
		for i := 63 - c; i >= 0; i -= nTables {
			order = append(order, i)
		}
	}
	var to [64]int // original bit -> new bit
	for j, orig := range order {
		to[orig] = 63 - j
	}
	for b := 0; b < 8; b++ {
		for v := 0; v < 256; v++ {
			var p uint64
			for k := 0; k < 8; k++ {
				if v&(1<<k) != 0 {
					orig := b*8 + k
					p |= 1 << to[orig]
				}
			}
			permTab[b][v] = p
		}
	}
	var from [64]int
	for orig, n := range to {
		from[n] = orig
	}
	for b := 0; b < 8; b++ {
		for v := 0; v < 256; v++ {
			var u uint64
			for k := 0; k < 8; k++ {
				if v&(1<<k) != 0 {
					u |= 1 << from[b*8+k]
				}
			}
			unpermTab[b][v] = u
		}
	}
}

func permute(x uint64) uint64 {
	return permTab[0][x&255] | permTab[1][x>>8&255] | permTab[2][x>>16&255] | permTab[3][x>>24&255] |
		permTab[4][x>>32&255] | permTab[5][x>>40&255] | permTab[6][x>>48&255] | permTab[7][x>>56]
}

func unpermute(x uint64) uint64 {
	return unpermTab[0][x&255] | unpermTab[1][x>>8&255] | unpermTab[2][x>>16&255] | unpermTab[3][x>>24&255] |
		unpermTab[4][x>>32&255] | unpermTab[5][x>>40&255] | unpermTab[6][x>>48&255] | unpermTab[7][x>>56]
}

// Config tunes the index.
type Config struct {
	// TailSize is how many inserts are kept unsorted (scanned linearly)
	// before they become a segment.
	TailSize int
	// MaxCandidates caps the codes verified per query; a query that hits it
	// returns what it found so far with Stats.Capped set. Clustered hashes
	// (every KTP card looks alike) can fill some buckets far beyond average.
	MaxCandidates int
}

// DefaultConfig: a 4096-entry tail, 1 million candidates.
func DefaultConfig() Config { return Config{TailSize: 4096, MaxCandidates: 1 << 20} }

// Index maps 64-bit codes to uint32 ids. Several ids may share a code and
// one id may be inserted with several codes; the index does not dedupe.
type Index struct {
	cfg       Config
	segs      []*segment
	tailCodes []uint64 // permuted
	tailIDs   []uint32
	n         int
	masks     map[[2]int][]uint32
	late      []uint64 // scratch: matches found through tables 1 and 2
	spans     []span   // scratch: non-empty buckets of one level's probes
	hits      []uint32 // scratch: positions verify found
}

// New returns an empty index.
func New(cfg Config) *Index {
	if cfg.TailSize <= 0 {
		cfg.TailSize = DefaultConfig().TailSize
	}
	if cfg.MaxCandidates <= 0 {
		cfg.MaxCandidates = DefaultConfig().MaxCandidates
	}
	return &Index{cfg: cfg, masks: map[[2]int][]uint32{}}
}

// Build returns an index holding codes[i] with id ids[i] as one segment:
// the fast path for rebuilding at start-up.
func Build(cfg Config, codes []uint64, ids []uint32) *Index {
	x := New(cfg)
	if len(codes) != len(ids) {
		panic("mih: Build with len(codes) != len(ids)")
	}
	if len(codes) == 0 {
		return x
	}
	p := make([]uint64, len(codes))
	for i, c := range codes {
		p[i] = permute(c)
	}
	x.segs = []*segment{buildSegment(p, slices.Clone(ids))}
	x.n = len(codes)
	return x
}

// Len is the number of (code, id) pairs.
func (x *Index) Len() int { return x.n }

// Insert adds code with id.
func (x *Index) Insert(code uint64, id uint32) {
	x.tailCodes = append(x.tailCodes, permute(code))
	x.tailIDs = append(x.tailIDs, id)
	x.n++
	if len(x.tailCodes) < x.cfg.TailSize {
		return
	}
	x.segs = append(x.segs, buildSegment(x.tailCodes, x.tailIDs))
	x.tailCodes, x.tailIDs = nil, nil
	// Merge while the newest segment is at least half its predecessor:
	// sizes then at least double down the list, so there are O(log n).
	for len(x.segs) >= 2 {
		a, b := x.segs[len(x.segs)-2], x.segs[len(x.segs)-1]
		if 2*b.n < a.n {
			break
		}
		codes := append(slices.Clone(a.codes[:a.n]), b.codes[:b.n]...)
		ids := append(slices.Clone(a.ids), b.ids...)
		x.segs = append(x.segs[:len(x.segs)-2], buildSegment(codes, ids))
	}
}

// Stats describes the work one query did.
type Stats struct {
	Probes     int  // buckets looked up
	Candidates int  // codes compared
	Capped     bool // MaxCandidates reached: results may be incomplete
	// ExactRadius is the radius up to which the results are complete: r
	// unless Capped. Buckets are probed nearest first (every table's
	// exact-key bucket, then every table's 1-bit neighbours, ...), so a
	// capped query still reports every code within 3j+2 of q, j the last
	// probe distance it finished; -1 if it finished none.
	ExactRadius int
}

// Search calls fn for every (code, id) within Hamming distance r of q, in
// no particular order, until fn returns false. r above 21 degrades to a
// linear scan of every bucket; 0..12 is the intended range.
func (x *Index) Search(q uint64, r int, fn func(code uint64, id uint32, dist int) bool) Stats {
	st := Stats{ExactRadius: -1}
	if r < 0 {
		return st
	}
	pq := permute(q)
	for i, c := range x.tailCodes {
		st.Candidates++
		if d := bits.OnesCount64(c ^ pq); d <= r {
			if !fn(unpermute(c), x.tailIDs[i], d) {
				return st
			}
		}
	}
	rad := radii(r)
	top := max(rad[0], rad[1], rad[2])
	// Level-major: a code at distance <= 3j+2 has a chunk within j of
	// q's, so finishing level j for every segment completes that radius
	// even if a later level is capped.
	for lvl := 0; lvl <= top; lvl++ {
		for _, s := range x.segs {
			if !x.searchLevel(s, pq, r, lvl, &rad, &st, fn) {
				return st
			}
		}
		st.ExactRadius = min(r, 3*lvl+2)
	}
	st.ExactRadius = r
	return st
}

// MemoryBytes is the memory held by the index's arrays.
func (x *Index) MemoryBytes() int {
	n := cap(x.tailCodes)*8 + cap(x.tailIDs)*4
	for _, s := range x.segs {
		n += s.bytes()
	}
	return n
}

type segment struct {
	n   int
	kb  uint // key bits per table
	off [nTables][]uint32
	// codes holds nTables runs of n permuted codes, run t bucket-sorted by
	// table t's key; off[t] indexes codes directly (run t starts at t*n),
	// so that one kernel verifies any table's buckets.
	codes []uint64
	ids   []uint32 // in run 0's order
}

func (s *segment) bytes() int {
	n := cap(s.ids)*4 + cap(s.codes)*8
	for t := 0; t < nTables; t++ {
		n += cap(s.off[t]) * 4
	}
	return n
}

func (s *segment) key(t int, c uint64) uint32 {
	return uint32(c>>(chunkLow[t]+chunkLen[t]-s.kb)) & (1<<s.kb - 1)
}

func buildSegment(codes []uint64, ids []uint32) *segment {
	n := len(codes)
	kb := uint(bits.Len(uint(n)))
	kb = max(4, min(maxKey, kb-1)) // about 2-4 codes per bucket
	s := &segment{n: n, kb: kb}
	nb := 1 << kb
	s.codes = make([]uint64, nTables*n)
	adviseHuge(unsafe.Pointer(&s.codes[0]), uintptr(len(s.codes))*8)
	order := make([]uint32, n) // reused: permutation for table t
	for t := 0; t < nTables; t++ {
		off := make([]uint32, nb+1)
		adviseHuge(unsafe.Pointer(&off[0]), uintptr(len(off))*4)
		for _, c := range codes {
			off[s.key(t, c)+1]++
		}
		off[0] = uint32(t * n)
		for i := 1; i <= nb; i++ {
			off[i] += off[i-1]
		}
		pos := slices.Clone(off[:nb])
		for i, c := range codes {
			k := s.key(t, c)
			order[pos[k]-uint32(t*n)] = uint32(i)
			pos[k]++
		}
		out := s.codes[t*n : (t+1)*n]
		for j, i := range order {
			out[j] = codes[i]
		}
		if t == 0 {
			// Run 0 is sorted by code within each bucket (so by code:
			// the key is the code's top bits), so that a match found
			// through tables 1 and 2 finds its ids by binary search.
			slices.SortFunc(order, func(a, b uint32) int {
				return cmp.Compare(codes[a], codes[b])
			})
			s.ids = make([]uint32, n)
			for j, i := range order {
				out[j] = codes[i]
				s.ids[j] = ids[i]
			}
		}
		s.off[t] = off
	}
	return s
}

// radii returns the probe radius of each table for query radius r
// (-1: skip the table).
func radii(r int) [nTables]int {
	a, b := r/nTables, r%nTables
	var rad [nTables]int
	for t := 0; t < nTables; t++ {
		if t <= b {
			rad[t] = a
		} else {
			rad[t] = a - 1
		}
	}
	return rad
}

// searchLevel probes, in segment s, every table's buckets whose key is at
// distance lvl from q's. It reports false when fn stopped the search or
// the candidate cap was reached.
func (x *Index) searchLevel(s *segment, pq uint64, r, lvl int, rad *[nTables]int, st *Stats, fn func(uint64, uint32, int) bool) bool {
	var qk [nTables]uint32
	for t := 0; t < nTables; t++ {
		qk[t] = s.key(t, pq)
	}
	// Gather every bucket's bounds first (independent loads whose misses
	// overlap), nearest table first, up to the candidate cap.
	spans := x.spans[:0]
	ok := true
	room := x.cfg.MaxCandidates - st.Candidates
gather:
	for t := 0; t < nTables; t++ {
		if rad[t] < lvl {
			continue
		}
		off := s.off[t]
		masks := x.maskList(s.kb, lvl)
		st.Probes += len(masks)
		for _, m := range masks {
			k := qk[t] ^ m
			lo, hi := off[k], off[k+1]
			if lo == hi {
				continue
			}
			if int(hi-lo) > room {
				st.Capped = true
				ok = false
				break gather
			}
			room -= int(hi - lo)
			spans = append(spans, span{lo, hi})
		}
	}
	x.spans = spans
	st.Candidates = x.cfg.MaxCandidates - room
	n := uint32(s.n)
	for len(spans) > 0 {
		done, nh := verify(s.codes, spans, pq, r, x.hits[:cap(x.hits)])
		for _, p := range x.hits[:nh] {
			c := s.codes[p]
			d := bits.OnesCount64(c ^ pq)
			t := int(p / n)
			// Report each code once: from the first (level, table) in
			// probe order that finds it.
			first := true
			for u := 0; u < nTables; u++ {
				if u == t {
					continue
				}
				du := bits.OnesCount32(s.key(u, c) ^ qk[u])
				if du <= rad[u] && (du < lvl || du == lvl && u < t) {
					first = false
					break
				}
			}
			if !first {
				continue
			}
			if t == 0 {
				if !fn(unpermute(c), s.ids[p], d) {
					return false
				}
				continue
			}
			x.late = append(x.late, c)
		}
		spans = spans[done:]
		if done == 0 && len(spans) > 0 {
			x.hits = make([]uint32, max(2*cap(x.hits), int(spans[0].hi-spans[0].lo), 256))
		}
	}
	// Codes found through tables 1 and 2: one code may occur several
	// times there (several ids); report each code's ids once, from
	// table 0, where the ids are stored.
	if len(x.late) > 0 {
		slices.Sort(x.late)
		late := slices.Compact(x.late)
		x.late = x.late[:0]
		for _, c := range late {
			k0 := s.key(0, c)
			lo, hi := s.off[0][k0], s.off[0][k0+1]
			run := s.codes[lo:hi]
			i, _ := slices.BinarySearch(run, c)
			for ; i < len(run) && run[i] == c; i++ {
				if !fn(unpermute(c), s.ids[int(lo)+i], bits.OnesCount64(c^pq)) {
					return false
				}
			}
		}
	}
	return ok
}

// span is a bucket: codes[lo:hi] of a segment.
type span struct{ lo, hi uint32 }

// verifyGo is verify without assembly: it writes to out the position of
// every code in spans within r of q, span by span, and stops before a
// span that might not fit in out. It returns the spans done and the
// positions written.
func verifyGo(codes []uint64, spans []span, q uint64, r int, out []uint32) (done, n int) {
	for i, sp := range spans {
		if int(sp.hi-sp.lo) > len(out)-n {
			return i, n
		}
		for j, c := range codes[sp.lo:sp.hi] {
			if bits.OnesCount64(c^q) <= r {
				out[n] = sp.lo + uint32(j)
				n++
			}
		}
	}
	return len(spans), n
}

// maskList lists every kb-bit mask with exactly d bits set.
func (x *Index) maskList(kb uint, d int) []uint32 {
	key := [2]int{int(kb), d}
	if m, ok := x.masks[key]; ok {
		return m
	}
	var out []uint32
	var rec func(start uint, depth int, m uint32)
	rec = func(start uint, depth int, m uint32) {
		if depth == 0 {
			out = append(out, m)
			return
		}
		for b := start; b < kb; b++ {
			rec(b+1, depth-1, m|1<<b)
		}
	}
	rec(0, d, 0)
	x.masks[key] = out
	return out
}
