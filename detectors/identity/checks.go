package identity

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
)

// Detector name and signal kinds. Package rules weighs "identity.<kind>".
const (
	DetectorName = "identity"

	KindMalformed         = "nik_malformed"
	KindUnknownProvince   = "nik_unknown_province"
	KindInvalidBirthDate  = "nik_invalid_birth_date"
	KindBirthDateMismatch = "nik_birth_date_mismatch"
	KindGenderMismatch    = "nik_gender_mismatch"
	KindRegionMismatch    = "nik_region_mismatch"

	KindDuplicateNIK       = "duplicate_nik"
	KindNIKReusedLater     = "nik_reused_later"
	KindNIKChanged         = "nik_changed_on_resubmit"
	KindSamePersonOtherNIK = "same_person_other_nik"
)

// nikExpected is the structure quoted in evidence of structural findings.
const nikExpected = "16 digits PPKKCCDDMMYYNNNN, regency, district and serial not zero"

// checkEvent returns the per-event NIK findings of one submission. They
// depend only on the event, never on state.
//
// Key: the NIK as written, plus "|" and the declared value it was compared
// with. Every evidence field is a function of the key, so a retry with the
// same data reproduces the same signal (no pile-up of retries), a retry
// with other data adds a signal instead of overwriting, and the final set
// cannot depend on arrival order.
func (d *Detector) checkEvent(ev *event.Event) []detectors.Signal {
	raw := d.rawNIK(ev.NIK)
	var out []detectors.Signal
	add := func(kind, key string, evidence map[string]any) {
		out = append(out, detectors.Signal{RegistrationID: ev.RegistrationID, Detector: DetectorName,
			Kind: kind, Key: key, Evidence: evidence})
	}
	canon := CanonicalNIK(ev.NIK)
	n, err := ParseNIK(canon)
	if err == nil && canon != ev.NIK {
		add(KindMalformed, raw, map[string]any{"nik": raw, "reason": "separators",
			"detail": "spaces, dots or dashes between the digits; matched as " + canon, "expected": nikExpected})
	}
	if err != nil {
		var ne *NIKError
		errors.As(err, &ne)
		add(KindMalformed, raw, map[string]any{"nik": raw, "reason": ne.Reason, "detail": ne.Detail, "expected": nikExpected})
		return out
	}
	if !n.KnownProvince() {
		add(KindUnknownProvince, raw, map[string]any{"nik": raw, "nik_digits": n.Digits[:2],
			"expected": "a province code of Kepmendagri 100.1.1-6117/2022 (11-19, 21, 31-36, 51-53, 61-65, 71-76, 81-82, 91-96)"})
	}
	dateProblem := n.CheckBirthDate()
	if dateProblem != "" {
		add(KindInvalidBirthDate, raw, map[string]any{"nik": raw, "nik_digits": n.DateDigits(), "reason": dateProblem,
			"expected": "DDMMYY with DD 01-31 (male) or 41-71 (female)"})
	}
	if d.cfg.Checks.BirthDate && dateProblem == "" && ev.BirthDate != "" {
		// Compare with the NIK's own sex offset so that a wrong gender is
		// reported once, as nik_gender_mismatch, not twice.
		if want, ok := ExpectedDateDigits(ev.BirthDate, n.Female()); ok && want != n.DateDigits() {
			add(KindBirthDateMismatch, raw+"|"+ev.BirthDate, map[string]any{"nik": raw, "nik_digits": n.DateDigits(),
				"expected_digits": want, "declared_birth_date": ev.BirthDate})
		}
	}
	if d.cfg.Checks.Gender && dateProblem == "" && (ev.Gender == "M" || ev.Gender == "F") && ev.Gender != n.Gender() {
		add(KindGenderMismatch, raw+"|"+ev.Gender, map[string]any{"nik": raw, "nik_digits": n.Digits[6:8],
			"nik_gender": n.Gender(), "declared_gender": ev.Gender,
			"expected": "day 01-31 for M, day+40 (41-71) for F"})
	}
	if d.cfg.Checks.Region {
		if rc := ev.RegionCode; regionComparable(rc) && !strings.HasPrefix(n.Digits, rc) {
			add(KindRegionMismatch, raw+"|"+rc, map[string]any{"nik": raw, "nik_digits": n.Digits[:len(rc)],
				"region_code": rc})
		}
	}
	return out
}

// regionComparable accepts province (2), regency (4) or district (6) codes
// written as digits; anything else is not this detector's to judge.
func regionComparable(rc string) bool {
	if len(rc) != 2 && len(rc) != 4 && len(rc) != 6 {
		return false
	}
	for i := 0; i < len(rc); i++ {
		if rc[i] < '0' || rc[i] > '9' {
			return false
		}
	}
	return true
}

// rawNIK is the NIK as quoted in evidence and keys: truncated, valid UTF-8.
func (d *Detector) rawNIK(s string) string {
	if len(s) > d.cfg.Evidence.MaxRawNIKBytes {
		s = s[:d.cfg.Evidence.MaxRawNIKBytes] // a cut rune becomes U+FFFD below
	}
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
