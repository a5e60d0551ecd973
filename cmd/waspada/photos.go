package main

import (
	"context"
	"io"

	"github.com/waspada/waspada/detectors/photo/photocli"
)

// runPhotos is `waspada photos hash FILE...` and `waspada photos dedupe DIR
// [--json]`; the command itself lives in detectors/photo/photocli beside
// the detector whose thresholds and limits it shares.
func runPhotos(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return photocli.Run(ctx, args, stdout, stderr)
}
