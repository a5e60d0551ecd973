package report

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/waspada/waspada/detectors/email/dnszone"
)

// RFC 8463 Appendix A through the production code path: the zone file as
// the RFC prints it, the message as signed in A.3. Token and replay checks
// are off (the vector has no token); freshness runs against the RFC's
// signing time.
func rfcVerifier(t testing.TB, minRSA int) (*Verifier, []byte) {
	zone, err := dnszone.ParseFile("testdata/rfc8463/keys.zone")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/rfc8463/message.eml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.MinRSABits = minRSA
	cfg.Skip = SkipChecks{Token: true, Replay: true}
	signedAt := time.Unix(1528637909, 0)
	v, err := New(cfg, Deps{DNS: zone, Now: func() time.Time { return signedAt.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	return v, raw
}

func TestRFC8463(t *testing.T) {
	v, raw := rfcVerifier(t, 1024)
	vd, err := v.Verify(context.Background(), bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !vd.Accepted || vd.Signer != "football.example.com" || vd.From != "joe@football.example.com" {
		t.Fatalf("verdict %+v", vd)
	}
	if len(vd.Signatures) != 2 {
		t.Fatalf("%d signatures", len(vd.Signatures))
	}
	for i, alg := range []string{"ed25519-sha256", "rsa-sha256"} {
		s := vd.Signatures[i]
		if s.Algorithm != alg || !s.Valid || !s.Aligned || len(s.Problems) != 0 {
			t.Errorf("signature %d: %+v", i, s)
		}
	}
	if vd.Signatures[1].KeyBits != 1024 {
		t.Errorf("RSA key bits %d", vd.Signatures[1].KeyBits)
	}

	// With the production 2048-bit floor the RFC's 1024-bit RSA key is weak;
	// the ed25519 signature alone carries the message.
	v, _ = rfcVerifier(t, 2048)
	vd, err = v.Verify(context.Background(), bytes.NewReader(raw))
	if err != nil || !vd.Accepted || vd.Signatures[1].Problems[0].Class != WeakKey {
		t.Fatalf("default floor: %+v %v", vd, err)
	}

	// RSA alone (the ed25519 signature field removed), and ed25519 alone.
	idx := bytes.Index(raw, []byte("DKIM-Signature: v=1; a=rsa-sha256"))
	for name, m := range map[string][]byte{"rsa only": raw[idx:], "ed25519 only": append(slices.Clone(raw[:idx]), raw[bytes.Index(raw, []byte("From:")):]...)} {
		v, _ = rfcVerifier(t, 1024)
		vd, err = v.Verify(context.Background(), bytes.NewReader(m))
		if err != nil || !vd.Accepted || len(vd.Signatures) != 1 {
			t.Fatalf("%s: %+v %v", name, vd, err)
		}
	}

	// One changed body byte fails both signatures.
	bad := bytes.Replace(raw, []byte("hungry"), []byte("Hungry"), 1)
	vd, _ = v.Verify(context.Background(), bytes.NewReader(bad))
	if vd.Accepted || !slices.Equal(vd.Classes(), []Class{ForgedSender}) {
		t.Fatalf("tampered: %+v", vd)
	}
}

// The private keys of A.1 match the public records of A.2, and a fresh
// ed25519 signature made with the RFC key verifies through the same path.
func TestRFC8463Keys(t *testing.T) {
	seedB64, _ := os.ReadFile("testdata/rfc8463/ed25519.key")
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(seedB64)))
	if err != nil {
		t.Fatal(err)
	}
	ed := ed25519.NewKeyFromSeed(seed)
	if got := base64.StdEncoding.EncodeToString(ed.Public().(ed25519.PublicKey)); got != "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" {
		t.Fatalf("ed25519 public key %s", got)
	}
	p, _ := os.ReadFile("testdata/rfc8463/rsa.pem")
	block, _ := pem.Decode(p)
	rk, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if !strings.Contains(strings.NewReplacer("\"", "", "\n", "", " ", "").Replace(string(mustRead(t, "testdata/rfc8463/keys.zone"))), base64.StdEncoding.EncodeToString(der)) {
		t.Fatal("RSA public key not in keys.zone")
	}

	raw := mustRead(t, "testdata/rfc8463/message.eml")
	unsigned := raw[bytes.Index(raw, []byte("From:")):]
	var out bytes.Buffer
	if err := dkim.Sign(&out, bytes.NewReader(unsigned), &dkim.SignOptions{Domain: "football.example.com", Selector: "brisbane",
		Signer: ed, HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID"},
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed}); err != nil {
		t.Fatal(err)
	}
	zone, _ := dnszone.ParseFile("testdata/rfc8463/keys.zone")
	cfg := DefaultConfig()
	cfg.Skip = SkipChecks{Token: true, Replay: true}
	v, _ := New(cfg, Deps{DNS: zone})
	vd, err := v.Verify(context.Background(), &out)
	if err != nil || !vd.Accepted {
		t.Fatalf("re-signed: %+v %v", vd, err)
	}
}

func mustRead(t testing.TB, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzVerify feeds arbitrary messages to the intake: it must never panic,
// and whatever it accepts must carry an aligned, valid signature.
func FuzzVerify(f *testing.F) {
	raw := mustRead(f, "testdata/rfc8463/message.eml")
	f.Add(raw)
	f.Add([]byte("From: a@b.example\r\nTo: c@d.example\r\n\r\nbody"))
	f.Add([]byte("DKIM-Signature: v=1; a=rsa-sha256; d=x; s=y; h=from; bh=; b=\r\nFrom: a@x\r\n\r\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, m []byte) {
		v, _ := rfcVerifier(t, 1024)
		vd, err := v.Verify(context.Background(), bytes.NewReader(m))
		if err != nil {
			if !IsTemporary(err) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if vd.Accepted {
			if len(vd.Reasons) != 0 || vd.Signer == "" {
				t.Fatalf("accepted without a signer: %+v", vd)
			}
			ok := false
			for _, s := range vd.Signatures {
				ok = ok || (s.Valid && s.Aligned && len(s.Problems) == 0)
			}
			if !ok {
				t.Fatalf("accepted without a good signature: %+v", vd)
			}
		} else if len(vd.Reasons) == 0 {
			t.Fatalf("rejected without a reason: %+v", vd)
		}
	})
}
