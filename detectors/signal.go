package detectors

// Signal is one reason to suspect a registration, with the evidence an
// analyst needs to judge it without re-running anything.
//
// Weights are not chosen here: package rules maps Detector+"."+Kind to a
// weight from the rules file, so that tuning never touches detector code.
type Signal struct {
	// RegistrationID is the registration the signal is about (the subject),
	// which is not always the registration of the event that caused it.
	RegistrationID string `json:"registration_id"`
	Detector       string `json:"detector"`
	Kind           string `json:"kind"`
	// Key tells apart several signals of one kind on one registration
	// (for example one per matching photo); empty for singletons.
	Key string `json:"key,omitempty"`
	// Evidence is a JSON object. Use only JSON-friendly values (string,
	// bool, float64/int, []string, nested map[string]any) and sorted slices,
	// so that the encoded form is byte-for-byte deterministic.
	Evidence map[string]any `json:"evidence"`
}

// ID is the identity under which a signal replaces an earlier one.
func (s Signal) ID() string {
	return s.RegistrationID + "\x00" + s.Detector + "\x00" + s.Kind + "\x00" + s.Key
}
