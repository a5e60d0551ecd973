package main

import (
	"testing"

	"github.com/waspada/waspada/detectors/burst"
	"github.com/waspada/waspada/detectors/email"
	"github.com/waspada/waspada/detectors/identity"
	"github.com/waspada/waspada/detectors/photo"
	"github.com/waspada/waspada/rules"
)

// Every signal kind a wired detector can emit has its own weight in the
// default rules: a kind left to default_weight is a tuning decision nobody
// made (the burst kinds were once listed under names the detector never
// used).
func TestDefaultRulesNameEveryKind(t *testing.T) {
	kinds := map[string][]string{
		identity.DetectorName: {identity.KindMalformed, identity.KindUnknownProvince, identity.KindInvalidBirthDate,
			identity.KindBirthDateMismatch, identity.KindGenderMismatch, identity.KindRegionMismatch,
			identity.KindDuplicateNIK, identity.KindNIKReusedLater, identity.KindNIKChanged, identity.KindSamePersonOtherNIK},
		email.Name: {email.KindAddressReused, email.KindLookalikeAddress, email.KindMixedScript, email.KindDisposableDomain,
			email.KindVerifiedOtherDevice, email.KindVerifiedOtherNetwork, email.KindVerifiedWithinSeconds,
			email.KindReportedMisuse, email.KindLinkedToReported},
		photo.Name: {photo.KindExact, photo.KindNear, photo.KindCrossKind, photo.KindUnavailable, photo.KindUndecodable},
		burst.Name: {burst.KindRing},
	}
	for c := burst.ClassIP; c < burst.ClassPhone; c++ {
		kinds[burst.Name] = append(kinds[burst.Name], burst.BurstKind(c))
	}
	rs := rules.Default()
	for det, ks := range kinds {
		for _, k := range ks {
			if !rs.Names(det, k) {
				t.Errorf("rules/default.yaml has no weight for %s.%s", det, k)
			}
		}
	}
}
