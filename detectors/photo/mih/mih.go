package mih

import (
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
	spans     []uint64 // scratch: bucket bounds of one table's probes
	sink      uint64   // keeps the touch loads alive
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
		codes := append(slices.Clone(a.codes[0]), b.codes[0]...)
		ids := append(slices.Clone(a.ids), b.ids...)
		x.segs = append(x.segs[:len(x.segs)-2], buildSegment(codes, ids))
	}
}

// Stats describes the work one query did.
type Stats struct {
	Probes     int  // buckets looked up
	Candidates int  // codes compared
	Capped     bool // MaxCandidates reached: results may be incomplete
}

// Search calls fn for every (code, id) within Hamming distance r of q, in
// no particular order, until fn returns false. r above 21 degrades to a
// linear scan of every bucket; 0..12 is the intended range.
func (x *Index) Search(q uint64, r int, fn func(code uint64, id uint32, dist int) bool) Stats {
	var st Stats
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
	for _, s := range x.segs {
		if !x.searchSeg(s, pq, r, &st, fn) {
			break
		}
	}
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
	n     int
	kb    uint // key bits per table
	off   [nTables][]uint32
	codes [nTables][]uint64 // permuted codes, bucket-sorted by table t's key
	ids   []uint32          // in codes[0] order
}

func (s *segment) bytes() int {
	n := cap(s.ids) * 4
	for t := 0; t < nTables; t++ {
		n += cap(s.off[t])*4 + cap(s.codes[t])*8
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
	order := make([]uint32, n) // reused: permutation for table t
	for t := 0; t < nTables; t++ {
		off := make([]uint32, nb+1)
		adviseHuge(unsafe.Pointer(&off[0]), uintptr(len(off))*4)
		for _, c := range codes {
			off[s.key(t, c)+1]++
		}
		for i := 1; i <= nb; i++ {
			off[i] += off[i-1]
		}
		pos := slices.Clone(off[:nb])
		for i, c := range codes {
			k := s.key(t, c)
			order[pos[k]] = uint32(i)
			pos[k]++
		}
		out := make([]uint64, n)
		adviseHuge(unsafe.Pointer(&out[0]), uintptr(n)*8)
		for j, i := range order {
			out[j] = codes[i]
		}
		if t == 0 {
			s.ids = make([]uint32, n)
			for j, i := range order {
				s.ids[j] = ids[i]
			}
		}
		s.off[t], s.codes[t] = off, out
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

func (x *Index) searchSeg(s *segment, pq uint64, r int, st *Stats, fn func(uint64, uint32, int) bool) bool {
	ok := x.probe(s, pq, r, st, fn)
	// Matches found through tables 1 and 2: one code may occur several
	// times there (several ids); report each code's ids once, from table 0.
	slices.Sort(x.late)
	x.late = slices.Compact(x.late)
	for _, c := range x.late {
		if !ok {
			break
		}
		d := bits.OnesCount64(c ^ pq)
		k0 := s.key(0, c)
		for i := s.off[0][k0]; i < s.off[0][k0+1]; i++ {
			if s.codes[0][i] == c {
				if !fn(unpermute(c), s.ids[i], d) {
					ok = false
					break
				}
			}
		}
	}
	x.late = x.late[:0]
	return ok && !st.Capped
}

func (x *Index) probe(s *segment, pq uint64, r int, st *Stats, fn func(uint64, uint32, int) bool) bool {
	maxCand := x.cfg.MaxCandidates
	rad := radii(r)
	var qk [nTables]uint32
	for t := 0; t < nTables; t++ {
		qk[t] = s.key(t, pq)
	}
	for t := 0; t < nTables; t++ {
		if rad[t] < 0 {
			continue
		}
		codes, off := s.codes[t], s.off[t]
		// Gather every bucket's bounds first: the loads are independent, so
		// the CPU overlaps their cache misses instead of taking them one
		// bucket scan at a time.
		spans := x.spans[:0]
		var touch uint64
		for _, m := range x.maskList(s.kb, rad[t]) {
			k := qk[t] ^ m
			lo, hi := off[k], off[k+1]
			if lo < hi {
				// Touch the bucket's first line now so that its miss, too,
				// overlaps with the other probes' instead of stalling the scan.
				touch += codes[lo]
			}
			spans = append(spans, uint64(lo)<<32|uint64(hi))
		}
		x.spans = spans
		x.sink += touch
		st.Probes += len(spans)
		for _, sp := range spans {
			lo, hi := uint32(sp>>32), uint32(sp)
			if lo == hi {
				continue
			}
			st.Candidates += int(hi - lo)
			for j := lo; j < hi; j++ {
				c := codes[j]
				d := bits.OnesCount64(c ^ pq)
				if d > r {
					continue
				}
				if t == 0 {
					if !fn(unpermute(c), s.ids[j], d) {
						return false
					}
					continue
				}
				// Found already through an earlier table?
				dup := false
				for u := 0; u < t; u++ {
					if rad[u] >= 0 && bits.OnesCount32(s.key(u, c)^qk[u]) <= rad[u] {
						dup = true
						break
					}
				}
				if !dup {
					x.late = append(x.late, c)
				}
			}
			if st.Candidates >= maxCand {
				st.Capped = true
				return false
			}
		}
	}
	return true
}

// maskList lists every kb-bit mask with at most r bits set, by popcount.
func (x *Index) maskList(kb uint, r int) []uint32 {
	key := [2]int{int(kb), r}
	if m, ok := x.masks[key]; ok {
		return m
	}
	out := []uint32{0}
	var rec func(start uint, depth int, m uint32)
	for d := 1; d <= r && d <= int(kb); d++ {
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
	}
	x.masks[key] = out
	return out
}
