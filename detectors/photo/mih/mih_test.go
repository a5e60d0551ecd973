package mih

import (
	"fmt"
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
		dyn := New(Config{TailSize: 256})
		for i, c := range codes {
			dyn.Insert(c, ids[i])
		}
		bulk := Build(Config{}, codes, ids)
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
					if st.Capped {
						t.Fatalf("capped")
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
