package rules

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/waspada/waspada/detectors"
)

//go:embed default.yaml
var defaultRules []byte

// Band is the decision bucket of a score.
type Band string

const (
	Allow  Band = "allow"
	Review Band = "review"
	Deny   Band = "deny"
)

// File is the rules file as written by people.
type File struct {
	Version       string         `yaml:"version"`
	Bands         Bands          `yaml:"bands"`
	DefaultWeight int            `yaml:"default_weight"`
	Weights       map[string]int `yaml:"weights"`
}

// Bands are the lower score bounds of review and deny.
type Bands struct {
	Review int `yaml:"review"`
	Deny   int `yaml:"deny"`
}

// Validate lists every problem in the file, not just the first.
func (f *File) Validate() error {
	var errs []error
	if strings.TrimSpace(f.Version) == "" {
		errs = append(errs, errors.New("version: required (it is stored with every score)"))
	}
	if f.Bands.Review < 1 || f.Bands.Review > 100 {
		errs = append(errs, fmt.Errorf("bands.review: %d is outside 1..100", f.Bands.Review))
	}
	if f.Bands.Deny < 1 || f.Bands.Deny > 100 {
		errs = append(errs, fmt.Errorf("bands.deny: %d is outside 1..100", f.Bands.Deny))
	}
	if f.Bands.Review >= f.Bands.Deny {
		errs = append(errs, fmt.Errorf("bands: review (%d) must be below deny (%d)", f.Bands.Review, f.Bands.Deny))
	}
	if f.DefaultWeight < 0 || f.DefaultWeight > 100 {
		errs = append(errs, fmt.Errorf("default_weight: %d is outside 0..100", f.DefaultWeight))
	}
	keys := make([]string, 0, len(f.Weights))
	for k := range f.Weights {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if w := f.Weights[k]; w < 0 || w > 100 {
			errs = append(errs, fmt.Errorf("weights.%s: %d is outside 0..100", k, w))
		}
		if d, kind, ok := strings.Cut(k, "."); !ok || d == "" || kind == "" {
			errs = append(errs, fmt.Errorf("weights.%s: key must be detector.kind", k))
		}
	}
	return errors.Join(errs...)
}

// RuleSet is a parsed, validated rules file. It is immutable and safe for
// concurrent use.
type RuleSet struct {
	file File
	id   string
}

// Default returns the embedded default rule set.
func Default() *RuleSet {
	rs, err := Parse(defaultRules)
	if err != nil {
		panic("embedded default rules are invalid: " + err.Error())
	}
	return rs
}

// DefaultYAML is the embedded default rules file, for `--print-rules`.
func DefaultYAML() []byte { return bytes.Clone(defaultRules) }

// Load reads a rules file; an empty path gives the default rule set.
func Load(path string) (*RuleSet, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rs, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

// Parse parses and validates a rules file. Unknown keys are errors, so a
// typo in a weight name is caught instead of silently scoring 10.
func Parse(b []byte) (*RuleSet, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return &RuleSet{file: f, id: f.Version + "@" + hex.EncodeToString(sum[:4])}, nil
}

// ID is the rule-set version stored with every score: the file's version
// and a short hash of its bytes, so an edited file without a version bump is
// still told apart.
func (r *RuleSet) ID() string { return r.id }

// Weight is the weight of a signal kind.
func (r *RuleSet) Weight(detector, kind string) int {
	if w, ok := r.file.Weights[detector+"."+kind]; ok {
		return w
	}
	return r.file.DefaultWeight
}

// Names reports whether the rules file gives the kind its own weight
// (rather than default_weight).
func (r *RuleSet) Names(detector, kind string) bool {
	_, ok := r.file.Weights[detector+"."+kind]
	return ok
}

// Reason is one signal as it appears in a score.
type Reason struct {
	Detector string         `json:"detector"`
	Kind     string         `json:"kind"`
	Key      string         `json:"key,omitempty"`
	Weight   int            `json:"weight"`
	Evidence map[string]any `json:"evidence"`
}

// Score is the contract on the risk-scores topic and in `waspada score`
// output. Field order here is the JSON field order.
type Score struct {
	RegistrationID string    `json:"registration_id"`
	ScoreVersion   uint32    `json:"score_version"`
	Score          int       `json:"score"`
	Band           Band      `json:"band"`
	Reasons        []Reason  `json:"reasons"`
	RuleSet        string    `json:"rule_set"`
	AsOf           time.Time `json:"as_of"`
	EventID        string    `json:"event_id"`
}

// Evaluate scores a set of signals. The caller fills ScoreVersion, AsOf and
// EventID. Reasons are sorted by weight (highest first), then detector,
// kind and key, so the result does not depend on the input order.
func (r *RuleSet) Evaluate(registrationID string, signals []detectors.Signal) Score {
	reasons := make([]Reason, 0, len(signals))
	keep := 1.0
	for _, s := range signals {
		w := r.Weight(s.Detector, s.Kind)
		keep *= 1 - float64(w)/100
		ev := s.Evidence
		if ev == nil {
			ev = map[string]any{}
		}
		reasons = append(reasons, Reason{Detector: s.Detector, Kind: s.Kind, Key: s.Key, Weight: w, Evidence: ev})
	}
	sort.Slice(reasons, func(i, j int) bool {
		a, b := reasons[i], reasons[j]
		if a.Weight != b.Weight {
			return a.Weight > b.Weight
		}
		if a.Detector != b.Detector {
			return a.Detector < b.Detector
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Key < b.Key
	})
	score := int(math.Round(100 * (1 - keep)))
	return Score{RegistrationID: registrationID, Score: score, Band: r.band(score), Reasons: reasons, RuleSet: r.id}
}

func (r *RuleSet) band(score int) Band {
	switch {
	case score >= r.file.Bands.Deny:
		return Deny
	case score >= r.file.Bands.Review:
		return Review
	default:
		return Allow
	}
}
