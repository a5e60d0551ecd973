package dnszone

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Limits on what Parse accepts, so that a hostile zone file cannot exhaust
// memory.
const (
	MaxLineBytes   = 64 << 10
	MaxRecordBytes = 64 << 10
	MaxRecords     = 100_000
)

// Zone maps lower-case names (no trailing dot) to their TXT records. It is
// safe for concurrent lookups; Add may be called concurrently too.
type Zone struct {
	mu  sync.RWMutex
	txt map[string][]string
}

// New returns an empty zone.
func New() *Zone { return &Zone{txt: map[string][]string{}} }

// Add appends one TXT record made of the given strings (joined, as the DNS
// joins the character-strings of one record).
func (z *Zone) Add(name string, strs ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	n := normName(name)
	z.txt[n] = append(z.txt[n], strings.Join(strs, ""))
}

// LookupTXT returns the records of name. ctx is accepted for the resolver
// interface; lookups never block.
func (z *Zone) LookupTXT(_ context.Context, name string) ([]string, error) {
	z.mu.RLock()
	defer z.mu.RUnlock()
	recs := z.txt[normName(name)]
	if len(recs) == 0 {
		return nil, &net.DNSError{Err: "no TXT record in zone file", Name: name, IsNotFound: true}
	}
	return append([]string(nil), recs...), nil
}

// Len is the number of names with TXT records.
func (z *Zone) Len() int {
	z.mu.RLock()
	defer z.mu.RUnlock()
	return len(z.txt)
}

func normName(s string) string { return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), ".")) }

// ParseFile reads a zone file from disk.
func ParseFile(path string) (*Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return z, nil
}

// Parse reads zone-file text. Errors name the line of the record.
func Parse(r io.Reader) (*Zone, error) {
	z := New()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), MaxLineBytes)
	origin := ""
	var pending []string // tokens of a record spanning lines inside ( )
	depth, start, n, records := 0, 0, 0, 0
	for sc.Scan() {
		n++
		toks, d, err := tokenize(sc.Text(), depth)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if depth == 0 {
			start = n
		}
		depth = d
		pending = append(pending, toks...)
		if depth > 0 {
			if len(strings.Join(pending, "")) > MaxRecordBytes {
				return nil, fmt.Errorf("line %d: record longer than %d bytes", start, MaxRecordBytes)
			}
			continue
		}
		toks, pending = pending, nil
		if len(toks) == 0 {
			continue
		}
		if strings.EqualFold(toks[0], "$ORIGIN") {
			if len(toks) != 2 {
				return nil, fmt.Errorf("line %d: $ORIGIN wants one name", start)
			}
			origin = normName(toks[1])
			continue
		}
		if strings.HasPrefix(toks[0], "$") {
			continue // $TTL, $INCLUDE (not followed: offline and self-contained)
		}
		name, txt, ok, err := record(toks, origin)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		if !ok {
			continue
		}
		if records++; records > MaxRecords {
			return nil, fmt.Errorf("line %d: more than %d records", start, MaxRecords)
		}
		z.Add(name, txt...)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if depth > 0 {
		return nil, fmt.Errorf("line %d: unclosed parenthesis", start)
	}
	return z, nil
}

// record interprets "name [ttl] [class] type rdata..." and reports whether
// it is a TXT record. Quoted tokens keep a leading '"' marker.
func record(toks []string, origin string) (string, []string, bool, error) {
	name := toks[0]
	if isQuoted(name) {
		return "", nil, false, fmt.Errorf("record starts with a quoted string")
	}
	i := 1
	for i < len(toks) && i <= 3 && !isQuoted(toks[i]) {
		t := strings.ToUpper(toks[i])
		if _, err := strconv.ParseUint(t, 10, 32); err == nil || t == "IN" || t == "CH" || t == "HS" {
			i++
			continue
		}
		break
	}
	if i >= len(toks) {
		return "", nil, false, fmt.Errorf("record without a type")
	}
	if !strings.EqualFold(toks[i], "TXT") {
		return "", nil, false, nil
	}
	rdata := toks[i+1:]
	if len(rdata) == 0 {
		return "", nil, false, fmt.Errorf("TXT record without data")
	}
	var strs []string
	for _, t := range rdata {
		if isQuoted(t) {
			strs = append(strs, t[1:])
		} else {
			strs = append(strs, t) // unquoted character-string
		}
	}
	name = strings.ToLower(name)
	switch {
	case name == "@":
		name = origin
	case !strings.HasSuffix(name, ".") && origin != "":
		name = name + "." + origin
	}
	if normName(name) == "" {
		return "", nil, false, fmt.Errorf("empty owner name")
	}
	return name, strs, true, nil
}

func isQuoted(t string) bool { return strings.HasPrefix(t, "\"") }

// tokenize splits one line into tokens, tracking parentheses across lines.
// A quoted string becomes one token starting with '"' (the marker) followed
// by its unescaped content.
func tokenize(line string, depth int) ([]string, int, error) {
	var toks []string
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == ';':
			return toks, depth, nil
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth == 0 {
				return nil, 0, fmt.Errorf("unbalanced ')'")
			}
			depth--
			i++
		case c == '"':
			var b strings.Builder
			b.WriteByte('"')
			i++
			closed := false
			for i < len(line) {
				c := line[i]
				if c == '"' {
					closed = true
					i++
					break
				}
				if c == '\\' && i+1 < len(line) {
					if i+3 < len(line) && isDigit(line[i+1]) && isDigit(line[i+2]) && isDigit(line[i+3]) {
						v, _ := strconv.Atoi(line[i+1 : i+4])
						if v > 255 {
							return nil, 0, fmt.Errorf("bad escape \\%s", line[i+1:i+4])
						}
						b.WriteByte(byte(v))
						i += 4
						continue
					}
					b.WriteByte(line[i+1])
					i += 2
					continue
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, 0, fmt.Errorf("unterminated quoted string")
			}
			toks = append(toks, b.String())
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t\r;()\"", rune(line[j])) {
				j++
			}
			toks = append(toks, line[i:j])
			i = j
		}
	}
	return toks, depth, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
