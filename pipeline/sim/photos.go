package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
)

// Simulated documents carry the hashes an upload service computes (the
// event contract's documents[].sha256 and phash), so that the photo
// detector works on a simulated wave without image files. Every person's
// photos get their own pseudo-random pHash; a planted photo re-use takes the
// victim's and alters it the way the transformation would (measured on real
// photographs in detectors/photo/eval: a re-encode or resize moves a pHash
// by a few bits, a small crop by a few more; the bytes, and so the SHA-256,
// change unless the file is copied as it is).
//
// The hashes derive from the seed and ids by hashing, never from the
// generator's random stream, so the rest of the wave is the same with or
// without photo re-use.

var photoTransforms = []string{"copy", "reencode", "resize", "crop", "ktp_as_selfie"}

// photoFlips is how many pHash bits each transformation moves, at most.
var photoFlips = map[string]int{"copy": 0, "reencode": 2, "resize": 3, "crop": 5, "ktp_as_selfie": 2}

// photoHashes returns the SHA-256 and pHash (hex) of a registration's
// upload of one document kind.
func (g *gen) photoHashes(r *reg, kind string) (sha, phash string) {
	seed := uint64(g.cfg.Seed)
	src, srcKind, t := r.p.photos, kind, r.photoTransform
	if t == "ktp_as_selfie" {
		if kind != "selfie" {
			src = r.id // the fraudster's own KTP photo; the selfie is the victim's card
		} else {
			srcKind = "ktp"
		}
	}
	h := mix(seed, src, "phash:"+srcKind)
	bytesID := src + "/" + srcKind
	if t != "" && t != "copy" && src != r.id {
		// A transformed copy: new bytes, a pHash a few bits away.
		bytesID = r.id + "/" + kind + "/" + t
		n := 1 + int(mix(seed, r.id, "flips:"+kind)%uint64(photoFlips[t]))
		for i := 0; i < n; i++ {
			h ^= 1 << (mix(seed, r.id, fmt.Sprintf("bit%d:%s", i, kind)) % 64)
		}
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("waspada-sim/%d/%s", seed, bytesID)))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], h)
	return hex.EncodeToString(sum[:]), hex.EncodeToString(b[:])
}

// mix hashes a seed and two strings to 64 well-mixed bits.
func mix(seed uint64, a, b string) uint64 {
	f := fnv.New64a()
	var s [8]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	f.Write(s[:])
	f.Write([]byte(a))
	f.Write([]byte{0})
	f.Write([]byte(b))
	x := f.Sum64()
	// splitmix64 finaliser: fnv's low bits are weak.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
