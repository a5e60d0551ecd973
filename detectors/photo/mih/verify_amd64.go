package mih

import "golang.org/x/sys/cpu"

// hasAVX512: the kernel uses 512-bit integer ops (F, BW) and byte masks (DQ).
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ

// verify is verifyGo in AVX-512 where the CPU has it: eight codes per
// step under a mask (no per-bucket loop-exit mispredictions), popcount by
// nibble lookup (VPSHUFB) and VPSADBW, and a software prefetch of the
// buckets a few spans ahead (every line of their first 128 codes).
func verify(codes []uint64, spans []span, q, mask uint64, r int, out []uint32) (done, n int) {
	if !hasAVX512 || len(codes) == 0 {
		return verifyGo(codes, spans, q, mask, r, out)
	}
	return verifyAVX512(&codes[0], spans, q, mask, r, out)
}

//go:noescape
func verifyAVX512(codes *uint64, spans []span, q, mask uint64, r int, out []uint32) (done, n int)
