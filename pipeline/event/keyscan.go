package event

import "unicode/utf8"

// The decoder's first pass checks the event's keys exactly (encoding/json
// matches field names case-insensitively and would take "NIK" for "nik").
// Decoding into a map[string]json.RawMessage for that cost about 40 % of a
// decode, so valid JSON whose keys have no escapes takes this scanner
// instead; anything else takes the map path, which defines the behaviour
// (the decode tests and fuzzers run both).

// keyScan is what the first pass needs from the top-level object.
type keyScan struct {
	unknown    string // the smallest unknown top-level key (hasUnknown)
	hasUnknown bool
	docIndex   int    // first documents[] object with an unknown key, -1 if none
	docUnknown string // its smallest unknown key
	schema     []byte // the raw value of the last "schema" key, nil if absent
}

// scanKeys scans b, which must be valid JSON (json.Valid) holding one
// object. ok is false when a key contains an escape sequence.
func scanKeys(b []byte) (ks keyScan, ok bool) {
	ks.docIndex = -1
	i := skipWS(b, 0) + 1 // past '{'
	for {
		i = skipWS(b, i)
		if b[i] == '}' {
			return ks, true
		}
		if b[i] == ',' {
			i = skipWS(b, i+1)
		}
		end, esc := scanString(b, i)
		key := b[i+1 : end-1]
		if esc || !utf8.Valid(key) {
			return ks, false // the map path unescapes and replaces bad UTF-8
		}
		i = skipWS(b, end)
		i = skipWS(b, i+1) // past ':'
		vend := skipValue(b, i)
		switch {
		case string(key) == "schema":
			ks.schema = b[i:vend]
		case string(key) == "documents":
			ks.docIndex, ks.docUnknown = -1, ""
			if b[i] == '[' {
				if !scanDocuments(b[i:vend], &ks) {
					return ks, false
				}
			}
		}
		if !eventKeys[string(key)] && (!ks.hasUnknown || string(key) < ks.unknown) {
			ks.unknown, ks.hasUnknown = string(key), true
		}
		i = vend
	}
}

// scanDocuments checks the keys of the objects in a documents array.
func scanDocuments(b []byte, ks *keyScan) bool {
	i, idx := 1, 0
	for {
		i = skipWS(b, i)
		if b[i] == ']' {
			return true
		}
		if b[i] == ',' {
			i = skipWS(b, i+1)
		}
		vend := skipValue(b, i)
		if b[i] == '{' && ks.docIndex < 0 {
			j, found := 1, false
			o := b[i:vend]
			for {
				j = skipWS(o, j)
				if o[j] == '}' {
					break
				}
				if o[j] == ',' {
					j = skipWS(o, j+1)
				}
				end, esc := scanString(o, j)
				if esc || !utf8.Valid(o[j+1:end-1]) {
					return false
				}
				key := string(o[j+1 : end-1])
				if !documentKeys[key] && (!found || key < ks.docUnknown) {
					ks.docUnknown, found = key, true
				}
				j = skipWS(o, end)
				j = skipValue(o, skipWS(o, j+1))
			}
			if found {
				ks.docIndex = idx
			}
		}
		i = vend
		idx++
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the closing quote of the string at
// b[i] and whether it contains an escape.
func scanString(b []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return len(b), escaped
}

// skipValue returns the index after the value at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := scanString(b, j)
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		return j
	}
}
