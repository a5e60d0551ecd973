// Package imghash turns untrusted image bytes into hashes: SHA-256 of the
// bytes (exact re-use) and two 64-bit perceptual hashes computed with
// github.com/corona10/goimagehash (pHash to find candidates, dHash to
// confirm), plus the few image statistics the detector's quality gate needs.
//
// Decoding is defensive, in this order: byte cap (the caller reads at most
// MaxBytes+1), empty input, image.DecodeConfig (format and dimensions from
// the header only), zero and absurd dimensions, the pixel budget (what a
// decompression bomb trips), then the decode itself in a goroutine with a
// deadline and panic recovery. Every failure is a *DecodeError whose Reason
// is one of the Reason constants, so the caller can count each outcome.
//
// The fast path: a JPEG is not decoded at full resolution. Package jpegdc
// reads only the luma DC coefficients (an exact 1/8-scale box-filtered grey
// image) and goimagehash resizes that small image. PNG, GIF and JPEG
// variants jpegdc does not support take the full decode path.
package imghash
