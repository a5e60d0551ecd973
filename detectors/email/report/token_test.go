package report

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 4, 11, 8, 0, 0, 0, time.UTC)

func testKeys() Keyring {
	return Keyring{Current: "k1", Keys: map[string][]byte{"k1": []byte("0123456789abcdef-one"), "k2": []byte("0123456789abcdef-two")}}
}

func TestTokenRoundTrip(t *testing.T) {
	k := testKeys()
	tok, err := k.Issue(PurposeNotMe, "N.A.Nang+x@GoogleMail.com", "R00000123", t0.Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The reply address report+<token>@reports.example fits an RFC 5321 local part.
	if l := len("report+" + tok); l > 64 {
		t.Errorf("local part is %d bytes, want <= 64", l)
	}
	if strings.ToLower(tok) != tok {
		t.Errorf("token %q is not lower case", tok)
	}
	// Bound to the canonical address: any spelling of the same mailbox verifies,
	// and case folding by a mail system does not break it.
	for _, addr := range []string{"nanang@gmail.com", "n.a.n.a.n.g@googlemail.com"} {
		c, err := k.Verify(strings.ToUpper(tok), PurposeNotMe, addr, t0)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if c.RegistrationID != "R00000123" || c.KeyID != "k1" || !c.Expires.Equal(t0.Add(72*time.Hour)) || len(c.ID) != 32 {
			t.Fatalf("claims %+v", c)
		}
	}
	pc, err := ParseToken(tok)
	if err != nil || pc.RegistrationID != "R00000123" {
		t.Fatalf("ParseToken = %+v, %v", pc, err)
	}
}

func TestTokenRejects(t *testing.T) {
	k := testKeys()
	exp := t0.Add(time.Hour)
	tok, err := k.Issue(PurposeNotMe, "siti@example.com", "R1", exp)
	if err != nil {
		t.Fatal(err)
	}
	otherReg, _ := k.Issue(PurposeNotMe, "siti@example.com", "R2", exp)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	rotated := Keyring{Current: "k3", Keys: map[string][]byte{"k3": []byte("0123456789abcdef-333")}}
	tests := []struct {
		name         string
		keys         Keyring
		tok, purpose string
		addr         string
		now          time.Time
		want         error
	}{
		{"tampered MAC", k, flip(tok, len(tok)-2), PurposeNotMe, "siti@example.com", t0, ErrTokenInvalid},
		{"stray bits in last char", k, flip(tok, len(tok)-1), PurposeNotMe, "siti@example.com", t0, ErrTokenMalformed},
		{"tampered expiry byte", k, flip(tok, 7), PurposeNotMe, "siti@example.com", t0, ErrTokenInvalid},
		{"wrong purpose", k, tok, "unsubscribe", "siti@example.com", t0, ErrTokenInvalid},
		{"wrong address", k, tok, PurposeNotMe, "siti2@example.com", t0, ErrTokenInvalid},
		{"registration swapped", k, tok[:len(tok)-26] + otherReg[len(otherReg)-26:], PurposeNotMe, "siti@example.com", t0, ErrTokenInvalid},
		{"expired", k, tok, PurposeNotMe, "siti@example.com", exp, ErrTokenExpired},
		{"unknown key id", rotated, tok, PurposeNotMe, "siti@example.com", t0, ErrTokenUnknownKey},
		{"garbage", k, "not a token!", PurposeNotMe, "siti@example.com", t0, ErrTokenMalformed},
		{"empty", k, "", PurposeNotMe, "siti@example.com", t0, ErrTokenMalformed},
		{"truncated", k, tok[:10], PurposeNotMe, "siti@example.com", t0, ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.keys.Verify(tt.tok, tt.purpose, tt.addr, tt.now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTokenRotation(t *testing.T) {
	old := testKeys()
	tok, _ := old.Issue(PurposeNotMe, "siti@example.com", "R1", t0.Add(time.Hour))
	// Rotate: k2 becomes current, k1 stays for verification.
	rot := Keyring{Current: "k2", Keys: old.Keys}
	if _, err := rot.Verify(tok, PurposeNotMe, "siti@example.com", t0); err != nil {
		t.Fatalf("old token after rotation: %v", err)
	}
	tok2, _ := rot.Issue(PurposeNotMe, "siti@example.com", "R1", t0.Add(time.Hour))
	if c, err := rot.Verify(tok2, PurposeNotMe, "siti@example.com", t0); err != nil || c.KeyID != "k2" {
		t.Fatalf("new token: %+v %v", c, err)
	}
	// Retire k1.
	retired := Keyring{Current: "k2", Keys: map[string][]byte{"k2": old.Keys["k2"]}}
	if _, err := retired.Verify(tok, PurposeNotMe, "siti@example.com", t0); !errors.Is(err, ErrTokenUnknownKey) {
		t.Fatalf("retired key: %v", err)
	}
	// Same id, different secret: a key id reused with a new secret fails the MAC.
	reused := Keyring{Current: "k1", Keys: map[string][]byte{"k1": []byte("another-secret-0123456")}}
	if _, err := reused.Verify(tok, PurposeNotMe, "siti@example.com", t0); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("reused key id: %v", err)
	}
}

func TestKeyringValidate(t *testing.T) {
	err := Keyring{Current: "k9", Keys: map[string][]byte{"k1": []byte("short"), "": []byte("0123456789abcdefgh")}}.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"current key id \"k9\"", "secret of key \"k1\"", "key id \"\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := testKeys().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryStoreSingleUse(t *testing.T) {
	s := NewMemoryStore()
	now := t0
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	if first, _ := s.MarkUsed(ctx, "a", t0.Add(time.Hour)); !first {
		t.Fatal("first use rejected")
	}
	if first, _ := s.MarkUsed(ctx, "a", t0.Add(time.Hour)); first {
		t.Fatal("second use accepted")
	}
	now = t0.Add(2 * time.Hour) // forgotten after until; the token itself has expired by then
	if first, _ := s.MarkUsed(ctx, "a", now.Add(time.Hour)); !first {
		t.Fatal("expired entry not dropped")
	}
}

func FuzzParseToken(f *testing.F) {
	k := testKeys()
	tok, _ := k.Issue(PurposeNotMe, "siti@example.com", "R1", t0.Add(time.Hour))
	f.Add(tok)
	f.Add("")
	f.Add("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseToken(s)
		if err != nil {
			return
		}
		if c.KeyID == "" || c.RegistrationID == "" {
			t.Fatalf("claims %+v from %q", c, s)
		}
		if _, err := k.Verify(s, PurposeNotMe, "siti@example.com", t0); err == nil && s != tok && strings.ToLower(s) != tok {
			t.Fatalf("forged token %q verified", s)
		}
	})
}
