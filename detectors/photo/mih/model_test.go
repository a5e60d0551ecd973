package mih

import (
	"bufio"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// loadPHashes reads testdata/ktp_phash.txt: lines "<kind> <hex>", kind
// "card" (whole-card pHash) or "portrait" (pHash of the portrait region) of
// the evaluation set's 400 distinct synthetic KTP cards.
func loadPHashes(tb testing.TB, kind string) []uint64 {
	tb.Helper()
	f, err := os.Open("testdata/ktp_phash.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, h, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok || k != kind {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(h), 16, 64)
		if err != nil {
			tb.Fatalf("ktp_phash.txt: %q: %v", sc.Text(), err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatalf("ktp_phash.txt: no %q lines", kind)
	}
	return out
}

// bitModel draws 64-bit codes with the per-bit frequencies of a sample of
// real pHashes. If every sample has the same popcount w (a median-threshold
// pHash has exactly 32 bits set, so its distances are even), the model is
// conditional Bernoulli: independent bits conditioned on popcount w, with
// working probabilities fitted so that each bit's inclusion probability
// equals its frequency in the sample. Otherwise the bits are independent
// Bernoulli. Either way the expected distance between two draws,
// sum 2f(1-f) over bits, is the sample's mean pairwise distance times
// (n-1)/n; the correlations between bits are not modelled.
type bitModel struct {
	freq   [64]float64
	weight int // fixed popcount, or -1
	// draw bit i (given k bits still to set) iff rng.Uint64() < thr[i][k]
	thr [64][65]uint64
}

func newBitModel(sample []uint64) *bitModel {
	m := &bitModel{weight: bits.OnesCount64(sample[0])}
	for _, c := range sample {
		for b := 0; b < 64; b++ {
			m.freq[b] += float64(c >> b & 1)
		}
		if bits.OnesCount64(c) != m.weight {
			m.weight = -1
		}
	}
	for b := range m.freq {
		m.freq[b] /= float64(len(sample))
	}
	frac := func(p float64) uint64 {
		switch {
		case p <= 0:
			return 0
		case p >= 1:
			return math.MaxUint64
		}
		return uint64(p * (1 << 64))
	}
	if m.weight < 0 {
		for i := range m.thr {
			for k := range m.thr[i] {
				m.thr[i][k] = frac(m.freq[i])
			}
		}
		return m
	}
	p := m.fitWorking()
	g := tailSums(p)
	for i := 0; i < 64; i++ {
		for k := 0; k <= 64; k++ {
			if k == 0 || g[i][k] == 0 {
				continue // thr 0: nothing more to set (or unreachable)
			}
			m.thr[i][k] = frac(p[i] * g[i+1][k-1] / g[i][k])
		}
	}
	return m
}

// tailSums: g[i][k] = P(bits i..63 sum to k), bits independent with p.
func tailSums(p [64]float64) (g [65][66]float64) {
	g[64][0] = 1
	for i := 63; i >= 0; i-- {
		for k := 0; k <= 64-i; k++ {
			g[i][k] = (1 - p[i]) * g[i+1][k]
			if k > 0 {
				g[i][k] += p[i] * g[i+1][k-1]
			}
		}
	}
	return g
}

// inclusion: P(bit i set | popcount w) for independent bits with p.
func inclusion(p [64]float64, w int) (pi [64]float64) {
	g := tailSums(p)
	var f [66]float64 // f[k] = P(bits 0..i-1 sum to k)
	f[0] = 1
	for i := 0; i < 64; i++ {
		var s float64
		for k := 0; k <= w-1 && k <= i; k++ {
			s += f[k] * g[i+1][w-1-k]
		}
		pi[i] = p[i] * s / g[0][w]
		for k := i + 1; k >= 0; k-- {
			f[k] *= 1 - p[i]
			if k > 0 {
				f[k] += p[i] * f[k-1]
			}
		}
	}
	return pi
}

// fitWorking finds working probabilities whose conditional-Bernoulli
// inclusion probabilities are m.freq (fixed-point iteration on the odds;
// bits always or never set stay so).
func (m *bitModel) fitWorking() [64]float64 {
	p := m.freq
	for it := 0; it < 500; it++ {
		pi := inclusion(p, m.weight)
		worst := 0.0
		for i := range p {
			if p[i] <= 0 || p[i] >= 1 {
				continue
			}
			worst = max(worst, math.Abs(pi[i]-m.freq[i]))
			o := p[i] / (1 - p[i]) * (m.freq[i] / (1 - m.freq[i])) / (pi[i] / (1 - pi[i]))
			p[i] = o / (1 + o)
		}
		if worst < 1e-9 {
			break
		}
	}
	return p
}

func (m *bitModel) draw(r *rand.Rand) uint64 {
	var c uint64
	if m.weight < 0 {
		for i := 0; i < 64; i++ {
			if r.Uint64() < m.thr[i][0] {
				c |= 1 << i
			}
		}
		return c
	}
	k := m.weight
	for i := 0; i < 64 && k > 0; i++ {
		if r.Uint64() < m.thr[i][k] {
			c |= 1 << i
			k--
		}
	}
	return c
}

func (m *bitModel) codes(r *rand.Rand, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = m.draw(r)
	}
	return out
}

// near is c with k of its set bits cleared and k clear bits set (popcount
// and the model's even distances kept), or k bits flipped when the model
// has no fixed weight: a near-duplicate at distance 2k (k).
func (m *bitModel) near(r *rand.Rand, c uint64, k int) uint64 {
	if m.weight < 0 {
		return c ^ flip(r, k)
	}
	ones, zeros := c, ^c
	for i := 0; i < k; i++ {
		b := nthBit(ones, r.IntN(bits.OnesCount64(ones)))
		ones &^= b
		c &^= b
		b = nthBit(zeros, r.IntN(bits.OnesCount64(zeros)))
		zeros &^= b
		c |= b
	}
	return c
}

// nthBit is the j-th set bit of x (j from 0, lowest first), as a mask.
func nthBit(x uint64, j int) uint64 {
	for ; j > 0; j-- {
		x &= x - 1
	}
	return x & -x
}

// pairsWithin: the fraction of pairs of codes within each radius.
func pairsWithin(codes []uint64, radii []int) []float64 {
	out := make([]float64, len(radii))
	var n float64
	for i := range codes {
		for j := 0; j < i; j++ {
			d := bits.OnesCount64(codes[i] ^ codes[j])
			for k, r := range radii {
				if d <= r {
					out[k]++
				}
			}
			n++
		}
	}
	for k := range out {
		out[k] /= n
	}
	return out
}

// TestBitModel: the fitted model reproduces the sample's bit frequencies
// and popcount, and so its mean pairwise distance.
func TestBitModel(t *testing.T) {
	for _, kind := range []string{"portrait", "card"} {
		real := loadPHashes(t, kind)
		m := newBitModel(real)
		if m.weight != 32 {
			t.Errorf("%s: weight %d, want 32 (median-threshold pHash)", kind, m.weight)
		}
		rng := rand.New(rand.NewPCG(7, 8))
		const n = 200000
		var freq [64]float64
		var dist float64
		prev := uint64(0)
		for i := 0; i < n; i++ {
			c := m.draw(rng)
			if m.weight >= 0 && bits.OnesCount64(c) != m.weight {
				t.Fatalf("%s: popcount %d", kind, bits.OnesCount64(c))
			}
			for b := 0; b < 64; b++ {
				freq[b] += float64(c >> b & 1)
			}
			if i > 0 {
				dist += float64(bits.OnesCount64(c ^ prev))
			}
			prev = c
			if nc := m.near(rng, c, 3); bits.OnesCount64(nc^c) != 6 || (m.weight >= 0 && bits.OnesCount64(nc) != m.weight) {
				t.Fatalf("near: distance %d", bits.OnesCount64(nc^c))
			}
		}
		for b := range freq {
			if d := math.Abs(freq[b]/n - m.freq[b]); d > 0.005 {
				t.Errorf("%s bit %d: frequency %.4f, sample %.4f", kind, b, freq[b]/n, m.freq[b])
			}
		}
		var realDist float64
		for i := range real {
			for j := 0; j < i; j++ {
				realDist += float64(bits.OnesCount64(real[i] ^ real[j]))
			}
		}
		nr := float64(len(real))
		realDist /= nr * (nr - 1) / 2
		want := realDist * (nr - 1) / nr
		if got := dist / (n - 1); math.Abs(got-want) > 0.05 {
			t.Errorf("%s: mean distance %.3f, want %.3f (sample %.3f)", kind, got, want, realDist)
		}
	}
}
