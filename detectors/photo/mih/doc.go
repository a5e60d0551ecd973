// Package mih is a near-neighbour index for 64-bit perceptual hashes in
// Hamming space: multi-index hashing (Norouzi, Punjani and Fleet, "Fast
// Search in Hamming Space with Multi-Index Hashing", CVPR 2012).
//
// A code is split into three chunks (21, 21 and 22 bits). If two codes are
// within distance r = 3a+b (0 <= b < 3), then one of the first b+1 chunks is
// within a, or one of the others within a-1 (pigeonhole). Each chunk has its
// own table; a query probes every key within that radius of its own chunk
// and verifies the codes found there with XOR+popcount.
//
// Layout, which decides whether this beats a linear scan at all: each table
// is a bucket-sorted array of the full 64-bit codes (CSR: an offsets array
// of 2^k+1 uint32 per table, k <= 21), so a bucket's candidates are verified
// from one contiguous run, never through an id indirection. Ids (uint32) are
// stored once, in table 0's order. In tables 1 and 2 a code's key bits are
// implied by its bucket, so they hold instead the position of the same
// (code, id) in its table-0 bucket: a match found there gets its id with
// one load (a binary search in table 0's bucket when that bucket is too
// big for the key's bits). Memory: 3 x 8 bytes of codes + 4 of id +
// 3 x 4 x 2^21 offsets: about 30.5 bytes per hash at 10 million.
//
// Bits are permuted before chunking because pHash bits are not
// independent or fair: the top bits come from the lowest DCT frequencies,
// bit 63 (the DC term) is nearly always set, and in one kind of image
// (KTP portraits) some bits are constant. An index starts with bit i in
// chunk i mod 3 and, when its first segment is built, fits the
// permutation to the codes so that every chunk's key carries the same
// information (fitPerm): with portrait pHash statistics, a quarter fewer
// candidates.
//
// Config.MaxCandidates bounds the work of a query (codes verified, plus
// MatchCost per match): clustered hashes fill some buckets far beyond
// average, and near a cluster most candidates match. Buckets are probed
// nearest first, level by level, so a query stopped by the budget still
// returns every code within Stats.ExactRadius.
//
// The index grows by appending to an unsorted tail (scanned by brute
// force); a full tail becomes a static segment, and segments of similar size
// are merged (the logarithmic method), so an insert costs O(log n)
// amortised and a query visits O(log n) segments. Build makes one segment
// from a bulk load (start-up rebuild).
//
// Not safe for concurrent use: callers serialise (the detector does).
package mih
