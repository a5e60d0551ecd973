//go:build !amd64

package mih

const hasAVX512 = false

func verify(codes []uint64, spans []span, q, mask uint64, r int, out []uint32) (done, n int) {
	return verifyGo(codes, spans, q, mask, r, out)
}
