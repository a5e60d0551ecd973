//go:build !amd64

package mih

func verify(codes []uint64, spans []span, q uint64, r int, out []uint32) (done, n int) {
	return verifyGo(codes, spans, q, r, out)
}
