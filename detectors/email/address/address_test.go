package address

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw, canonical, skeleton, registrable string
		mixed                                 bool
		scripts                               []string
	}{
		{"Nanang@Example.CO.ID", "nanang@example.co.id", "nanang@example.co.id", "example.co.id", false, []string{"Latin"}},
		{"n.a.nang+prakerja@googlemail.com", "nanang@gmail.com", "nanang@gmail.com", "gmail.com", false, []string{"Latin"}},
		{"N.A.Nang@GMAIL.com", "nanang@gmail.com", "nanang@gmail.com", "gmail.com", false, []string{"Latin"}},
		// dots only matter at gmail.com
		{"n.a.nang@yahoo.co.id", "n.a.nang@yahoo.co.id", "n.a.nang@yahoo.co.id", "yahoo.co.id", false, []string{"Latin"}},
		{"budi+x@mail.example.com", "budi@mail.example.com", "budi@mail.example.com", "example.com", false, []string{"Latin"}},
		// a leading + is not a tag: the local part would be empty
		{"+628123@example.com", "+628123@example.com", "+628123@example.com", "example.com", false, []string{"Latin"}},
		// Cyrillic а (U+0430) in the local part: mixed script, skeleton is the Latin address
		{"n\u0430nang@gmail.com", "n\u0430nang@gmail.com", "nanang@gmail.com", "gmail.com", true, []string{"Cyrillic", "Latin"}},
		// Cyrillic о in the domain: IDNA form, skeleton maps back to gmail.com and drops dots
		{"na.nang@gmail.c\u043em", "na.nang@gmail.xn--cm-fmc", "nanang@gmail.com", "gmail.xn--cm-fmc", true, []string{"Cyrillic", "Latin"}},
		// all-Cyrillic local part: not mixed (an internationalised address), but still a look-alike skeleton
		{"\u0430\u0441\u0435@example.com", "\u0430\u0441\u0435@example.com", "ace@example.com", "example.com", false, []string{"Cyrillic", "Latin"}},
		// Greek omicron
		{"t\u03bfni@example.com", "t\u03bfni@example.com", "toni@example.com", "example.com", true, []string{"Greek", "Latin"}},
		// fullwidth letters fold by NFKC in the skeleton
		{"\uff42udi@example.com", "\uff42udi@example.com", "budi@example.com", "example.com", false, []string{"Latin"}},
		// IDNA domain in Unicode form
		{"a@bücher.example", "a@xn--bcher-kva.example", "a@xn--bcher-kva.example", "xn--bcher-kva.example", false, []string{"Latin"}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			a, err := Parse(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if a.Raw != tt.raw {
				t.Errorf("Raw = %q", a.Raw)
			}
			if a.Canonical != tt.canonical {
				t.Errorf("Canonical = %q, want %q", a.Canonical, tt.canonical)
			}
			if a.Skeleton != tt.skeleton {
				t.Errorf("Skeleton = %q, want %q", a.Skeleton, tt.skeleton)
			}
			if a.Registrable != tt.registrable {
				t.Errorf("Registrable = %q, want %q", a.Registrable, tt.registrable)
			}
			if a.MixedScript != tt.mixed {
				t.Errorf("MixedScript = %v, want %v", a.MixedScript, tt.mixed)
			}
			if !slices.Equal(a.Scripts, tt.scripts) {
				t.Errorf("Scripts = %v, want %v", a.Scripts, tt.scripts)
			}
			if a.Lookalike() != (tt.canonical != tt.skeleton) {
				t.Errorf("Lookalike = %v", a.Lookalike())
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, raw := range []string{"", "   ", "nanang", "@example.com", "nanang@", "a b@example.com",
		"a@localhost", "a@exa mple.com", "a@-bad-.com\x00", strings.Repeat("a", 250) + "@example.com", "a@\xff.com"} {
		if a, err := Parse(raw); err == nil {
			t.Errorf("Parse(%q) = %+v, want error", raw, a)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) error %v does not wrap ErrInvalid", raw, err)
		}
	}
}

// The look-alike of another registrant's address is caught by comparing the
// skeleton with the other's canonical form.
func TestLookalikeMatchesOtherCanonical(t *testing.T) {
	real, _ := Parse("siti.aminah@gmail.com")
	fake, _ := Parse("s\u0456ti.\u0430minah+1@googlemail.com")
	if fake.Canonical == real.Canonical {
		t.Fatal("canonical forms must differ")
	}
	if fake.Skeleton != real.Canonical {
		t.Fatalf("skeleton %q != %q", fake.Skeleton, real.Canonical)
	}
	if real.Lookalike() || !fake.Lookalike() {
		t.Fatalf("Lookalike real=%v fake=%v", real.Lookalike(), fake.Lookalike())
	}
}

func TestDisposable(t *testing.T) {
	set := DefaultDisposable()
	if set.Len() < 30 {
		t.Fatalf("embedded list has %d domains", set.Len())
	}
	for raw, want := range map[string]bool{
		"x@mailinator.com":         true,
		"x@sub.mailinator.com":     true, // matched on the registrable domain
		"x@MAILINATOR.COM":         true,
		"x@gmail.com":              false,
		"x@mailinator.com.example": false,
		"x@notmailinator.com":      false,
	} {
		a, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := set.Match(a); got != want {
			t.Errorf("Match(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestLoadDomainSet(t *testing.T) {
	s, err := LoadDomainSet(strings.NewReader("# c\n\nExample.COM\nbücher.example # x\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Parse("a@xn--bcher-kva.example")
	if s.Len() != 2 || !s.Match(a) {
		t.Fatalf("len %d match %v", s.Len(), s.Match(a))
	}
	if _, err := LoadDomainSet(strings.NewReader("ok.com\nbad_domain..com\n")); err == nil {
		t.Fatal("want error for a bad line")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Nanang@Example.CO.ID", "n.a.nang+x@googlemail.com", "n\u0430nang@gmail.com",
		"a@bücher.example", "a@xn--bcher-kva.example", "\"q uoted\"@example.com", "@", "a@b@c.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		a, err := Parse(raw)
		if err != nil {
			return
		}
		if a.Canonical != a.Local+"@"+a.Domain || a.Local == "" || a.Domain == "" {
			t.Fatalf("inconsistent %+v", a)
		}
		// Canonicalisation is idempotent on its output.
		b, err := Parse(a.Canonical)
		if err != nil {
			t.Fatalf("canonical %q does not parse: %v", a.Canonical, err)
		}
		if b.Canonical != a.Canonical {
			t.Fatalf("not idempotent: %q -> %q", a.Canonical, b.Canonical)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("N.A.Nang+prakerja@GoogleMail.com"); err != nil {
			b.Fatal(err)
		}
	}
}
