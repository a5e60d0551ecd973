package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compiledSchema is the published schema compiled with format assertion on
// (the schema says validators must assert date and date-time).
var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON()))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("registration.v1.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("registration.v1.schema.json")
})

func mustSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	s, err := compiledSchema()
	if err != nil {
		t.Fatalf("compile registration.v1.schema.json: %v", err)
	}
	return s
}

// schemaVerdict validates b against the schema. parsed is false when b is
// not one JSON value (the schema has nothing to say then).
func schemaVerdict(t testing.TB, b []byte) (parsed bool, err error) {
	t.Helper()
	if !json.Valid(b) {
		return false, nil
	}
	inst, perr := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if perr != nil {
		return false, nil
	}
	return true, mustSchema(t).Validate(inst)
}

// checkSchemaAgrees fails unless the schema accepts b exactly when Decode
// (default limits) does. Input the decoder rejects as too large, or that is
// not JSON at all, must be rejected by the decoder as such.
func checkSchemaAgrees(t testing.TB, b []byte, decErr error) {
	t.Helper()
	var de *DecodeError
	if decErr != nil && !errors.As(decErr, &de) {
		t.Fatalf("Decode error is not a *DecodeError: %T %v", decErr, decErr)
	}
	if len(b) > DefaultLimits().MaxBytes {
		if de == nil || de.Reason != "too_large" {
			t.Fatalf("%d bytes accepted or not too_large: %v", len(b), decErr)
		}
		return
	}
	parsed, serr := schemaVerdict(t, b)
	if !parsed {
		if de == nil || de.Reason != "bad_json" {
			t.Fatalf("input is not JSON but Decode said %v\n%q", decErr, clip(b))
		}
		return
	}
	if (serr == nil) != (decErr == nil) {
		t.Fatalf("schema and decoder disagree on\n%q\ndecoder: %v\nschema: %v", clip(b), decErr, serr)
	}
}

func clip(b []byte) []byte {
	if len(b) > 600 {
		return append(b[:600:600], "..."...)
	}
	return b
}

// schemaDoc is the schema as plain JSON values.
func schemaDoc(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(SchemaJSON(), &m); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return m
}

func obj(t testing.TB, v any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("schema: %s is not an object", strings.Join(path, "/"))
		}
		v = m[p]
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("schema: %s is not an object", strings.Join(path, "/"))
	}
	return m
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	slices.Sort(out)
	return out
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// fields is an event as a JSON object, for building test inputs: with
// applies edits, where the value del deletes the key and nil writes null.
type fields map[string]any

var del = &struct{}{}

func (f fields) with(edits fields) fields {
	out := fields{}
	for k, v := range f {
		out[k] = v
	}
	for k, v := range edits {
		if v == del {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func (f fields) json(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any(f))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// minimal events per type: only the fields the contract requires.
var base = fields{"event_id": "E1", "type": "login", "occurred_at": "2026-04-11T08:00:00Z", "registration_id": "R1"}

func minimal(typ Type) fields {
	f := base.with(fields{"type": string(typ)})
	switch typ {
	case Submitted:
		f = f.with(fields{"nik": "3201010101900001", "full_name": "SITI AMINAH", "birth_date": "1990-01-01", "email": "siti@example.com"})
	case DocumentUploaded:
		f = f.with(fields{"documents": []any{map[string]any{"kind": "ktp", "uri": "file:///u/R1/ktp.jpg"}}})
	case VerificationSent:
		f = f.with(fields{"email": "siti@example.com"})
	case MisuseReported:
		f = f.with(fields{"email": "siti@example.com", "report_id": "MR1", "report_channel": "email"})
	}
	return f
}

var allTypes = []Type{Submitted, DocumentUploaded, VerificationSent, EmailVerified, Login, PasswordReset, PayoutChanged, MisuseReported}

type example struct {
	name   string
	reason string // "" for a good example
	data   []byte
}

// examples reads testdata/good/*.json and testdata/bad/<reason>.<name>.json.
func examples(t testing.TB) []example {
	t.Helper()
	var out []example
	for _, dir := range []string{"good", "bad"} {
		paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no examples in testdata/%s: %v", dir, err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(filepath.Base(p), ".json")
			ex := example{name: dir + "/" + name, data: b}
			if dir == "bad" {
				ex.reason, _, _ = strings.Cut(name, ".")
			}
			out = append(out, ex)
		}
	}
	return out
}
