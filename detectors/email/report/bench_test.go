package report

import (
	"bytes"
	"context"
	"crypto"
	"testing"
	"time"
)

// alwaysFirst is a UsedStore that never remembers, so that one message can
// be verified b.N times through the accepting path.
type alwaysFirst struct{}

func (alwaysFirst) MarkUsed(context.Context, string, time.Time) (bool, error) { return true, nil }

// BenchmarkVerify measures accepted reports per second on one core:
//
//	go test -run '^$' -bench BenchmarkVerify -cpu 1 -benchtime 2s ./detectors/email/report/
func BenchmarkVerify(b *testing.B) {
	for _, k := range []struct {
		name, selector string
		key            func() crypto.Signer
	}{{"rsa-2048", "rsa", func() crypto.Signer { return rsa2048 }}, {"ed25519", "ed", func() crypto.Signer { return edKey }}} {
		b.Run(k.name, func(b *testing.B) {
			f := newFixture(b)
			now := time.Now()
			tok := f.token(b, regID, ownerAddr, now.Add(time.Hour))
			raw := msg{headers: f.defaultHeaders(b, "report+"+tok+"@reports.example"), body: body,
				signers: []signer{{domain: "provider.example", selector: k.selector, key: k.key()}}}.build(b)
			f.seen = nil
			v := f.verifier(b, now, func(c *Config) { c.Skip.Replay = true })
			ctx := context.Background()
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for b.Loop() {
				vd, err := v.Verify(ctx, bytes.NewReader(raw))
				if err != nil || !vd.Accepted {
					b.Fatalf("%+v %v", vd, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}
