package identity

import (
	"errors"
	"fmt"
	"strings"
)

// Config tunes the identity detector. The zero value is not useful; start
// from DefaultConfig.
type Config struct {
	Checks   CheckConfig
	Evidence EvidenceConfig
	Names    NameConfig
}

// CheckConfig switches the per-event NIK checks that compare the NIK with
// other fields of the form. The structural checks (nik_malformed,
// nik_unknown_province, nik_invalid_birth_date) are always on: nothing
// legitimate fails them.
type CheckConfig struct {
	BirthDate bool // nik_birth_date_mismatch
	Gender    bool // nik_gender_mismatch
	Region    bool // nik_region_mismatch
}

// EvidenceConfig bounds the evidence of one signal.
type EvidenceConfig struct {
	// MaxIDs caps every list of registration ids in one signal. Lists keep
	// the first MaxIDs in decision order and set a more_* flag, so that a
	// NIK shared by thousands of registrations does not re-emit thousands
	// of signals on every new member (see doc.go).
	MaxIDs int
	// MaxRawNIKBytes caps how much of a malformed NIK is kept and quoted.
	MaxRawNIKBytes int
}

// NameConfig controls the full-name normalisation used to find the same
// person under another NIK.
type NameConfig struct {
	// Titles are tokens dropped from either end of a name after upper-casing
	// and removing punctuation ("H. AHMAD, S.E." and "AHMAD" match). A title
	// is never dropped when it is the only token left.
	Titles []string
}

// DefaultConfig has every check on, 20 ids per evidence list, and the
// common Indonesian honorifics and degree abbreviations as titles.
func DefaultConfig() Config {
	return Config{
		Checks:   CheckConfig{BirthDate: true, Gender: true, Region: true},
		Evidence: EvidenceConfig{MaxIDs: 20, MaxRawNIKBytes: 64},
		Names: NameConfig{Titles: []string{
			// honorifics before the name
			"H", "HJ", "HAJI", "HAJJAH", "KH", "DR", "DRS", "DRA", "IR", "PROF", "TGK", "TUAN", "NY", "NN", "SDR", "SDRI", "BPK", "IBU",
			// degrees after the name
			"SE", "SH", "SPD", "SPDI", "SKOM", "ST", "SAG", "SSOS", "SKM", "SKEP", "SIP", "SPT", "SSI", "SHI", "SSTP", "AMD", "AMKEB", "AMKEP", "MM", "MT", "MPD", "MSI", "MH", "MKES", "PHD",
		}},
	}
}

// Validate lists every problem, not just the first.
func (c Config) Validate() error {
	var errs []error
	if c.Evidence.MaxIDs < 1 || c.Evidence.MaxIDs > 1000 {
		errs = append(errs, fmt.Errorf("identity: evidence.max_ids must be 1..1000, got %d", c.Evidence.MaxIDs))
	}
	if c.Evidence.MaxRawNIKBytes < 16 || c.Evidence.MaxRawNIKBytes > 4096 {
		errs = append(errs, fmt.Errorf("identity: evidence.max_raw_nik_bytes must be 16..4096, got %d", c.Evidence.MaxRawNIKBytes))
	}
	for i, t := range c.Names.Titles {
		if t == "" || t != strings.ToUpper(t) || strings.ContainsFunc(t, func(r rune) bool { return !isNameRune(r) }) {
			errs = append(errs, fmt.Errorf("identity: names.titles[%d] %q must be one upper-case token of letters or digits (write \"SE\", not \"S.E.\")", i, t))
		}
	}
	return errors.Join(errs...)
}
