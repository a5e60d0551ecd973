package mih

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"sort"
	"unsafe"
)

const (
	nTables = 3
	maxKey  = 21
)

// chunk layout of the permuted code: [63..43] [42..22] [21..0]
var chunkLow = [nTables]uint{43, 22, 0}
var chunkLen = [nTables]uint{21, 21, 22}

// perm is a bit permutation: permute(x) = OR of fwd[i][byte i of x].
type perm struct{ fwd, inv [8][256]uint64 }

// newPerm: original bit i goes to bit to[i].
func newPerm(to *[64]int) *perm {
	p := new(perm)
	for b := 0; b < 8; b++ {
		for v := 0; v < 256; v++ {
			for k := 0; k < 8; k++ {
				if v&(1<<k) != 0 {
					p.fwd[b][v] |= 1 << to[b*8+k]
				}
			}
		}
	}
	var from [64]int
	for orig, n := range to {
		from[n] = orig
	}
	for b := 0; b < 8; b++ {
		for v := 0; v < 256; v++ {
			for k := 0; k < 8; k++ {
				if v&(1<<k) != 0 {
					p.inv[b][v] |= 1 << from[b*8+k]
				}
			}
		}
	}
	return p
}

func (p *perm) permute(x uint64) uint64 {
	return p.fwd[0][x&255] | p.fwd[1][x>>8&255] | p.fwd[2][x>>16&255] | p.fwd[3][x>>24&255] |
		p.fwd[4][x>>32&255] | p.fwd[5][x>>40&255] | p.fwd[6][x>>48&255] | p.fwd[7][x>>56]
}

func (p *perm) unpermute(x uint64) uint64 {
	return p.inv[0][x&255] | p.inv[1][x>>8&255] | p.inv[2][x>>16&255] | p.inv[3][x>>24&255] |
		p.inv[4][x>>32&255] | p.inv[5][x>>40&255] | p.inv[6][x>>48&255] | p.inv[7][x>>56]
}

// interleave, the permutation an index starts with: bit i goes to chunk
// i mod 3, so that pHash's correlated neighbouring bits (and bit 63, the
// DC term, nearly always set) are spread over the chunks.
var interleave = func() *perm {
	var to [64]int
	j := 0
	for c := 0; c < nTables; c++ {
		for i := 63 - c; i >= 0; i -= nTables {
			to[i] = 63 - j
			j++
		}
	}
	return newPerm(&to)
}()

func permute(x uint64) uint64   { return interleave.permute(x) }
func unpermute(x uint64) uint64 { return interleave.unpermute(x) }

// fitPerm chooses the permutation for codes (a sample of what the index
// will hold) so that the chunks' keys discriminate equally well. A bit set
// with frequency f makes two codes' keys agree with probability
// f^2+(1-f)^2: 1/2 for a fair bit, 1 for a constant one, which doubles
// the buckets of its chunk. Bits are dealt, most informative first
// (collision entropy -log2(f^2+(1-f)^2)), each to the chunk with the least
// entropy so far, from the chunk's top down: keys are a chunk's top bits,
// and the least informative bit ends at the bottom of chunk 2 (22 bits),
// outside every key. Real pHashes of one kind of image have such bits:
// of 400 KTP portraits, bit 63 is always set and bit 61 never, and
// interleaving puts both in keys.
func fitPerm(codes []uint64) *perm {
	step := max(1, len(codes)/(1<<16))
	var ones [64]int
	n := 0
	for i := 0; i < len(codes); i += step {
		for c := codes[i]; c != 0; c &= c - 1 {
			ones[bits.TrailingZeros64(c)]++
		}
		n++
	}
	var e [64]float64
	order := make([]int, 64)
	for b := range e {
		f := float64(ones[b]) / float64(max(n, 1))
		e[b] = -math.Log2(f*f + (1-f)*(1-f))
		order[b] = b
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(e[b], e[a]) })
	var load [nTables]float64
	var fill [nTables]uint
	var to [64]int
	for _, b := range order {
		best := -1
		for c := 0; c < nTables; c++ {
			if fill[c] < chunkLen[c] && (best < 0 || load[c] < load[best]) {
				best = c
			}
		}
		to[b] = int(chunkLow[best] + chunkLen[best] - 1 - fill[best])
		fill[best]++
		load[best] += e[b]
	}
	return newPerm(&to)
}

// Config tunes the index.
type Config struct {
	// TailSize is how many inserts are kept unsorted (scanned linearly)
	// before they become a segment.
	TailSize int `yaml:"tail_size"`
	// MaxCandidates is each query's work budget, in codes verified: every
	// code compared costs 1 and every match found costs MatchCost more
	// (its id lookup and the call to fn). A query that would exceed it
	// stops and returns what it found, with Stats.Capped set; results stay
	// complete up to Stats.ExactRadius. Clustered hashes (every KTP card
	// looks alike) can fill some buckets far beyond average, and near a
	// cluster most candidates are matches.
	//
	// Bucket probes are not charged: their number depends only on the
	// radius and the number of segments (3 x sum of C(21, j) for j up to
	// r/3 per segment: 696 at radius 8, 3,356 at 10), not on the data, so
	// a query's time is bounded by its radius's probes plus the budget.
	MaxCandidates int `yaml:"max_candidates"`
}

// MatchCost is what a match found costs against Config.MaxCandidates, in
// codes verified: a match has its code and id loaded from run 0 (cache
// misses at 10 million hashes), is unpermuted and passed to fn, ~80-100 ns
// against ~3 ns for a code compared in a bucket (TestReport, capped
// whole-card queries: ~1,000 matches each).
const MatchCost = 32

// DefaultConfig: a 4096-entry tail and a work budget of 8,192 codes
// verified. At 10 million hashes (TestReport, with budgets of 8,192, 9,216
// and 10,240 run alongside uncapped uniform hashes on the same quiet
// machine) 8,192 is the largest that keeps a radius-8 query on pHashes
// with the bit frequencies of real KTP portraits near the p99 of an
// uncapped radius-8 query on uniform hashes (p99 wall 47.6-49.8 us against
// 44.6-46.8; 10,240 gave 51-60). It caps most such queries (1,712 of
// 2,000), which stay complete to radius 5 and miss about a fifth of the
// neighbours at 6-8. Uniform hashes are not capped up to radius 8 (3,500
// candidates) but are at radius 10 (16,000; complete to 8): raise it for
// an index searched at radius 10 if its latency allows (the photo
// detector uses 32,768).
func DefaultConfig() Config { return Config{TailSize: 4096, MaxCandidates: 8192} }

// Index maps 64-bit codes to uint32 ids. Several ids may share a code and
// one id may be inserted with several codes; the index does not dedupe.
type Index struct {
	cfg  Config
	perm *perm // fitted to the data when the first segment is built
	// fitted: perm is fixed (chosen, or set by a test); segments and
	// tail are permuted with it
	fitted    bool
	segs      []*segment
	tailCodes []uint64 // permuted
	tailIDs   []uint32
	n         int
	masks     [maxKey + 1][][]uint32 // masks[kb][d]: maskList's cache
	late      []uint64               // scratch: matches found through tables 1 and 2 (fallback)
	spans     []span                 // scratch: non-empty buckets of one level's probes
	hits      []uint32               // scratch: positions verify found
	p0        []uint32               // scratch: run-0 positions of the matches of tables 1 and 2
}

// New returns an empty index.
func New(cfg Config) *Index {
	if cfg.TailSize <= 0 {
		cfg.TailSize = DefaultConfig().TailSize
	}
	if cfg.MaxCandidates <= 0 {
		cfg.MaxCandidates = DefaultConfig().MaxCandidates
	}
	return &Index{cfg: cfg, perm: interleave, hits: make([]uint32, 4096)}
}

// Build returns an index holding codes[i] with id ids[i] as one segment:
// the fast path for rebuilding at start-up.
func Build(cfg Config, codes []uint64, ids []uint32) *Index {
	return build(cfg, codes, ids, nil)
}

// build is Build with permutation p, or one fitted to codes if p is nil.
func build(cfg Config, codes []uint64, ids []uint32, p *perm) *Index {
	x := New(cfg)
	if p != nil {
		x.perm, x.fitted = p, true
	}
	if len(codes) != len(ids) {
		panic("mih: Build with len(codes) != len(ids)")
	}
	if len(codes) == 0 {
		return x
	}
	if !x.fitted {
		x.perm, x.fitted = fitPerm(codes), true
	}
	pc := make([]uint64, len(codes))
	for i, c := range codes {
		pc[i] = x.perm.permute(c)
	}
	x.segs = []*segment{buildSegment(pc, slices.Clone(ids))}
	x.n = len(codes)
	return x
}

// Len is the number of (code, id) pairs.
func (x *Index) Len() int { return x.n }

// Insert adds code with id.
func (x *Index) Insert(code uint64, id uint32) {
	x.tailCodes = append(x.tailCodes, x.perm.permute(code))
	x.tailIDs = append(x.tailIDs, id)
	x.n++
	if len(x.tailCodes) < x.cfg.TailSize {
		return
	}
	if !x.fitted {
		// The first segment: fit the permutation to the codes so far.
		for i, c := range x.tailCodes {
			x.tailCodes[i] = x.perm.unpermute(c)
		}
		x.perm, x.fitted = fitPerm(x.tailCodes), true
		for i, c := range x.tailCodes {
			x.tailCodes[i] = x.perm.permute(c)
		}
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
	Probes     int // buckets looked up
	Candidates int // codes compared
	Matches    int // (code, id) pairs found within r (passed to fn)
	// Work is what MaxCandidates bounds: the codes verified in the
	// segments plus MatchCost per match found there (the unsorted tail is
	// not charged).
	Work   int
	Capped bool // MaxCandidates reached: results may be incomplete
	// Skipped counts the codes in buckets the query probed but, capped,
	// did not verify (buckets it never probed are not counted).
	Skipped int
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
	pq := x.perm.permute(q)
	// The tail (at most TailSize codes) is scanned in full, outside the
	// budget: like the probes, its cost does not depend on the data.
	if !x.searchTail(pq, r, &st, fn) {
		return st
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

// searchTail scans the unsorted tail with the verify kernel (a detector
// query of 27 portrait variants scans it 27 times: with a scalar loop that
// was 40 % of its search time at 200,000 cards). It reports false when fn
// stopped the search.
func (x *Index) searchTail(pq uint64, r int, st *Stats, fn func(uint64, uint32, int) bool) bool {
	st.Candidates += len(x.tailCodes)
	for lo := 0; lo < len(x.tailCodes); {
		hi := min(len(x.tailCodes), lo+len(x.hits))
		_, nh := verify(x.tailCodes, []span{{uint32(lo), uint32(hi)}}, pq, ^uint64(0), r, x.hits)
		for _, p := range x.hits[:nh] {
			c := x.tailCodes[p]
			st.Matches++
			if !fn(x.perm.unpermute(c), x.tailIDs[p], bits.OnesCount64(c^pq)) {
				return false
			}
		}
		lo = hi
	}
	return true
}

// MemoryBytes is the memory held by the index's arrays.
func (x *Index) MemoryBytes() int {
	n := cap(x.tailCodes)*8 + cap(x.tailIDs)*4 + int(unsafe.Sizeof(*x.perm))
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
	//
	// In runs 1 and 2 a code's key bits are implied by its bucket, so
	// they hold instead the position of the same (code, id) in its run-0
	// bucket, where its id is: a match found through tables 1 and 2 gets
	// its id with one load. A run-0 bucket of 2^kb-1 or more codes (too
	// big for kb bits) is marked noPos, and its matches fall back to a
	// binary search (run 0 is sorted by code).
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

// shift is where table t's key starts in a permuted code.
func (s *segment) shift(t int) uint { return chunkLow[t] + chunkLen[t] - s.kb }

func (s *segment) key(t int, c uint64) uint32 {
	return uint32(c>>s.shift(t)) & (1<<s.kb - 1)
}

// keyMask: the bits of table t's key.
func (s *segment) keyMask(t int) uint64 { return (1<<s.kb - 1) << s.shift(t) }

// noPos marks a slot of runs 1 and 2 whose run-0 bucket is too big.
func (s *segment) noPos() uint32 { return 1<<s.kb - 1 }

func buildSegment(codes []uint64, ids []uint32) *segment {
	n := len(codes)
	kb := uint(bits.Len(uint(n)))
	kb = max(4, min(maxKey, kb-1)) // about 2-4 codes per bucket
	s := &segment{n: n, kb: kb}
	nb := 1 << kb
	s.codes = make([]uint64, nTables*n)
	adviseHuge(unsafe.Pointer(&s.codes[0]), uintptr(len(s.codes))*8)
	order := make([]uint32, n) // reused: permutation for table t
	rel := make([]uint32, n)   // input i's position in its run-0 bucket, or noPos
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
		s.off[t] = off
		out := s.codes[t*n : (t+1)*n]
		if t > 0 {
			km, sh := s.keyMask(t), s.shift(t)
			for j, i := range order {
				out[j] = codes[i]&^km | uint64(rel[i])<<sh
			}
			continue
		}
		// Run 0 is sorted by code within each bucket (so by code: the
		// key is the code's top bits), for the noPos fallback.
		slices.SortFunc(order, func(a, b uint32) int {
			return cmp.Compare(codes[a], codes[b])
		})
		s.ids = make([]uint32, n)
		for j, i := range order {
			out[j] = codes[i]
			s.ids[j] = ids[i]
		}
		for k := 0; k < nb; k++ {
			lo, hi := off[k], off[k+1]
			for j := lo; j < hi; j++ {
				if hi-lo >= s.noPos() {
					rel[order[j]] = s.noPos()
				} else {
					rel[order[j]] = j - lo
				}
			}
		}
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
// the work budget ran out.
func (x *Index) searchLevel(s *segment, pq uint64, r, lvl int, rad *[nTables]int, st *Stats, fn func(uint64, uint32, int) bool) bool {
	var qk [nTables]uint32
	for t := 0; t < nTables; t++ {
		qk[t] = s.key(t, pq)
	}
	// Gather every bucket's bounds first (independent loads whose misses
	// overlap), nearest table first, up to the budget; table t's spans
	// end at end[t] and hold cand[t] codes.
	spans := x.spans[:0]
	var end, cand [nTables]int
	room := x.cfg.MaxCandidates - st.Work
	capped := false
	for t := 0; t < nTables; t++ {
		if rad[t] >= lvl && !capped {
			off := s.off[t]
			masks := x.maskList(s.kb, lvl)
			left := room
			for i, m := range masks {
				k := qk[t] ^ m
				lo, hi := off[k], off[k+1]
				if lo == hi {
					continue
				}
				if int(hi-lo) > left {
					// Verify what fits of this bucket; the rest of it
					// counts as skipped, the buckets not probed do not.
					capped = true
					st.Skipped += int(hi-lo) - max(left, 0)
					if left > 0 {
						spans = append(spans, span{lo, lo + uint32(left)})
						left = 0
					}
					st.Probes -= len(masks) - i - 1
					break
				}
				left -= int(hi - lo)
				spans = append(spans, span{lo, hi})
			}
			st.Probes += len(masks)
			cand[t] = room - left
			room = left
		}
		end[t] = len(spans)
	}
	x.spans = spans
	// Verify table by table (in runs 1 and 2 the key bits are masked
	// out: they hold positions, and their distance is lvl).
	from := 0
	for t := 0; t < nTables; t++ {
		if from == end[t] {
			continue
		}
		ok, more := x.verifyTable(s, t, spans[from:end[t]], cand[t], pq, &qk, r, lvl, rad, st, fn)
		if !ok {
			return false
		}
		if !more {
			for _, sp := range spans[end[t]:] {
				st.Skipped += int(sp.hi - sp.lo)
			}
			st.Capped = true
			return false
		}
		from = end[t]
	}
	if capped {
		st.Capped = true
		return false
	}
	return true
}

// verifyTable verifies spans (buckets of table t holding cand codes) and
// reports their matches that no earlier (level, table) in probe order
// finds. ok is false when fn stopped the search; more is false when the
// budget ran out (what was left is added to st.Skipped).
func (x *Index) verifyTable(s *segment, t int, spans []span, cand int, pq uint64, qk *[nTables]uint32, r, lvl int, rad *[nTables]int, st *Stats, fn func(uint64, uint32, int) bool) (ok, more bool) {
	ok, more = x.verifySpans(s, t, spans, cand, pq, qk, r, lvl, rad, st, fn)
	if !ok {
		x.late = x.late[:0]
		return false, more
	}
	return x.reportLate(s, pq, st, fn), more
}

// reportLate reports the matches of noPos slots of one (level, table)
// that verifySpans collected: one code may occur there several times
// (several ids, or one bucket verified in parts); each code's ids are
// reported once, from run 0, found by binary search. Their MatchCost was
// charged when collected.
func (x *Index) reportLate(s *segment, pq uint64, st *Stats, fn func(uint64, uint32, int) bool) bool {
	if len(x.late) == 0 {
		return true
	}
	slices.Sort(x.late)
	late := slices.Compact(x.late)
	x.late = x.late[:0]
	off0 := s.off[0]
	for _, c := range late {
		k0 := s.key(0, c)
		lo, hi := off0[k0], off0[k0+1]
		run := s.codes[lo:hi]
		i, _ := slices.BinarySearch(run, c)
		for ; i < len(run) && run[i] == c; i++ {
			st.Matches++
			if !fn(x.perm.unpermute(c), s.ids[int(lo)+i], bits.OnesCount64(c^pq)) {
				return false
			}
		}
	}
	return true
}

// verifySpans is verifyTable without the noPos matches.
func (x *Index) verifySpans(s *segment, t int, spans []span, cand int, pq uint64, qk *[nTables]uint32, r, lvl int, rad *[nTables]int, st *Stats, fn func(uint64, uint32, int) bool) (ok, more bool) {
	budget := x.cfg.MaxCandidates
	mask, rv := ^uint64(0), r
	if t > 0 {
		mask, rv = ^s.keyMask(t), r-lvl
	}
	skip := func() {
		for _, sp := range spans {
			st.Skipped += int(sp.hi - sp.lo)
		}
	}
	for len(spans) > 0 {
		// Matches cost MatchCost each: verify's output is sized to what
		// the budget can still report, so that near a dense cluster (most
		// candidates match) it stops early. It stops before a bucket that
		// might not fit, so a sparse one verifies every bucket at once.
		room := budget - st.Work
		if room <= 0 {
			skip()
			return true, false
		}
		out := x.hits[:min(len(x.hits), max(room/(MatchCost+1), 64))]
		done, nh := verify(s.codes, spans, pq, mask, rv, out)
		switch {
		case done == len(spans):
			st.Candidates += cand
			st.Work += cand
		case done == 0:
			// The first bucket is bigger than out: verify part of it.
			sp := span{spans[0].lo, spans[0].lo + uint32(len(out))}
			_, nh = verify(s.codes, []span{sp}, pq, mask, rv, out)
			spans[0].lo = sp.hi
			cand -= len(out)
			st.Candidates += len(out)
			st.Work += len(out)
			if !x.report(s, t, []span{sp}, nh, pq, qk, lvl, rad, st, fn) {
				return false, true
			}
			if st.Work > budget {
				skip()
				return true, false
			}
			continue
		default:
			for _, sp := range spans[:done] {
				cand -= int(sp.hi - sp.lo)
				st.Candidates += int(sp.hi - sp.lo)
				st.Work += int(sp.hi - sp.lo)
			}
		}
		if !x.report(s, t, spans[:done], nh, pq, qk, lvl, rad, st, fn) {
			return false, true
		}
		spans = spans[done:]
		if st.Work > budget && len(spans) > 0 {
			skip()
			return true, false
		}
	}
	return true, true
}

// report passes to fn the first nh of x.hits (positions in spans, in
// order), except codes an earlier (level, table) in probe order finds.
func (x *Index) report(s *segment, t int, spans []span, nh int, pq uint64, qk *[nTables]uint32, lvl int, rad *[nTables]int, st *Stats, fn func(uint64, uint32, int) bool) bool {
	if nh == 0 {
		return true
	}
	hits := x.hits[:nh]
	// first keeps the codes reported from here: from the first (level,
	// table) in probe order that finds them. Table u finds c first iff its
	// key distance du <= rad[u] and du < lvl (or du == lvl and u < t),
	// that is du < lim(u). (In runs 1 and 2 only table t's key bits are
	// replaced.)
	lim := func(u int) int {
		l := lvl
		if u < t {
			l++
		}
		return min(rad[u]+1, l)
	}
	u1, u2 := (t+1)%nTables, (t+2)%nTables
	sh1, sh2, l1, l2 := s.shift(u1), s.shift(u2), lim(u1), lim(u2)
	q1, q2, km := qk[u1], qk[u2], uint64(1)<<s.kb-1
	first := func(c uint64) bool {
		return bits.OnesCount32(uint32(c>>sh1&km)^q1) >= l1 && bits.OnesCount32(uint32(c>>sh2&km)^q2) >= l2
	}
	if t == 0 {
		for _, p := range hits {
			c := s.codes[p]
			if !first(c) {
				continue
			}
			st.Matches++
			st.Work += MatchCost
			if !fn(x.perm.unpermute(c), s.ids[p], bits.OnesCount64(c^pq)) {
				return false
			}
		}
		return true
	}
	// Runs 1 and 2: each hit's run-0 position first (independent loads
	// of off[0] that overlap), then its code and id there.
	sh, noPos, off0 := s.shift(t), s.noPos(), s.off[0]
	p0 := x.p0[:0]
	si, sk := -1, uint32(0) // span of the last noPos hit, and its key
	for _, p := range hits {
		slot := s.codes[p]
		if !first(slot) {
			continue
		}
		if rel := uint32(slot>>sh) & noPos; rel != noPos {
			p0 = append(p0, off0[s.key(0, slot)]+rel)
			continue
		}
		// noPos: the code's key is its bucket's, found from the span.
		if si < 0 || p >= spans[si].hi || p < spans[si].lo {
			for si++; p >= spans[si].hi || p < spans[si].lo; si++ {
			}
			off := s.off[t]
			sk = uint32(sort.Search(len(off)-1, func(k int) bool { return off[k+1] > spans[si].lo }))
		}
		x.late = append(x.late, slot&^s.keyMask(t)|uint64(sk)<<sh) // reported by reportLate
		st.Work += MatchCost
	}
	x.p0 = p0
	for _, i := range p0 {
		c := s.codes[i]
		st.Matches++
		st.Work += MatchCost
		if !fn(x.perm.unpermute(c), s.ids[i], bits.OnesCount64(c^pq)) {
			return false
		}
	}
	return true
}

// span is a bucket: codes[lo:hi] of a segment.
type span struct{ lo, hi uint32 }

// verifyGo is verify without assembly: it writes to out the position of
// every code in spans with popcount((code^q)&mask) <= r, span by span, and
// stops before a span that might not fit in out. It returns the spans
// done and the positions written.
func verifyGo(codes []uint64, spans []span, q, mask uint64, r int, out []uint32) (done, n int) {
	for i, sp := range spans {
		if int(sp.hi-sp.lo) > len(out)-n {
			return i, n
		}
		for j, c := range codes[sp.lo:sp.hi] {
			if bits.OnesCount64((c^q)&mask) <= r {
				out[n] = sp.lo + uint32(j)
				n++
			}
		}
	}
	return len(spans), n
}

// maskList lists every kb-bit mask with exactly d bits set. Cached in an
// array, not a map: it is looked up for every table, level and segment of
// every query.
func (x *Index) maskList(kb uint, d int) []uint32 {
	if byD := x.masks[kb]; d < len(byD) && byD[d] != nil {
		return byD[d]
	}
	out := []uint32{}
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
	for len(x.masks[kb]) <= d {
		x.masks[kb] = append(x.masks[kb], nil)
	}
	x.masks[kb][d] = out
	return out
}
