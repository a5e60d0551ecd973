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
// stored once, in table 0's order; the rare match found through tables 1 and
// 2 gets its ids from table 0's bucket. Memory: 3 x 8 bytes of codes + 4 of
// id + 3 x 4 x 2^21 offsets: about 30.5 bytes per hash at 10 million.
//
// Bits are permuted before chunking (bit i goes to chunk i mod 3) because
// pHash bits are not independent: the top bits come from the lowest DCT
// frequencies, and bit 63 (the DC term) is nearly always set, so contiguous
// chunks would leave table 0 with half its buckets empty.
//
// The index grows by appending to an unsorted tail (scanned by brute
// force); a full tail becomes a static segment, and segments of similar size
// are merged (the logarithmic method), so an insert costs O(log n)
// amortised and a query visits O(log n) segments. Build makes one segment
// from a bulk load (start-up rebuild).
//
// Not safe for concurrent use: callers serialise (the detector does).
package mih
