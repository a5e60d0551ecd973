package main

import (
	"context"
	"io"

	"github.com/waspada/waspada/detectors/email/reportcli"
)

// runReports is `waspada reports verify FILE.eml [--dns-zone ZONE]
// [--registered ADDR --secret-file F] ...` and `waspada reports token
// --registration R --email ADDR --secret-file F [--key-id K --ttl D
// --base-url URL]`; the command lives in detectors/email/reportcli beside
// the verifier whose config it shares.
func runReports(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return reportcli.Run(ctx, args, stdout, stderr)
}
