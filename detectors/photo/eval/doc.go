// Command eval measures the photo detector's matching on a labelled set
// built by make_set.py: recall per transformation (each transformed image
// against its original) and the false-match rate among distinct originals
// (photographs, and same-template KTP cards of distinct people), at the
// thresholds of photo.DefaultConfig, plus a pHash threshold sweep.
//
//	/usr/bin/python3 detectors/photo/eval/make_set.py /tmp/evalset
//	go run ./detectors/photo/eval -dir /tmp/evalset
//
// Photographs are judged with the "selfie" thresholds (a selfie is a
// photograph), cards with the "ktp" thresholds and region of interest.
package main
