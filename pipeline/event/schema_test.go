package event

import (
	"bytes"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSchemaCompiles(t *testing.T) {
	mustSchema(t) // also checks it against the 2020-12 metaschema
	doc := schemaDoc(t)
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", doc["$schema"])
	}
	// The one limit the schema cannot state is named in its description.
	if d, _ := doc["description"].(string); !strings.Contains(d, fmt.Sprint(MaxEventBytes)+" bytes") {
		t.Errorf("description does not name the %d-byte cap: %q", MaxEventBytes, d)
	}
	a := SchemaJSON()
	a[0] = 'X'
	if SchemaJSON()[0] != '{' {
		t.Error("SchemaJSON returned the embedded bytes, not a copy")
	}
}

// The schema's properties are exactly the JSON fields of Event and Document,
// and neither allows anything else.
func TestSchemaPropertiesMatchGoFields(t *testing.T) {
	doc := schemaDoc(t)
	for _, c := range []struct {
		name   string
		schema map[string]any
		goType any
	}{
		{"event", doc, Event{}},
		{"document", obj(t, doc, "$defs", "document"), Document{}},
	} {
		goFields := fieldsOf(c.goType)
		slices.Sort(goFields)
		if got := keys(obj(t, c.schema, "properties")); !slices.Equal(got, goFields) {
			t.Errorf("%s: schema properties %v, Go fields %v", c.name, got, goFields)
		}
		if c.schema["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties = %v, want false", c.name, c.schema["additionalProperties"])
		}
		if c.schema["type"] != "object" {
			t.Errorf("%s: type = %v, want object", c.name, c.schema["type"])
		}
	}
	if got := strs(obj(t, doc, "$defs", "document")["required"]); !slices.Equal(got, []string{"kind", "uri"}) {
		t.Errorf("document required = %v", got)
	}
	var enum []string
	for _, v := range obj(t, doc, "properties", "type")["enum"].([]any) {
		enum = append(enum, v.(string))
	}
	var known []string
	for ty := range knownTypes {
		known = append(known, string(ty))
	}
	slices.Sort(enum)
	slices.Sort(known)
	if !slices.Equal(enum, known) {
		t.Errorf("type enum %v, decoder knows %v", enum, known)
	}
}

// schemaRequired is what the schema requires of an event of type ty: the
// top-level list plus the then.required of every allOf branch whose if
// names ty.
func schemaRequired(t *testing.T, ty Type) []string {
	doc := schemaDoc(t)
	req := strs(doc["required"])
	for i, br := range doc["allOf"].([]any) {
		b := br.(map[string]any)
		c := obj(t, b, "if", "properties", "type")["const"]
		if c == nil {
			t.Fatalf("allOf[%d]: if is not {properties: {type: {const}}}", i)
		}
		if c == string(ty) {
			req = append(req, strs(obj(t, b, "then")["required"])...)
		}
	}
	slices.Sort(req)
	return slices.Compact(req)
}

// The required lists are driven from the decoder: a minimal event of each
// type is accepted, and removing or blanking any one of its fields is a
// missing_field naming that field, for the decoder and the schema alike.
func TestSchemaRequiredMatchesDecoder(t *testing.T) {
	for _, ty := range allTypes {
		t.Run(string(ty), func(t *testing.T) {
			f := minimal(ty)
			b := f.json(t)
			if _, err := Decode(b); err != nil {
				t.Fatalf("minimal %s rejected: %v", ty, err)
			}
			checkSchemaAgrees(t, b, nil)
			if got, want := keys(f), schemaRequired(t, ty); !slices.Equal(got, want) {
				t.Errorf("decoder needs %v, schema requires %v", got, want)
			}
			for _, k := range keys(f) {
				blanks := []any{del, nil, "", " \t\u00a0"}
				if k == "documents" {
					blanks = []any{del, nil, []any{}}
				}
				for _, v := range blanks {
					b := f.with(fields{k: v}).json(t)
					_, err := Decode(b)
					wantReason(t, err, "missing_field", k)
					checkSchemaAgrees(t, b, err)
				}
			}
			// Every other field may be absent, null or "" (documents: []).
			for _, k := range fieldsOf(Event{}) {
				if _, ok := f[k]; ok {
					continue
				}
				empties := []any{nil, ""}
				switch k {
				case "documents":
					empties = []any{nil, []any{}}
				case "schema":
					empties = []any{nil} // "" is an unknown schema, see TestDecode
				}
				for _, v := range empties {
					b := f.with(fields{k: v}).json(t)
					_, err := Decode(b)
					if err != nil {
						t.Errorf("%s = %#v rejected: %v", k, v, err)
					}
					checkSchemaAgrees(t, b, err)
				}
			}
		})
	}
}

func wantReason(t *testing.T, err error, reason, detailHas string) {
	t.Helper()
	de, ok := err.(*DecodeError)
	if !ok {
		t.Errorf("want %s (%s), got %T %v", reason, detailHas, err, err)
		return
	}
	if de.Reason != reason || !strings.Contains(de.Detail, detailHas) {
		t.Errorf("want %s naming %q, got %v", reason, detailHas, de)
	}
}

// Every maxLength and maxItems in the schema is the default limit, and every
// free-text field is limited alike in both: MaxField characters pass,
// one more does not.
func TestSchemaLimitsMatchDefaultLimits(t *testing.T) {
	l := DefaultLimits()
	var walk func(path string, v any)
	n := 0
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch k {
				case "maxLength":
					n++
					if int(x.(float64)) != l.MaxField {
						t.Errorf("%s/maxLength = %v, MaxField = %d", path, x, l.MaxField)
					}
				case "maxItems":
					if int(x.(float64)) != l.MaxDocuments {
						t.Errorf("%s/maxItems = %v, MaxDocuments = %d", path, x, l.MaxDocuments)
					}
				}
				walk(path+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", path, i), x)
			}
		}
	}
	walk("", schemaDoc(t))
	if n == 0 {
		t.Fatal("schema has no maxLength")
	}

	// value returns a valid value of field k with exactly n characters.
	value := func(k string, n int) string {
		switch k {
		case "email":
			return strings.Repeat("é", n-5) + "@x.id"
		}
		return strings.Repeat("é", n) // two bytes each: the limit counts characters
	}
	enumerated := map[string]bool{"schema": true, "type": true, "occurred_at": true, "birth_date": true, "gender": true,
		"documents": true, "report_channel": true}
	sub := minimal(Submitted)
	for _, k := range fieldsOf(Event{}) {
		if enumerated[k] {
			continue
		}
		base := sub
		if strings.HasPrefix(k, "report_") { // only on misuse reports
			base = minimal(MisuseReported)
		}
		for _, size := range []int{l.MaxField, l.MaxField + 1} {
			b := base.with(fields{k: value(k, size)}).json(t)
			_, err := Decode(b)
			if size > l.MaxField {
				wantReason(t, err, "invalid_field", k+": longer than")
			} else if err != nil {
				t.Errorf("%s with %d characters rejected: %v", k, size, err)
			}
			checkSchemaAgrees(t, b, err)
		}
	}
	for _, k := range fieldsOf(Document{}) {
		for _, size := range []int{l.MaxField, l.MaxField + 1} {
			d := map[string]any{"kind": "ktp", "uri": "file:///k.jpg"}
			d[k] = value(k, size)
			b := sub.with(fields{"documents": []any{d}}).json(t)
			_, err := Decode(b)
			if size > l.MaxField {
				wantReason(t, err, "invalid_field", "documents[0]."+k+": longer than")
			} else if err != nil {
				t.Errorf("documents[0].%s with %d characters rejected: %v", k, size, err)
			}
			checkSchemaAgrees(t, b, err)
		}
	}
	for _, n := range []int{l.MaxDocuments, l.MaxDocuments + 1} {
		docs := make([]any, n)
		for i := range docs {
			docs[i] = map[string]any{"kind": "ktp", "uri": fmt.Sprintf("file:///%d.jpg", i)}
		}
		b := sub.with(fields{"documents": docs}).json(t)
		_, err := Decode(b)
		if n > l.MaxDocuments {
			wantReason(t, err, "invalid_field", "documents: ")
		} else if err != nil {
			t.Errorf("%d documents rejected: %v", n, err)
		}
		checkSchemaAgrees(t, b, err)
	}
}

// The patterns the decoder uses are the ones the schema publishes.
func TestSchemaPatternsAreTheDecoders(t *testing.T) {
	doc := schemaDoc(t)
	props := obj(t, doc, "properties")
	birth := obj(t, props, "birth_date")["anyOf"].([]any)[1].(map[string]any)
	for _, c := range []struct {
		name, schema, goPattern string
	}{
		{"schema", obj(t, props, "schema")["pattern"].(string), schemaPattern},
		{"occurred_at", obj(t, props, "occurred_at")["pattern"].(string), occurredAtPattern},
		{"birth_date", birth["pattern"].(string), birthDatePattern},
		{"email", obj(t, props, "email")["pattern"].(string), "^$|" + emailPattern},
	} {
		if c.schema != c.goPattern {
			t.Errorf("%s: schema pattern\n%s\ndecoder pattern\n%s", c.name, c.schema, c.goPattern)
		}
	}
	if obj(t, props, "occurred_at")["format"] != "date-time" || birth["format"] != "date" {
		t.Error("occurred_at must have format date-time and birth_date format date")
	}
}

// The schema's "not blank" pattern is strings.TrimSpace's idea of white
// space, rune for rune.
func TestSchemaNonBlankIsTrimSpace(t *testing.T) {
	p := obj(t, schemaDoc(t), "$defs", "nonBlank")["pattern"].(string)
	re := regexp.MustCompile(p)
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := string(r)
		if blank := strings.TrimSpace(s) == ""; blank == re.MatchString(s) {
			t.Errorf("U+%04X: TrimSpace blank=%v, pattern matches=%v", r, blank, re.MatchString(s))
		}
	}
}

// emailPattern must stay inside what net/mail parses as a bare address, or
// the decoder (which asks both) would be stricter than the schema.
func TestEmailPattern(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"nanang@example.co.id", true},
		{"a.b+tag@sub.example.com", true},
		{"o'neil@example.com", true},
		{"x@y", true},
		{"josé@例え.jp", true},
		{"!#$%&'*+/=?^_`{|}~-@example.com", true},
		{"", false},
		{"nanang", false},
		{"@example.com", false},
		{"nanang@", false},
		{"a@b@c", false},
		{".a@x.com", false},
		{"a.@x.com", false},
		{"a..b@x.com", false},
		{"a@x..com", false},
		{"a@.x.com", false},
		{"a@x.com.", false},
		{"Nanang <nanang@example.co.id>", false},
		{"<nanang@example.co.id>", false},
		{`"nanang s"@example.co.id`, false},
		{"nanang@example.co.id (home)", false},
		{" nanang@example.co.id", false},
		{"nanang@example.co.id\n", false},
		{"a@[1.2.3.4]", false},
		{"a b@x.com", false},
		{"a\\b@x.com", false},
		{"a\x7f@x.com", false},
		{"a,b@x.com", false},
	} {
		if got := bareAddress(c.addr); got != c.ok {
			t.Errorf("bareAddress(%q) = %v, want %v", c.addr, got, c.ok)
		}
		if emailRe.MatchString(c.addr) {
			a, err := mail.ParseAddress(c.addr)
			if err != nil || a.Name != "" || a.Address != c.addr {
				t.Errorf("pattern accepts %q but net/mail says %v %+v", c.addr, err, a)
			}
		}
		b := minimal(VerificationSent).with(fields{"email": c.addr}).json(t)
		_, err := Decode(b)
		checkSchemaAgrees(t, b, err)
	}
}

// Every example in testdata: good ones pass both, bad ones fail both, the
// decoder with the reason in the file name.
func TestExamples(t *testing.T) {
	for _, ex := range examples(t) {
		t.Run(ex.name, func(t *testing.T) {
			ev, err := Decode(ex.data)
			switch {
			case ex.reason == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case ex.reason != "":
				de, ok := err.(*DecodeError)
				if !ok || de.Reason != ex.reason {
					t.Fatalf("want %s, got %v", ex.reason, err)
				}
			default:
				roundTrip(t, ev, DefaultLimits())
			}
			checkSchemaAgrees(t, ex.data, err)
			if ex.reason != "" && ex.reason != "bad_json" {
				// Everything but syntax is the schema's business.
				if parsed, serr := schemaVerdict(t, ex.data); !parsed || serr == nil {
					t.Errorf("schema does not reject it (parsed %v)", parsed)
				}
			}
		})
	}
	// The design brief's example is in testdata verbatim.
	if !bytes.Contains(mustRead(t, "testdata/good/design-example.json"), []byte(`"full_name": "NANANG SARFINAL"`)) {
		t.Error("testdata/good/design-example.json is not the DESIGN.md example")
	}
}
