package reportcli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

const vec = "../report/testdata/rfc8463/"

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVerifyRFC8463(t *testing.T) {
	code, out, errs := run("verify", vec+"message.eml", "--dns-zone", vec+"keys.zone", "--now", "2018-06-10T13:39:29Z", "--min-rsa-bits", "1024")
	if code != ExitAccepted {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"verdict: accepted", "signer: football.example.com", "a=ed25519-sha256", "a=rsa-sha256 key=1024-bit", "note: token and registered-address checks skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Default key floor: the 1024-bit RSA signature has a problem, ed25519 carries it.
	if code, out, _ = run("verify", vec+"message.eml", "--dns-zone", vec+"keys.zone", "--now", "2018-06-10T13:39:29Z"); code != ExitAccepted || !strings.Contains(out, "problem: weak_key") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// Judged today, the 2018 signature is stale: every reason is printed.
	code, out, _ = run("verify", vec+"message.eml", "--dns-zone", vec+"keys.zone")
	if code != ExitRejected || strings.Count(out, "reason: expired") < 2 {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestVerifyUsage(t *testing.T) {
	for _, args := range [][]string{
		{"verify"},
		{"verify", "a.eml", "b.eml"},
		{"verify", vec + "message.eml", "--registered", "joe@football.example.com"},
		{"verify", vec + "message.eml", "--dns-zone", "/nonexistent.zone"},
		{"nope"},
	} {
		if code, _, _ := run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	if code, _, errs := run("verify", "-h"); code != 0 || !strings.Contains(errs, "-dns-zone") {
		t.Errorf("-h: %d %s", code, errs)
	}
}

// The whole flow offline: issue a token with the CLI, reply signed by the
// provider's key, verify with the CLI against the registered address.
func TestTokenAndVerifyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("cli-test-secret-0123456789\n"), 0o600)
	code, out, errs := run("token", "--registration", "R00000123", "--email", "Siti.Aminah@provider.example",
		"--secret-file", secret, "--base-url", "https://waspada.example/", "--ttl", "1h")
	if code != 0 {
		t.Fatalf("token: %d %s", code, errs)
	}
	m := regexp.MustCompile(`(?m)^token: ([a-z2-7]+)$`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "link: https://waspada.example/v1/reports/not-me?t="+m[1]) ||
		!strings.Contains(out, "reply_to: report+"+m[1]+"@reports.example") {
		t.Fatalf("token output:\n%s", out)
	}
	tok := m[1]

	_, key, _ := ed25519.GenerateKey(rand.Reader)
	zone := filepath.Join(dir, "z.zone")
	os.WriteFile(zone, []byte("sel._domainkey.provider.example. 300 IN TXT \"v=DKIM1; k=ed25519; p="+
		base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))+"\"\n"), 0o644)
	msg := "From: <siti.aminah@provider.example>\r\nTo: report+" + tok + "@reports.example\r\nDate: " + time.Now().Format(time.RFC1123Z) +
		"\r\nMessage-ID: <x1@provider.example>\r\nSubject: bukan saya\r\n\r\nBukan saya.\r\n"
	var signed bytes.Buffer
	if err := dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{Domain: "provider.example", Selector: "sel", Signer: key,
		HeaderKeys: []string{"From", "To", "Date", "Message-ID"}}); err != nil {
		t.Fatal(err)
	}
	eml := filepath.Join(dir, "reply.eml")
	os.WriteFile(eml, signed.Bytes(), 0o644)

	code, out, errs = run("verify", eml, "--dns-zone", zone, "--registered", "siti.aminah@provider.example", "--secret-file", secret)
	if code != ExitAccepted || !strings.Contains(out, "registration: R00000123") {
		t.Fatalf("verify: %d\n%s%s", code, out, errs)
	}
	// Another registered address: address_mismatch and the token fails for it.
	code, out, _ = run("verify", eml, "--dns-zone", zone, "--registered", "budi@provider.example", "--secret-file", secret, "--json")
	if code != ExitRejected || !strings.Contains(out, `"class": "address_mismatch"`) || !strings.Contains(out, `"class": "bad_token"`) {
		t.Fatalf("mismatch: %d\n%s", code, out)
	}
}

func TestTokenUsage(t *testing.T) {
	code, _, errs := run("token", "--email", "bad")
	if code != ExitUsage {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--registration is required", "--email", "--secret-file is required"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q: %s", want, errs)
		}
	}
}
