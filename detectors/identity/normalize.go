package identity

import (
	"strings"
	"unicode"
)

// NormalizeName is the form under which two full names count as the same:
// upper case, dots dropped (so "S.E." is the token "SE"), every other
// non-letter/digit a space, spaces collapsed, and titles dropped from both
// ends while more than one token is left.
func NormalizeName(name string, titles map[string]bool) string {
	var b strings.Builder
	b.Grow(len(name))
	space := true // drop leading spaces
	for _, r := range name {
		switch {
		case r == '.' || r == '\'' || r == '`' || r == '\u2019':
			// "S.E." -> "SE", "MA'RUF" -> "MARUF": punctuation inside a token.
			continue
		case isNameRune(r):
			b.WriteRune(unicode.ToUpper(r))
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	s := strings.TrimRight(b.String(), " ")
	if len(titles) == 0 || s == "" {
		return s
	}
	toks := strings.Split(s, " ")
	lo, hi := 0, len(toks)
	for hi-lo > 1 && titles[toks[lo]] {
		lo++
	}
	for hi-lo > 1 && titles[toks[hi-1]] {
		hi--
	}
	if lo == 0 && hi == len(toks) {
		return s
	}
	return strings.Join(toks[lo:hi], " ")
}

func isNameRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// normalizeEmail lower-cases and trims; provider-specific rules (gmail
// dots) belong to the email detector.
func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// normalizePhone keeps the digits and writes Indonesian numbers in national
// form without the trunk prefix: "+62 812-345", "0812345" and "62812345"
// are all "812345".
func normalizePhone(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	d := string(b)
	switch {
	case strings.HasPrefix(d, "62"):
		d = d[2:]
	case strings.HasPrefix(d, "0"):
		d = d[1:]
	}
	return d
}
