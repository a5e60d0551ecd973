// Package photocli is the `waspada photos` command for analysts and
// operators: hash files, and find groups of near-duplicate images in a
// folder. It lives beside the detector so that it shares its thresholds
// and limits; cmd/waspada only calls Run.
package photocli
