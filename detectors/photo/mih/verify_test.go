package mih

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestVerify checks verify (the assembly kernel where the CPU has one)
// against verifyGo: spans of every length around the 8-lane step, hits
// at every lane, and an out buffer too small for everything.
func TestVerify(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	q := rng.Uint64()
	codes := make([]uint64, 4000)
	for i := range codes {
		codes[i] = q ^ flip(rng, rng.IntN(16))
	}
	var spans []span
	for lo := 0; lo < len(codes)-40; {
		n := rng.IntN(20)
		if rng.IntN(50) == 0 {
			n = 0
		}
		spans = append(spans, span{uint32(lo), uint32(lo + n)})
		lo += n + rng.IntN(3)
	}
	for _, mask := range []uint64{^uint64(0), ^uint64(0x7ffff << 22), ^uint64(0xff)} {
		for _, r := range []int{0, 3, 8, 12, 64} {
			for _, room := range []int{0, 7, 19, 64, 5000} {
				out1 := make([]uint32, room)
				out2 := make([]uint32, room)
				d1, n1 := verify(codes, spans, q, mask, r, out1)
				d2, n2 := verifyGo(codes, spans, q, mask, r, out2)
				if d1 != d2 || n1 != n2 || !slices.Equal(out1[:n1], out2[:n2]) {
					t.Fatalf("mask=%x r=%d room=%d: verify (%d spans, %d hits), verifyGo (%d, %d)", mask, r, room, d1, n1, d2, n2)
				}
			}
		}
	}
	t.Logf("hasAVX512 = %v", hasAVX512)
}
