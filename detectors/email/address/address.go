package address

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	"golang.org/x/text/unicode/norm"
)

// Address is one email address in the forms used for matching.
type Address struct {
	Raw         string   // as typed, for display only
	Local       string   // canonical local part
	Domain      string   // canonical domain, IDNA ASCII form, provider aliases applied
	Host        string   // the domain as written, IDNA ASCII form, no aliases (for DKIM alignment)
	Canonical   string   // Local + "@" + Domain
	Registrable string   // eTLD+1 of Domain (Domain itself when it has none)
	Skeleton    string   // canonical form after look-alike mapping
	Scripts     []string // scripts of the letters in the address, sorted
	MixedScript bool     // more than one script inside the local part or one domain label
}

// Lookalike reports whether the address uses look-alike letters: its
// skeleton differs from its canonical form.
func (a Address) Lookalike() bool { return a.Skeleton != a.Canonical }

// MaxLen is the longest address accepted (RFC 5321 path limit).
const MaxLen = 254

// ErrInvalid is wrapped by every Parse error.
var ErrInvalid = errors.New("invalid email address")

// domainAliases maps domains that deliver to the same mailboxes.
var domainAliases = map[string]string{"googlemail.com": "gmail.com"}

// dotInsensitive lists domains whose provider ignores dots in the local part.
// Only Gmail is known to do so for every account; doing it elsewhere would
// merge distinct people's mailboxes.
var dotInsensitive = map[string]bool{"gmail.com": true}

var profile = idna.Lookup

// Parse validates and canonicalises a bare address (no display name).
func Parse(raw string) (Address, error) {
	a := Address{Raw: raw}
	s := strings.TrimSpace(raw)
	if s == "" {
		return a, fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(s) > MaxLen {
		return a, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxLen)
	}
	if !utf8.ValidString(s) {
		return a, fmt.Errorf("%w: not UTF-8", ErrInvalid)
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return a, fmt.Errorf("%w: %s", ErrInvalid, strconv.Quote(raw))
	}
	local, domain := s[:at], s[at+1:]
	for _, r := range local {
		if r < 0x21 || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) || r == '@' {
			return a, fmt.Errorf("%w: bad character %U in local part", ErrInvalid, r)
		}
	}
	asciiDomain, err := profile.ToASCII(strings.ToLower(domain))
	if err != nil || asciiDomain == "" || !strings.Contains(asciiDomain, ".") {
		return a, fmt.Errorf("%w: bad domain %s", ErrInvalid, strconv.Quote(domain))
	}
	a.Host = asciiDomain
	a.Local, a.Domain = canonicalLocal(strings.ToLower(local), asciiDomain)
	a.Canonical = a.Local + "@" + a.Domain
	a.Registrable = registrable(a.Domain)

	uniDomain, err := profile.ToUnicode(asciiDomain)
	if err != nil {
		uniDomain = asciiDomain
	}
	a.Scripts, a.MixedScript = scripts(local, uniDomain)
	a.Skeleton = skeleton(local, uniDomain)
	return a, nil
}

// canonicalLocal applies the provider rules to a lower-cased local part.
func canonicalLocal(local, domain string) (string, string) {
	if d, ok := domainAliases[domain]; ok {
		domain = d
	}
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if dotInsensitive[domain] {
		if l := strings.ReplaceAll(local, ".", ""); l != "" {
			local = l
		}
	}
	return local, domain
}

func registrable(domain string) string {
	if r, err := publicsuffix.EffectiveTLDPlusOne(domain); err == nil {
		return r
	}
	return domain
}

// skeleton maps look-alikes to Latin and canonicalises the result, so that
// the skeleton of "nаnang+x@gmаil.com" (Cyrillic а) is "nanang@gmail.com".
func skeleton(local, uniDomain string) string {
	l := mapConfusables(strings.ToLower(norm.NFKC.String(local)))
	d := mapConfusables(strings.ToLower(norm.NFKC.String(uniDomain)))
	if ad, err := profile.ToASCII(d); err == nil && ad != "" {
		d = ad
	}
	l, d = canonicalLocal(l, d)
	return l + "@" + d
}

func mapConfusables(s string) string {
	return strings.Map(func(r rune) rune {
		if m, ok := confusables[r]; ok {
			return m
		}
		return r
	}, s)
}

var scriptTables = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek},
	{"Arabic", unicode.Arabic}, {"Armenian", unicode.Armenian}, {"Hebrew", unicode.Hebrew},
	{"Han", unicode.Han}, {"Hiragana", unicode.Hiragana}, {"Katakana", unicode.Katakana},
	{"Hangul", unicode.Hangul}, {"Thai", unicode.Thai}, {"Devanagari", unicode.Devanagari},
	{"Georgian", unicode.Georgian}, {"Cherokee", unicode.Cherokee},
}

func scriptOf(r rune) string {
	if !unicode.IsLetter(r) {
		return "" // digits, punctuation and marks are Common/Inherited
	}
	for _, s := range scriptTables {
		if unicode.Is(s.table, r) {
			return s.name
		}
	}
	return "Other"
}

// scripts returns every script seen and whether one component (the local
// part or a domain label) mixes scripts. An all-Cyrillic local part at a
// Latin domain is a real internationalised address, not a trick.
func scripts(local, uniDomain string) ([]string, bool) {
	seen := map[string]bool{}
	mixed := false
	for _, part := range append([]string{local}, strings.Split(uniDomain, ".")...) {
		here := map[string]bool{}
		for _, r := range part {
			if s := scriptOf(r); s != "" {
				here[s] = true
				seen[s] = true
			}
		}
		if len(here) > 1 {
			mixed = true
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out, mixed
}

//go:embed data/confusables.txt
var confusablesData []byte

var confusables = mustConfusables(confusablesData)

func mustConfusables(b []byte) map[rune]rune {
	m := map[rune]rune{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, ";")
		if len(f) < 2 {
			panic(fmt.Sprintf("confusables.txt:%d: want SOURCE ; TARGET", n))
		}
		src, err1 := strconv.ParseUint(strings.TrimSpace(f[0]), 16, 32)
		dst, err2 := strconv.ParseUint(strings.TrimSpace(f[1]), 16, 32)
		if err1 != nil || err2 != nil {
			panic(fmt.Sprintf("confusables.txt:%d: bad code point", n))
		}
		m[rune(src)] = rune(dst)
	}
	return m
}

// DomainSet is a set of registrable domains, such as the disposable list.
// It is read-only after construction and safe for concurrent use.
type DomainSet struct{ m map[string]bool }

//go:embed data/disposable_domains.txt
var disposableData []byte

var defaultDisposable = func() *DomainSet {
	s, err := LoadDomainSet(bytes.NewReader(disposableData))
	if err != nil {
		panic(err)
	}
	return s
}()

// DefaultDisposable is the embedded disposable-domain list (see data/README.md).
func DefaultDisposable() *DomainSet { return defaultDisposable }

// LoadDomainSet reads one domain per line; blank lines and "#" comments are
// skipped. Domains are stored in IDNA ASCII form.
func LoadDomainSet(r io.Reader) (*DomainSet, error) {
	s := &DomainSet{m: map[string]bool{}}
	sc := bufio.NewScanner(r)
	var bad []string
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		d, err := profile.ToASCII(strings.ToLower(line))
		if err != nil {
			bad = append(bad, fmt.Sprintf("line %d: %q", n, line))
			continue
		}
		s.m[d] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("domain list: bad domains: %s", strings.Join(bad, "; "))
	}
	return s, nil
}

// Len is the number of domains.
func (s *DomainSet) Len() int { return len(s.m) }

// Match reports whether the address's registrable domain, or its full
// domain, is in the set.
func (s *DomainSet) Match(a Address) bool {
	return s.m[a.Registrable] || s.m[a.Domain]
}
