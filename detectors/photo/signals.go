package photo

import (
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
)

type pairKey struct {
	a, b string // registration ids, a <= b
	kind string
}

type pairMatch struct {
	a, b  uint32 // doc ids: a belongs to pairKey.a
	exact bool
	dist  int // pHash distance (0 for exact)
	dhash int // -1: not compared
	roi   int // -1: not compared
	// colour is the ROI colour similarity, meaningful when both documents
	// have a colour layout (flag hasColour).
	colour float64
}

type pairState struct {
	best pairMatch
	n    int // matching document pairs
}

type failKey struct {
	reg, kind string
	signal    string // KindUnavailable or KindUndecodable
}

type failure struct {
	reg, kind, uri string
	order          event.Order
	index          int
	signal         string
	reason, detail string
}

type touched struct {
	pairs map[pairKey]bool
	fails map[failKey]bool
}

func newTouched() *touched {
	return &touched{pairs: map[pairKey]bool{}, fails: map[failKey]bool{}}
}

func docLess(x, y *doc) bool {
	if x.order != y.order {
		return x.order.Less(y.order)
	}
	return x.index < y.index
}

// better is a total order on matches that does not depend on arrival:
// exact first, then smaller distances, then earlier documents.
func (d *Detector) better(m, n pairMatch) bool {
	if m.exact != n.exact {
		return m.exact
	}
	if m.dist != n.dist {
		return m.dist < n.dist
	}
	if m.dhash != n.dhash {
		return m.dhash < n.dhash
	}
	ma, na := &d.docs[m.a], &d.docs[n.a]
	if ma != na && (ma.order != na.order || ma.index != na.index) {
		return docLess(ma, na)
	}
	mb, nb := &d.docs[m.b], &d.docs[n.b]
	return docLess(mb, nb)
}

func (d *Detector) signals(t *touched) []detectors.Signal {
	var out []detectors.Signal
	for k := range t.pairs {
		ps := d.pairs[k]
		if ps == nil {
			continue
		}
		out = append(out, d.pairSignal(k, ps, true))
		if k.a != k.b {
			out = append(out, d.pairSignal(k, ps, false))
		}
	}
	for k := range t.fails {
		out = append(out, d.failSignal(k))
	}
	slices.SortFunc(out, func(x, y detectors.Signal) int { return strings.Compare(x.ID(), y.ID()) })
	return out
}

func docEvidence(dc *doc) map[string]any {
	return map[string]any{"kind": dc.kind, "uri": dc.uri, "event_id": dc.order.EventID, "index": dc.index}
}

func (d *Detector) pairSignal(k pairKey, ps *pairState, sideA bool) detectors.Signal {
	m := ps.best
	mine, other := &d.docs[m.a], &d.docs[m.b]
	subject, otherReg := k.a, k.b
	if !sideA {
		mine, other = other, mine
		subject, otherReg = k.b, k.a
	}
	ev := map[string]any{
		"other_registration": otherReg,
		"document":           docEvidence(mine),
		"other_document":     docEvidence(other),
		"other_is_earlier":   docLess(other, mine),
		"matching_pairs":     ps.n,
	}
	if m.exact {
		ev["hash"] = "sha256"
		ev["sha256"] = hex.EncodeToString(mine.sha[:])
		ev["distance"] = 0
	} else {
		th := d.threshold(mine, other)
		ev["hash"] = "phash"
		ev["distance"] = m.dist
		ev["threshold"] = th.PHash
		if m.dhash >= 0 {
			ev["dhash_distance"] = m.dhash
		}
		if m.roi >= 0 {
			ev["roi_distance"] = m.roi
		}
		if mine.flags&other.flags&hasColour != 0 {
			ev["roi_colour_similarity"] = math.Round(m.colour*1000) / 1000
		}
		ev["phash"] = phashString(mine.phash)
		ev["other_phash"] = phashString(other.phash)
	}
	if k.a == k.b {
		ev["same_registration"] = true
	}
	return detectors.Signal{RegistrationID: subject, Detector: Name, Kind: k.kind, Key: otherReg, Evidence: ev}
}

func (d *Detector) failSignal(k failKey) detectors.Signal {
	ids := slices.Clone(d.failBy[k])
	slices.SortFunc(ids, func(x, y int32) int {
		fx, fy := &d.fails[x], &d.fails[y]
		if fx.order != fy.order {
			if fx.order.Less(fy.order) {
				return -1
			}
			return 1
		}
		return fx.index - fy.index
	})
	var reasons, events, uris []string
	for _, id := range ids {
		f := &d.fails[id]
		reasons = append(reasons, f.reason)
		events = append(events, f.order.EventID)
		uris = append(uris, f.uri)
	}
	last := &d.fails[ids[len(ids)-1]]
	ev := map[string]any{
		"document_kind":       k.kind,
		"failures":            len(ids),
		"reasons":             reasons,
		"event_ids":           events,
		"uris":                uris,
		"last_reason":         last.reason,
		"last_detail":         last.detail,
		"has_usable_document": d.hasUsable(k.reg, k.kind),
	}
	return detectors.Signal{RegistrationID: k.reg, Detector: Name, Kind: k.signal, Key: k.kind, Evidence: ev}
}

func phashString(p uint64) string {
	s := strconv.FormatUint(p, 16)
	return strings.Repeat("0", 16-len(s)) + s
}

// parsePHash reads 16 hex digits, optionally prefixed "p:" (goimagehash's
// ToString form).
func parsePHash(s string) (uint64, error) {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "p:")
	if len(s) != 16 {
		return 0, errors.New("want 16 hex digits")
	}
	return strconv.ParseUint(s, 16, 64)
}

func (d *Detector) hasUsable(reg, kind string) bool {
	_, ok := d.usable[usableKey(reg, kind)]
	return ok
}
