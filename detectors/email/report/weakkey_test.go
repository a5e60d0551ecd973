//go:debug rsa1024min=0

package report

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"slices"
	"testing"
	"time"
)

// RFC 8301: keys under 1024 bits are refused whatever Config.MinRSABits
// says. Go refuses to make such keys unless rsa1024min=0 (set for this test
// binary above); go-msgauth then refuses the key ("key is too short"),
// which is classified weak_key, not forged_sender.
func TestVerifyRejectsRSABelow1024(t *testing.T) {
	k512, err := rsa.GenerateKey(rand.Reader, 512)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.zone.Add("tiny._domainkey.provider.example", keyRecord(t, k512))
	now := time.Now()
	tok := f.token(t, regID, ownerAddr, now.Add(time.Hour))
	raw := msg{headers: f.defaultHeaders(t, "report+"+tok+"@reports.example"), body: body,
		signers: []signer{{domain: "provider.example", selector: "tiny", key: k512}}}.build(t)
	v := f.verifier(t, now, func(c *Config) { c.MinRSABits = 1024 })
	vd, err := v.Verify(context.Background(), bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if vd.Accepted || !slices.Equal(vd.Classes(), []Class{WeakKey}) || vd.Signatures[0].KeyBits != 512 {
		t.Fatalf("verdict %+v", vd)
	}
}
