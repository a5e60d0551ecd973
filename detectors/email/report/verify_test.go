package report

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/waspada/waspada/detectors/email/dnszone"
)

// Keys are generated once per test binary: RSA generation is slow.
var (
	keysOnce                  sync.Once
	rsa2048, rsa1024, rsaEvil *rsa.PrivateKey
	edKey, edEvil             ed25519.PrivateKey
)

func genKeys(t testing.TB) {
	keysOnce.Do(func() {
		var err error
		for _, k := range []struct {
			dst  **rsa.PrivateKey
			bits int
		}{{&rsa2048, 2048}, {&rsa1024, 1024}, {&rsaEvil, 2048}} {
			if *k.dst, err = rsa.GenerateKey(rand.Reader, k.bits); err != nil {
				panic(err)
			}
		}
		_, edKey, _ = ed25519.GenerateKey(rand.Reader)
		_, edEvil, _ = ed25519.GenerateKey(rand.Reader)
	})
}

func keyRecord(t testing.TB, k crypto.Signer) string {
	switch pub := k.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	}
	t.Fatalf("key type %T", k)
	return ""
}

const (
	ownerAddr = "Siti.Aminah@provider.example"
	regID     = "R00000123"
)

type fixture struct {
	zone *dnszone.Zone
	keys Keyring
	regs map[string]string
	seen *MemoryStore
}

func newFixture(t testing.TB) *fixture {
	genKeys(t)
	z := dnszone.New()
	// Publish the keys with split strings, as big RSA records are published.
	rec := keyRecord(t, rsa2048)
	z.Add("rsa._domainkey.provider.example", rec[:200], rec[200:])
	z.Add("ed._domainkey.provider.example", keyRecord(t, edKey))
	z.Add("sub._domainkey.mail.provider.example", keyRecord(t, rsa2048))
	z.Add("weak._domainkey.provider.example", keyRecord(t, rsa1024))
	z.Add("evil._domainkey.attacker.example", keyRecord(t, rsaEvil))
	z.Add("s._domainkey.mail.strict.example", keyRecord(t, edKey))
	z.Add("_dmarc.strict.example", "v=DMARC1; p=reject; adkim=s")
	z.Add("_dmarc.provider.example", "v=DMARC1; p=none")
	return &fixture{
		zone: z,
		keys: Keyring{Current: "k1", Keys: map[string][]byte{"k1": []byte("test-secret-0123456789")}},
		regs: map[string]string{regID: ownerAddr, "R2": "owner@mail.strict.example", "R3": "budi@strict.example"},
		seen: NewMemoryStore(),
	}
}

func (f *fixture) verifier(t testing.TB, now time.Time, mod func(*Config)) *Verifier {
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(cfg, Deps{
		Keys: f.keys, DNS: f.zone, Seen: f.seen, Now: func() time.Time { return now },
		Registered: func(_ context.Context, id string) (string, bool, error) {
			a, ok := f.regs[id]
			return a, ok, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) token(t testing.TB, reg, addr string, exp time.Time) string {
	tok, err := f.keys.Issue(PurposeNotMe, addr, reg, exp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type signer struct {
	domain, selector string
	key              crypto.Signer
	headers          []string
	expires          time.Time
}

type msg struct {
	headers []string // without line ends
	body    string
	signers []signer
	edit    func(string) string // applied to the signed message
}

var stdSigned = []string{"From", "To", "Date", "Message-ID", "Subject"}

func (f *fixture) defaultHeaders(t testing.TB, to string) []string {
	return []string{
		"From: Siti Aminah <siti.aminah@provider.example>",
		"To: " + to,
		"Subject: Re: Verifikasi email Prakerja",
		"Date: " + time.Now().Format(time.RFC1123Z),
		"Message-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@provider.example>",
	}
}

func (m msg) build(t testing.TB) []byte {
	raw := []byte(strings.Join(m.headers, "\r\n") + "\r\n\r\n" + m.body)
	for _, s := range m.signers {
		hk := s.headers
		if hk == nil {
			hk = stdSigned
		}
		var out bytes.Buffer
		err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
			Domain: s.domain, Selector: s.selector, Signer: s.key, HeaderKeys: hk,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
			Expiration: s.expires,
		})
		if err != nil {
			t.Fatal(err)
		}
		raw = out.Bytes()
	}
	if m.edit != nil {
		raw = []byte(m.edit(string(raw)))
	}
	return raw
}

const body = "Bukan saya yang mendaftar.\r\n\r\n> Klik tautan untuk verifikasi\r\n"

func TestVerifyAccepts(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, regID, ownerAddr, time.Now().Add(24*time.Hour))
	to := "Waspada <report+" + tok + "@reports.example>"
	rsaSig := signer{domain: "provider.example", selector: "rsa", key: rsa2048}
	tests := []struct {
		name   string
		m      msg
		signer string
	}{
		{"rsa-2048", msg{headers: f.defaultHeaders(t, to), body: body, signers: []signer{rsaSig}}, "provider.example"},
		{"ed25519", msg{headers: f.defaultHeaders(t, to), body: body, signers: []signer{{domain: "provider.example", selector: "ed", key: edKey}}}, "provider.example"},
		{"relaxed alignment: subdomain signer", msg{headers: f.defaultHeaders(t, to), body: body,
			signers: []signer{{domain: "mail.provider.example", selector: "sub", key: rsa2048}}}, "mail.provider.example"},
		{"token upper-cased by a mail system, several To addresses", msg{headers: f.defaultHeaders(t, "help@prakerja.example, REPORT+"+strings.ToUpper(tok)+"@Reports.Example"),
			body: body, signers: []signer{rsaSig}}, "provider.example"},
		{"LF line ends", msg{headers: f.defaultHeaders(t, to), body: body, signers: []signer{rsaSig},
			edit: func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }}, "provider.example"},
		{"a failing forwarder signature beside a good one", msg{headers: f.defaultHeaders(t, to), body: body,
			signers: []signer{rsaSig, {domain: "attacker.example", selector: "missing", key: rsaEvil}}}, "provider.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			vd, err := f.verifier(t, now, nil).Verify(context.Background(), bytes.NewReader(tt.m.build(t)))
			if err != nil {
				t.Fatal(err)
			}
			if !vd.Accepted {
				t.Fatalf("rejected: %v", vd.Reasons)
			}
			if vd.From != "siti.aminah@provider.example" || vd.RegistrationID != regID || vd.Signer != tt.signer || vd.TokenID == "" || vd.MessageID == "" {
				t.Fatalf("verdict %+v", vd)
			}
		})
	}
}

// tempDNS fails every lookup of one name with a temporary error.
type tempDNS struct {
	TXTResolver
	name string
}

func (d tempDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if strings.EqualFold(name, d.name) {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	return d.TXTResolver.LookupTXT(ctx, name)
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	tok := f.token(t, regID, ownerAddr, now.Add(24*time.Hour))
	to := "report+" + tok + "@reports.example"
	good := signer{domain: "provider.example", selector: "rsa", key: rsa2048}
	hdr := func() []string { return f.defaultHeaders(t, to) }
	with := func(extra ...string) []string { return append(hdr(), extra...) }
	replace := func(i int, line string) []string { h := hdr(); h[i] = line; return h }
	many := func(n int) []signer {
		s := make([]signer, n)
		for i := range s {
			s[i] = good
		}
		return s
	}

	tests := []struct {
		name string
		m    msg
		mod  func(*Config)
		now  time.Time
		want []Class
	}{
		// forged_sender
		{"forged_sender: attacker key under the provider's selector", msg{headers: hdr(), body: body,
			signers: []signer{{domain: "provider.example", selector: "rsa", key: rsaEvil}}}, nil, now, []Class{ForgedSender}},
		{"forged_sender: body changed after signing", msg{headers: hdr(), body: body, signers: []signer{good},
			edit: func(s string) string { return strings.Replace(s, "Bukan saya", "Memang saya", 1) }}, nil, now, []Class{ForgedSender}},
		{"forged_sender: From changed after signing", msg{headers: hdr(), body: body, signers: []signer{good},
			edit: func(s string) string { return strings.Replace(s, "From: Siti Aminah", "From: Siti", 1) }}, nil, now, []Class{ForgedSender}},
		{"forged_sender: no key published", msg{headers: hdr(), body: body,
			signers: []signer{{domain: "provider.example", selector: "gone", key: rsa2048}}}, nil, now, []Class{ForgedSender}},
		// misaligned_signer
		{"misaligned_signer: valid signature of another domain", msg{headers: hdr(), body: body,
			signers: []signer{{domain: "attacker.example", selector: "evil", key: rsaEvil}}}, nil, now, []Class{MisalignedSigner}},
		{"misaligned_signer: DMARC adkim=s and a subdomain signer", msg{
			headers: replace(0, "From: <budi@strict.example>"), body: body,
			signers: []signer{{domain: "mail.strict.example", selector: "s", key: edKey}}}, nil, now, []Class{MisalignedSigner}},
		// duplicate_from
		{"duplicate_from: two From fields", msg{headers: with("From: <siti.aminah@provider.example>"), body: body, signers: []signer{good}}, nil, now, []Class{DuplicateFrom}},
		{"duplicate_from: From with two mailboxes", msg{headers: replace(0, "From: siti.aminah@provider.example, eve@attacker.example"), body: body, signers: []signer{good}}, nil, now, []Class{DuplicateFrom}},
		{"duplicate_from: spaced field name counts as From", msg{headers: with("from : <eve@attacker.example>"), body: body, signers: []signer{good}}, nil, now, []Class{DuplicateFrom}},
		{"duplicate_header: second To", msg{headers: with("To: report+" + tok + "@reports.example"), body: body, signers: []signer{good}}, nil, now, []Class{DuplicateHeader}},
		// expired
		{"expired: x= in the past", msg{headers: hdr(), body: body,
			signers: []signer{{domain: "provider.example", selector: "rsa", key: rsa2048, expires: now.Add(-time.Minute)}}}, nil, now, []Class{Expired}},
		{"expired: t= too old", msg{headers: hdr(), body: body, signers: []signer{good}}, nil, now.Add(100 * time.Hour), []Class{Expired}},
		{"expired: t= in the future", msg{headers: hdr(), body: body, signers: []signer{good}}, nil, now.Add(-time.Hour), []Class{Expired}},
		{"expired: token", msg{headers: replace(1, "To: report+"+f.token(t, regID, ownerAddr, now.Add(-time.Second))+"@reports.example"),
			body: body, signers: []signer{good}}, nil, now, []Class{Expired}},
		// body_length_limit: l= added to the signature field (go-msgauth rejects it before any crypto)
		{"body_length_limit", msg{headers: hdr(), body: body, signers: []signer{good},
			edit: func(s string) string { return strings.Replace(s, "DKIM-Signature: ", "DKIM-Signature: l=10; ", 1) }}, nil, now, []Class{BodyLengthLimit}},
		// weak_key
		{"weak_key: RSA-1024 under the default 2048 floor", msg{headers: hdr(), body: body,
			signers: []signer{{domain: "provider.example", selector: "weak", key: rsa1024}}}, nil, now, []Class{WeakKey}},
		{"weak_key: RSA-2048 when 3072 is required", msg{headers: hdr(), body: body, signers: []signer{good}},
			func(c *Config) { c.MinRSABits = 3072 }, now, []Class{WeakKey}},
		{"weak_key: rsa-sha1 (RFC 8301)", msg{headers: hdr(), body: body, signers: []signer{good},
			edit: func(s string) string { return strings.Replace(s, "a=rsa-sha256", "a=rsa-sha1", 1) }}, nil, now, []Class{WeakKey}},
		{"too_many_signatures", msg{headers: hdr(), body: body, signers: many(5)}, nil, now, []Class{TooManySignatures}},
		{"oversized_headers: field count", msg{headers: with(slices.Repeat([]string{"X-Pad: x"}, 300)...), body: body, signers: []signer{good}}, nil, now, []Class{OversizedHeaders}},
		{"oversized_headers: bytes", msg{headers: with("X-Pad: " + strings.Repeat("y", 70<<10)), body: body, signers: []signer{good}}, nil, now, []Class{OversizedHeaders}},
		{"oversized_message", msg{headers: hdr(), body: strings.Repeat("z", 1<<20), signers: []signer{good}}, nil, now, []Class{OversizedMessage}},
		// bad_token
		{"bad_token: no report address", msg{headers: replace(1, "To: help@prakerja.example"), body: body, signers: []signer{good}}, nil, now, []Class{BadToken}},
		{"bad_token: tampered", msg{headers: replace(1, "To: report+"+tok[:len(tok)-3]+"aaa@reports.example"), body: body, signers: []signer{good}}, nil, now, []Class{BadToken}},
		{"bad_token: unknown registration", msg{headers: replace(1, "To: report+"+f.token(t, "R404", ownerAddr, now.Add(time.Hour))+"@reports.example"),
			body: body, signers: []signer{good}}, nil, now, []Class{BadToken}},
		{"bad_token: other purpose", msg{headers: replace(1, "To: report+"+func() string {
			x, _ := f.keys.Issue("unsubscribe", ownerAddr, regID, now.Add(time.Hour))
			return x
		}()+"@reports.example"), body: body, signers: []signer{good}}, nil, now, []Class{BadToken}},
		// address_mismatch: another real mailbox of the same provider, validly signed, with Siti's token
		{"address_mismatch", msg{headers: replace(0, "From: <eve@provider.example>"), body: body, signers: []signer{good}}, nil, now, []Class{AddressMismatch}},
		{"unsigned_headers", msg{headers: hdr(), body: body,
			signers: []signer{{domain: "provider.example", selector: "rsa", key: rsa2048, headers: []string{"From", "Subject"}}}}, nil, now, []Class{UnsignedHeaders}},
		{"no_signature", msg{headers: hdr(), body: body}, nil, now, []Class{NoSignature}},
		{"malformed: no header end", msg{headers: hdr(), body: "", edit: func(s string) string { return strings.TrimSuffix(s, "\r\n\r\n") }}, nil, now, []Class{Malformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vd, err := f.verifier(t, tt.now, tt.mod).Verify(context.Background(), bytes.NewReader(tt.m.build(t)))
			if err != nil {
				t.Fatal(err)
			}
			if vd.Accepted {
				t.Fatal("accepted")
			}
			t.Logf("reasons: %v", vd.Reasons)
			if !slices.Equal(vd.Classes(), tt.want) {
				t.Fatalf("classes %v, want %v; reasons %v", vd.Classes(), tt.want, vd.Reasons)
			}
		})
	}
}

func TestVerifyReplay(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	tok := f.token(t, regID, ownerAddr, now.Add(time.Hour))
	raw := msg{headers: f.defaultHeaders(t, "report+"+tok+"@reports.example"), body: body,
		signers: []signer{{domain: "provider.example", selector: "ed", key: edKey}}}.build(t)
	v := f.verifier(t, now, nil)
	vd, err := v.Verify(context.Background(), bytes.NewReader(raw))
	if err != nil || !vd.Accepted {
		t.Fatalf("first: %+v %v", vd, err)
	}
	vd, err = v.Verify(context.Background(), bytes.NewReader(raw))
	if err != nil || vd.Accepted || !slices.Equal(vd.Classes(), []Class{Replay}) {
		t.Fatalf("second: %+v %v", vd, err)
	}
	// A rejected message does not burn the (registration, Message-ID) slot.
	f2 := newFixture(t)
	v2 := f2.verifier(t, now.Add(100*time.Hour), nil) // stale: rejected as expired
	if vd, _ := v2.Verify(context.Background(), bytes.NewReader(raw)); vd.Accepted {
		t.Fatal("stale accepted")
	}
	if vd, _ := f2.verifier(t, now, nil).Verify(context.Background(), bytes.NewReader(raw)); !vd.Accepted {
		t.Fatalf("after a rejected attempt: %v", vd.Reasons)
	}
}

func TestVerifyTemporaryDNS(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	tok := f.token(t, regID, ownerAddr, now.Add(time.Hour))
	raw := msg{headers: f.defaultHeaders(t, "report+"+tok+"@reports.example"), body: body,
		signers: []signer{{domain: "provider.example", selector: "rsa", key: rsa2048}}}.build(t)
	for _, name := range []string{"rsa._domainkey.provider.example", "_dmarc.provider.example"} {
		t.Run(name, func(t *testing.T) {
			v, err := New(DefaultConfig(), Deps{Keys: f.keys, DNS: tempDNS{f.zone, name}, Seen: f.seen,
				Now:        func() time.Time { return now },
				Registered: func(context.Context, string) (string, bool, error) { return ownerAddr, true, nil }})
			if err != nil {
				t.Fatal(err)
			}
			vd, err := v.Verify(context.Background(), bytes.NewReader(raw))
			if !IsTemporary(err) {
				t.Fatalf("err = %v, verdict %+v; want a TemporaryError", err, vd)
			}
		})
	}
	// A failing store is temporary too, not a reject.
	v, _ := New(DefaultConfig(), Deps{Keys: f.keys, DNS: f.zone, Seen: failingStore{}, Now: func() time.Time { return now },
		Registered: func(context.Context, string) (string, bool, error) { return ownerAddr, true, nil }})
	if _, err := v.Verify(context.Background(), bytes.NewReader(raw)); !IsTemporary(err) {
		t.Fatalf("store failure: %v", err)
	}
}

type failingStore struct{}

func (failingStore) MarkUsed(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("store down")
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.MinRSABits, c.MaxSignatures, c.ReportDomain, c.MaxSignatureAge = 512, 0, "no domain", 0
	err := c.Validate()
	for _, want := range []string{"min_rsa_bits", "max_signatures", "report_domain", "max_signature_age"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
}
