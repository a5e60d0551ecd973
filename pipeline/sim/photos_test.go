package sim

import (
	"math/bits"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/pipeline/event"
)

// Planted photo re-use leaves documents a few pHash bits (or an identical
// SHA-256 for a plain copy) from another registration's; everybody else's
// photos are far from everyone's but the re-users'.
func TestPhotoReuse(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Events = 30000
	cfg.MeanRate = 0.5
	cfg.Fraud.PhotoReuse = 0.05
	evs, labs, _ := generate(t, cfg)
	type doc struct {
		reg, kind, sha, transform string
		phash                     uint64
		reuse                     bool
	}
	var docs []doc
	// The victim's own upload of a photo may fall after the end of the
	// stream for registrations in its last minutes: those are not checked.
	end := evs[len(evs)-1].OccurredAt.Add(-15 * time.Minute)
	late := map[string]bool{}
	for i, ev := range evs {
		if ev.Type == event.Submitted && ev.OccurredAt.After(end) {
			late[ev.RegistrationID] = true
		}
		for _, d := range ev.Documents {
			ph, err := strconv.ParseUint(d.PHash, 16, 64)
			if err != nil || len(d.SHA256) != 64 {
				t.Fatalf("%s: document hashes %q %q", ev.EventID, d.SHA256, d.PHash)
			}
			l := labs[i]
			docs = append(docs, doc{ev.RegistrationID, d.Kind, d.SHA256, strings.TrimPrefix(l.Group, "photo:"), ph,
				l.Fraud && l.Kinds[0] == KindPhotoReuse})
		}
	}
	transforms := map[string]int{}
	for _, d := range docs {
		best, exact := 64, false
		for _, o := range docs {
			if o.reg == d.reg || (!d.reuse && o.reuse) {
				continue // an organic photo may be close to its re-users
			}
			best = min(best, bits.OnesCount64(o.phash^d.phash))
			exact = exact || o.sha == d.sha
		}
		switch {
		case d.reuse && d.transform == "ktp_as_selfie" && d.kind == "ktp":
			// the fraudster's own card: checked with the organic ones below
			if best <= 10 {
				t.Errorf("%s: the fraudster's own KTP is %d bits from another photo", d.reg, best)
			}
		case d.reuse && late[d.reg]:
		case d.reuse:
			transforms[d.transform]++
			if best > photoFlips[d.transform] || (d.transform == "copy") != exact {
				t.Errorf("%s %s %s: nearest other photo %d bits away, exact copy %v", d.reg, d.transform, d.kind, best, exact)
			}
		// Random 64-bit hashes of distinct photos are 32 bits apart on
		// average; 7 or fewer happens by chance once in ~1e11 pairs.
		case best <= 6 || exact:
			t.Errorf("%s %s: %d bits from another registration's photo, exact %v", d.reg, d.kind, best, exact)
		}
	}
	n := 0
	for _, c := range transforms {
		n += c
	}
	if len(transforms) != len(photoTransforms) || n < 200 {
		t.Errorf("checked %d re-used documents, by transformation %v", n, transforms)
	}
}
