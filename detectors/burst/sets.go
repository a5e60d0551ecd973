package burst

import (
	"math"
	"math/bits"
)

// hash64 is FNV-1a with a splitmix64 finish: fixed across processes (unlike
// maphash) so that state and evidence are reproducible, and well mixed in
// the top bits that HyperLogLog uses.
func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}

func hashBytes(s []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range s {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return mix(h)
}

func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// distinct counts distinct 64-bit hashes: a short slice for the usual one
// or two values, a map up to `exact`, then a HyperLogLog (p=10, ~3%
// error), which is order-independent too.
type distinct struct {
	small []uint64
	m     map[uint64]struct{}
	h     *hll
}

const smallDistinct = 8

// add reports whether v was new (always true once approximate).
func (d *distinct) add(v uint64, exact int) bool {
	switch {
	case d.h != nil:
		d.h.add(v)
		return true
	case d.m != nil:
		if _, ok := d.m[v]; ok {
			return false
		}
		if len(d.m) >= exact {
			d.h = newHLL()
			for k := range d.m {
				d.h.add(k)
			}
			d.m = nil
			d.h.add(v)
			return true
		}
		d.m[v] = struct{}{}
		return true
	}
	for _, x := range d.small {
		if x == v {
			return false
		}
	}
	if len(d.small) < smallDistinct {
		d.small = append(d.small, v)
		return true
	}
	d.m = make(map[uint64]struct{}, 2*smallDistinct)
	for _, x := range d.small {
		d.m[x] = struct{}{}
	}
	d.small = nil
	d.m[v] = struct{}{}
	return true
}

func (d *distinct) count() int {
	switch {
	case d.h != nil:
		return d.h.count()
	case d.m != nil:
		return len(d.m)
	}
	return len(d.small)
}

func (d *distinct) approximate() bool { return d.h != nil }

const hllP = 10

type hll struct{ reg [1 << hllP]uint8 }

func newHLL() *hll { return &hll{} }

func (h *hll) add(v uint64) {
	i := v >> (64 - hllP)
	r := uint8(bits.LeadingZeros64(v<<hllP|1<<(hllP-1)) + 1)
	if r > h.reg[i] {
		h.reg[i] = r
	}
}

func (h *hll) count() int {
	const m = 1 << hllP
	sum, zeros := 0.0, 0
	for _, r := range h.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	est := 0.7213 / (1 + 1.079/m) * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(float64(m)/float64(zeros))
	}
	return int(math.Round(est))
}

// poissonLog10SF is log10 P(X >= x) for X ~ Poisson(lambda), for x > lambda
// (the only case the detector tests), summed in log space so that it does
// not underflow for farms far above the baseline.
func poissonLog10SF(x int, lambda float64) float64 {
	if x <= 0 {
		return 0
	}
	if lambda <= 0 {
		return math.Inf(-1)
	}
	lg, _ := math.Lgamma(float64(x) + 1)
	logTerm := -lambda + float64(x)*math.Log(lambda) - lg
	// Sum term ratios lambda/(k+1) until they no longer matter.
	sum, term := 1.0, 1.0
	for k := x + 1; k < x+100000; k++ {
		term *= lambda / float64(k)
		sum += term
		if term < 1e-17*sum {
			break
		}
	}
	v := (logTerm + math.Log(sum)) / math.Ln10
	if v > 0 {
		v = 0
	}
	return v
}
