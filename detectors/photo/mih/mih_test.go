package mih

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPermute(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		x, y := r.Uint64(), r.Uint64()
		if unpermute(permute(x)) != x {
			t.Fatalf("unpermute(permute(%x)) = %x", x, unpermute(permute(x)))
		}
		if bits.OnesCount64(permute(x)^permute(y)) != bits.OnesCount64(x^y) {
			t.Fatal("permutation changes distances")
		}
	}
	// bit 63 (pHash DC term) must not be in the same chunk as bit 62.
	if (permute(1<<63)>>43 != 0) == (permute(1<<62)>>43 != 0) {
		t.Error("adjacent bits share chunk 0")
	}
}

// TestFitPerm: a fitted permutation is a permutation, and on the real
// portrait pHashes it spreads their information evenly over the chunks,
// with the constant bits where they cost least.
func TestFitPerm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sample := loadPHashes(t, "portrait")
	p := fitPerm(sample)
	for i := 0; i < 1000; i++ {
		x, y := rng.Uint64(), rng.Uint64()
		if p.unpermute(p.permute(x)) != x || bits.OnesCount64(p.permute(x)) != bits.OnesCount64(x) {
			t.Fatalf("not a permutation at %x", x)
		}
		if bits.OnesCount64(p.permute(x)^p.permute(y)) != bits.OnesCount64(x^y) {
			t.Fatal("permutation changes distances")
		}
	}
	// collision entropy of each chunk's 21 key bits
	load := func(p *perm) (l [nTables]float64) {
		for b := 0; b < 64; b++ {
			var f float64
			for _, c := range sample {
				f += float64(c >> b & 1)
			}
			f /= float64(len(sample))
			pos := uint(bits.TrailingZeros64(p.permute(1 << b)))
			for c := 0; c < nTables; c++ {
				if pos >= chunkLen[c]-maxKey+chunkLow[c] && pos < chunkLow[c]+chunkLen[c] {
					l[c] += -math.Log2(f*f + (1-f)*(1-f))
				}
			}
		}
		return l
	}
	fit, il := load(p), load(interleave)
	spread := func(l [nTables]float64) float64 { return max(l[0], l[1], l[2]) - min(l[0], l[1], l[2]) }
	if spread(fit) > 0.5 || min(fit[0], fit[1], fit[2]) <= min(il[0], il[1], il[2]) {
		t.Errorf("key entropy per chunk: fitted %.2f, interleave %.2f", fit, il)
	}
	// Bits 61 (never set) and 63 (always set): one below every key (the
	// bottom of chunk 2), the other at the bottom of another chunk.
	for _, b := range []int{61, 63} {
		pos := uint(bits.TrailingZeros64(p.permute(1 << b)))
		if pos != 0 && pos != chunkLow[1] && pos != chunkLow[0] {
			t.Errorf("constant bit %d at %d", b, pos)
		}
	}
	t.Logf("key entropy per chunk (bits of 21): fitted %.2f, interleave %.2f", fit, il)
}

type pair struct {
	code uint64
	id   uint32
	d    int
}

func brute(codes []uint64, ids []uint32, q uint64, r int) []pair {
	var out []pair
	for i, c := range codes {
		if d := bits.OnesCount64(c ^ q); d <= r {
			out = append(out, pair{c, ids[i], d})
		}
	}
	return sortPairs(out)
}

func sortPairs(p []pair) []pair {
	slices.SortFunc(p, func(a, b pair) int {
		if a.id != b.id {
			return int(a.id) - int(b.id)
		}
		if a.code < b.code {
			return -1
		}
		if a.code > b.code {
			return 1
		}
		return 0
	})
	return p
}

func search(x *Index, q uint64, r int) ([]pair, Stats) {
	var out []pair
	st := x.Search(q, r, func(c uint64, id uint32, d int) bool {
		out = append(out, pair{c, id, d})
		return true
	})
	return sortPairs(out), st
}

func TestMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, data := range []struct {
		name  string
		codes []uint64
	}{
		{"random", randomCodes(rng, 20000)},
		{"clustered", clusteredCodes(rng, 20000, 50)},
	} {
		n := len(data.codes)
		// duplicates: the same code under several ids
		codes := append(slices.Clone(data.codes), data.codes[:500]...)
		ids := make([]uint32, len(codes))
		for i := range ids {
			ids[i] = uint32(i)
		}
		dyn := New(Config{TailSize: 256, MaxCandidates: 1 << 30})
		for i, c := range codes {
			dyn.Insert(c, ids[i])
		}
		bulk := Build(Config{MaxCandidates: 1 << 30}, codes, ids)
		if dyn.Len() != n+500 || bulk.Len() != n+500 {
			t.Fatalf("Len %d %d", dyn.Len(), bulk.Len())
		}
		if len(dyn.segs) > 12 {
			t.Errorf("%d segments after %d inserts", len(dyn.segs), len(codes))
		}
		for qi := 0; qi < 60; qi++ {
			q := codes[rng.IntN(len(codes))] ^ flip(rng, rng.IntN(10))
			if qi%3 == 0 {
				q = rng.Uint64()
			}
			for _, r := range []int{0, 1, 3, 5, 8, 10, 12} {
				want := brute(codes, ids, q, r)
				for name, x := range map[string]*Index{"dynamic": dyn, "bulk": bulk} {
					got, st := search(x, q, r)
					if st.Capped || st.ExactRadius != r || st.Matches != len(want) {
						t.Fatalf("stats %+v, %d matches", st, len(want))
					}
					if !slices.Equal(got, want) {
						t.Fatalf("%s %s q=%x r=%d: got %d results, want %d", data.name, name, q, r, len(got), len(want))
					}
				}
			}
		}
	}
}

func TestCapAndStop(t *testing.T) {
	codes := make([]uint64, 5000)
	ids := make([]uint32, 5000)
	for i := range codes {
		codes[i] = 0xFFFF0000FFFF0000 ^ uint64(i&7) // one dense cluster
		ids[i] = uint32(i)
	}
	x := Build(Config{MaxCandidates: 100}, codes, ids)
	_, st := search(x, codes[0], 4)
	if !st.Capped || st.Candidates > 100+5000 {
		t.Errorf("stats %+v, want capped", st)
	}
	n := 0
	x2 := Build(Config{}, codes, ids)
	x2.Search(codes[0], 4, func(uint64, uint32, int) bool { n++; return n < 3 })
	if n != 3 {
		t.Errorf("fn called %d times after returning false", n)
	}
}

// oneHotBucket: 6,000 codes, 5,000 of which share chunk 0 (one run-0
// bucket of 5,000) and are near each other in the other chunks too, so that
// tables 1 and 2 find them.
func oneHotBucket(rng *rand.Rand) []uint64 {
	top := rng.Uint64() &^ (1<<43 - 1)
	var codes []uint64
	for i := 0; i < 6000; i++ {
		c := rng.Uint64()
		if i%6 != 0 {
			c = unpermute(top | permute(c)&(1<<43-1)&^(0x3ffff<<22|0x3ffff<<1))
		}
		codes = append(codes, c)
	}
	return codes
}

// TestNoPosFallback: a run-0 bucket too big for positions in the key bits
// of runs 1 and 2 (noPos) still gives the scan's results, with duplicates.
func TestNoPosFallback(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	// 6,300 codes, kb 12: 5,000 share chunk 0 (one run-0 bucket of 5,000+
	// > 2^12-1), the rest random; 300 duplicated under new ids.
	codes := oneHotBucket(rng)
	codes = append(codes, codes[:300]...)
	ids := make([]uint32, len(codes))
	for i := range ids {
		ids[i] = uint32(i)
	}
	// The interleave permutation (not one fitted to these codes), so
	// that chunk 0 is what the codes share.
	x := build(Config{MaxCandidates: 1 << 30}, codes, ids, interleave)
	s := x.segs[0]
	noPos := 0
	for t := 1; t < nTables; t++ {
		for _, slot := range s.codes[t*s.n : (t+1)*s.n] {
			if uint32(slot>>s.shift(t))&s.noPos() == s.noPos() {
				noPos++
			}
		}
	}
	if noPos < 2*5000 {
		t.Fatalf("%d noPos slots, want the big bucket's 2 x 5,000+", noPos)
	}
	capped := build(Config{}, codes, ids, interleave)
	for qi := 0; qi < 40; qi++ {
		q := codes[rng.IntN(len(codes))] ^ flip(rng, rng.IntN(6))
		for _, r := range []int{0, 2, 5, 8, 11} {
			want := brute(codes, ids, q, r)
			got, st := search(x, q, r)
			if st.Capped || !slices.Equal(got, want) {
				t.Fatalf("q=%x r=%d: got %d results (%+v), want %d", q, r, len(got), st, len(want))
			}
			// Budgets that cap inside the big bucket (verified in parts).
			for _, budget := range []int{100, 3000, 9000, 40000} {
				capped.cfg.MaxCandidates = budget
				got, st := search(capped, q, r)
				if len(got) != st.Matches {
					t.Fatalf("%d results, Stats.Matches %d", len(got), st.Matches)
				}
				if st.Capped {
					checkCapped(t, got, want, st, r)
				} else if !slices.Equal(got, want) {
					t.Fatalf("budget %d, uncapped: %d results, want %d", budget, len(got), len(want))
				}
			}
		}
	}
}

// TestStop: fn returning false ends the search at once, wherever it is
// (tail, table 0, tables 1 and 2, noPos fallback).
func TestStop(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	codes := oneHotBucket(rng)
	codes = append(codes, clusteredCodes(rng, 4000, 4)...) // found through tables 1 and 2
	codes = append(codes, codes[:300]...)
	ids := make([]uint32, len(codes))
	for i := range ids {
		ids[i] = uint32(i)
	}
	dyn := New(Config{TailSize: 1000, MaxCandidates: 1 << 30})
	dyn.fitted = true // keep interleave: chunk 0 is what the codes share
	for i, c := range codes {
		dyn.Insert(c, ids[i])
	}
	bulk := build(Config{MaxCandidates: 1 << 30}, codes, ids, interleave)
	for qi := 0; qi < 40; qi++ {
		q := codes[rng.IntN(len(codes))] ^ flip(rng, rng.IntN(6))
		for _, x := range []*Index{dyn, bulk} {
			want := brute(codes, ids, q, 8)
			for _, k := range []int{1, 2, 5, len(want) / 3, len(want) / 2, len(want) - 1} {
				if k < 1 || k >= len(want) {
					continue
				}
				var got []pair
				x.Search(q, 8, func(c uint64, id uint32, d int) bool {
					got = append(got, pair{c, id, d})
					return len(got) < k
				})
				if len(got) != k {
					t.Fatalf("fn called %d times, returned false at %d", len(got), k)
				}
				for _, p := range got {
					if !slices.Contains(want, p) {
						t.Fatalf("%+v not in the scan's results", p)
					}
				}
			}
		}
	}
}

// TestCappedSubset: a capped query's results are a subset of the scan's,
// each (code, id) once, complete up to Stats.ExactRadius, and its work
// stays within the budget (plus one verify batch of matches).
func TestCappedSubset(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	codes := clusteredCodes(rng, 30000, 20)
	codes = append(codes, codes[:1000]...)
	ids := make([]uint32, len(codes))
	for i := range ids {
		ids[i] = uint32(i)
	}
	cappedN, partial := 0, 0
	for _, budget := range []int{1, 50, 300, 2000, 10000} {
		for _, dyn := range []bool{false, true} {
			var x *Index
			if dyn {
				x = New(Config{TailSize: 512, MaxCandidates: budget})
				for i, c := range codes {
					x.Insert(c, ids[i])
				}
			} else {
				x = Build(Config{MaxCandidates: budget}, codes, ids)
			}
			for qi := 0; qi < 30; qi++ {
				q := codes[rng.IntN(len(codes))] ^ flip(rng, rng.IntN(5))
				for _, r := range []int{2, 5, 8, 12} {
					want := brute(codes, ids, q, r)
					got, st := search(x, q, r)
					if len(got) != st.Matches {
						t.Fatalf("%d results, Stats.Matches %d", len(got), st.Matches)
					}
					if st.Work > budget+MatchCost*64+len(x.tailCodes)*(MatchCost+1) {
						t.Fatalf("budget %d: stats %+v", budget, st)
					}
					if !st.Capped {
						if st.ExactRadius != r || !slices.Equal(got, want) {
							t.Fatalf("uncapped: %+v, %d results, want %d", st, len(got), len(want))
						}
						continue
					}
					cappedN++
					if len(got) > 0 && len(got) < len(want) {
						partial++
					}
					checkCapped(t, got, want, st, r)
				}
			}
		}
	}
	if cappedN == 0 || partial == 0 {
		t.Errorf("%d capped queries, %d with partial results: the test does not exercise the cap", cappedN, partial)
	}
	t.Logf("%d capped queries, %d with partial results", cappedN, partial)
}

// checkCapped: the results of a capped query are a subset of the scan's
// (want), each (code, id) once, and complete up to st.ExactRadius < r.
func checkCapped(t *testing.T, got, want []pair, st Stats, r int) {
	t.Helper()
	if st.ExactRadius >= r || st.ExactRadius < -1 {
		t.Fatalf("capped, ExactRadius %d, r %d", st.ExactRadius, r)
	}
	i := 0 // got and want are sorted: got must be a subsequence
	for _, p := range got {
		for i < len(want) && want[i] != p {
			i++
		}
		if i == len(want) {
			t.Fatalf("r %d: %+v not in the scan's results (or reported twice)", r, p)
		}
		i++
	}
	for _, p := range want {
		if p.d > st.ExactRadius {
			continue
		}
		if _, ok := slices.BinarySearchFunc(got, p, func(a, b pair) int {
			return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.code, b.code))
		}); !ok {
			t.Fatalf("r %d: missing %+v within ExactRadius %d", r, p, st.ExactRadius)
		}
	}
}

func randomCodes(r *rand.Rand, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.Uint64()
	}
	return out
}

func flip(r *rand.Rand, k int) uint64 {
	var m uint64
	for bits.OnesCount64(m) < k {
		m |= 1 << r.IntN(64)
	}
	return m
}

// clusteredCodes imitates real pHash values: bit 63 (the DC term) nearly
// always set, low-frequency bits biased, and codes drawn around templates,
// one of which (every KTP card looks alike) takes a tenth of all codes.
func clusteredCodes(r *rand.Rand, n, templates int) []uint64 {
	centres := make([]uint64, templates)
	var bias [64]float64
	for b := range bias {
		bias[b] = 0.5
		if b >= 48 { // low frequencies
			bias[b] = 0.2 + 0.6*r.Float64()
		}
	}
	bias[63] = 0.97
	for i := range centres {
		var c uint64
		for b := 0; b < 64; b++ {
			if r.Float64() < bias[b] {
				c |= 1 << b
			}
		}
		centres[i] = c
	}
	out := make([]uint64, n)
	for i := range out {
		c := centres[r.IntN(templates)]
		if r.IntN(10) == 0 {
			c = centres[0]
		}
		// each code differs from its template in 6-20 bits (same layout,
		// different person, camera, lighting)
		out[i] = c ^ flip(r, 6+r.IntN(15))
	}
	return out
}

var _ = fmt.Sprint

// TestTailLargerThanScratch: a tail longer than the verify kernel's output
// buffer (4,096 positions), every code a match, is scanned in chunks: all
// are reported once, and fn can stop it mid-chunk.
func TestTailLargerThanScratch(t *testing.T) {
	const n = 9000
	x := New(Config{TailSize: n + 1, MaxCandidates: 1 << 30})
	rng := rand.New(rand.NewPCG(21, 22))
	base := rng.Uint64()
	codes := make([]uint64, n)
	ids := make([]uint32, n)
	for i := range codes {
		codes[i] = base ^ flip(rng, rng.IntN(3))
		ids[i] = uint32(i)
		x.Insert(codes[i], ids[i])
	}
	if len(x.segs) != 0 {
		t.Fatalf("%d segments: the codes should all be in the tail", len(x.segs))
	}
	want := brute(codes, ids, base, 4)
	got, st := search(x, base, 4)
	if len(want) != n || !slices.Equal(got, want) || st.Candidates != n || st.Matches != n {
		t.Fatalf("got %d results (stats %+v), want %d of %d", len(got), st, len(want), n)
	}
	calls := 0
	x.Search(base, 4, func(uint64, uint32, int) bool { calls++; return calls < 5000 })
	if calls != 5000 {
		t.Fatalf("fn called %d times after returning false at 5000", calls)
	}
}
