package dnszone

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
)

const sample = `; dig output and hand-written zone lines
brisbane._domainkey.football.example.com. 3600 IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
test._domainkey.football.example.com. IN TXT ( "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
 "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC" ; comment inside
 "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
 "Ip3G+2kryOTIKT+l/K4w3QIDAQAB" )
$ORIGIN example.org.
$TTL 300
_dmarc 300 IN TXT "v=DMARC1; p=reject;" " adkim=s"
example.org. 60 IN A 192.0.2.1
Multi.Example.Org. IN TXT "first"
multi.example.org. IN TXT "sec\"ond\059"
@ TXT unquoted
`

func TestParse(t *testing.T) {
	z, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, want := range map[string][]string{
		"brisbane._domainkey.football.example.com": {"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
		"TEST._domainkey.football.example.com.":    {"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"},
		"_dmarc.example.org":                       {"v=DMARC1; p=reject; adkim=s"},
		"multi.example.org":                        {"first", "sec\"ond;"},
		"example.org":                              {"unquoted"},
	} {
		got, err := z.LookupTXT(ctx, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	_, err = z.LookupTXT(ctx, "nothing.example")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound || de.Temporary() {
		t.Fatalf("missing name: %v, want a not-found DNSError", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		`a.example. IN TXT "unterminated`,
		`a.example. IN TXT ( "open"`,
		`a.example. IN TXT )`,
		`a.example. IN TXT`,
		`"quoted" IN TXT "x"`,
		`a.example. IN TXT "\999"`,
		`$ORIGIN`,
	} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q): want error", bad)
		} else if !strings.Contains(err.Error(), "line 1") {
			t.Errorf("Parse(%q): error %q does not name the line", bad, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add(`a. IN TXT "x" "y"`)
	f.Add("a TXT ( \"x\"\n\"y\" )")
	f.Fuzz(func(t *testing.T, s string) {
		z, err := Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		if z.Len() > strings.Count(s, "\n")+1 {
			t.Fatalf("%d names from %d lines", z.Len(), strings.Count(s, "\n")+1)
		}
	})
}
