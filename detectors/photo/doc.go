// Package photo is the photo-duplicate detector: the same KTP photo or
// selfie, re-encoded, resized, cropped or lightly edited, used by several
// registrations, or a KTP photo re-used as a selfie.
//
// Files:
//
//	photo.go      Detector, Config, Prepare (IO: fetch + hash) and Observe (pure)
//	prepared.go   the stored form of Prepare's results (pipeline.Preparer, Restore)
//	signals.go    pair state and the evidence of each signal
//	jpegdc/       DC-only JPEG decoder: a 1/8-scale grey image without IDCT
//	imghash/      safe decoding (limits, typed outcomes) and the hashes
//	fetch/        file://, http(s)://, data: with limits and transient/permanent errors
//	mih/          multi-index hashing: sub-linear Hamming search at 10M hashes
//	photocli/     `waspada photos hash|dedupe` (cmd/waspada/photos.go calls it)
//	eval/         labelled-set builder (python3) and evaluation command
//	README.md     API summary, benchmark/index/evaluation tables, known gaps
//
// Signals (Detector "photo"), all with Key = the other registration id
// unless noted:
//
//	exact_duplicate     same SHA-256, same document kind, another registration
//	near_duplicate      pHash within the kind's threshold, confirmed by dHash
//	                    (and, for KTP cards, by the portrait ROI's pHash,
//	                    dHash and colour layout; cards are searched by the
//	                    portrait hash, since whole cards share a template)
//	cross_kind_reuse    a document of one kind matches one of another kind
//	                    (a KTP photo uploaded as a selfie); Key may be the
//	                    registration itself
//	document_unavailable  fetch failed permanently (Key = document kind)
//	document_undecodable  bytes could not be decoded (Key = document kind;
//	                    evidence has the reason class)
//
// Determinism: a pair signal is recomputed from the set of matching
// document pairs of the two registrations (the best match by distance, then
// by event order), so the final signals do not depend on arrival order, and
// both registrations get one: the earlier one is re-scored when a later
// duplicate appears. Evidence says which side came first. Failure signals
// carry one entry per failed upload, sorted by event order; a person on a
// bad network who retries gets one signal per kind, not one per attempt.
//
// IO: Prepare(ctx, ev) fetches and hashes the documents that carry no
// precomputed hashes (concurrently, through a Fetcher, outside the
// serialised Observe) and returns the results as JSON for the pipeline to
// store; Restore hands them back on a rebuild. Observe uses what Prepare or
// Restore left, the precomputed sha256/phash on the document, or, as a
// fallback, fetches synchronously.
package photo
