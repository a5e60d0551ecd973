// Package jpegdc decodes only the DC coefficients of a JPEG's luma component:
// an 1/8-scale grey image, which is all a perceptual hash needs.
//
// Why: Go's image/jpeg spends most of its time on the inverse DCT,
// upsampling and the full-resolution image, and goimagehash then spends as
// long again resizing that image down to 64x64. The DC coefficient of each
// 8x8 block is (8 x the block's mean - 1024), so the DC plane is an exact
// box-filtered 1/8 image. Huffman decoding of the AC coefficients cannot be
// skipped in a baseline scan (the code is a bit stream), but they are only
// skipped over: no dezigzag, dequantisation, IDCT or colour conversion. In a
// progressive file the AC scans are skipped with a byte search for the next
// marker.
//
// Supported: baseline and extended-sequential Huffman (SOF0, SOF1),
// progressive Huffman (SOF2), 8-bit samples, 1 component (grey) or
// 3 components read as YCbCr (the first component is luma). Anything else
// (arithmetic coding, lossless, 12-bit, CMYK/YCCK, Adobe RGB) returns
// ErrUnsupported so that the caller can fall back to image/jpeg.
//
// The decoder never panics on corrupt input (it is fuzzed); it returns an
// error, or, for entropy data that ends early, the blocks decoded so far with
// the rest filled grey (like libjpeg's "premature end of data" warning),
// reported by Image.Truncated.
package jpegdc
