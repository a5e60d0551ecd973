package photo

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/detectors/photo/fetch"
	"github.com/waspada/waspada/detectors/photo/imghash"
	"github.com/waspada/waspada/detectors/photo/mih"
	"github.com/waspada/waspada/pipeline/event"
)

// Name is the detector name on every signal.
const Name = "photo"

// Signal kinds.
const (
	KindExact       = "exact_duplicate"
	KindNear        = "near_duplicate"
	KindCrossKind   = "cross_kind_reuse"
	KindUnavailable = "document_unavailable"
	KindUndecodable = "document_undecodable"
)

// Threshold is the largest distance (in bits of 64) still called a match.
type Threshold struct {
	// PHash finds candidates; a pair is a match only if its pHash distance
	// is at most this.
	PHash int `yaml:"phash"`
	// DHash confirms, when both documents have a dHash (precomputed
	// documents carry only a pHash).
	DHash int `yaml:"dhash"`
	// ROI confirms on the region of interest (the KTP portrait), when both
	// documents have one; 0 disables the check.
	ROI int `yaml:"roi"`
	// ROIDHash confirms the ROI with its dHash too; 0 disables.
	ROIDHash int `yaml:"roi_dhash"`
	// ROISum bounds the ROI pHash and dHash distances added up; 0
	// disables. The two hashes err on different pairs: a pair close on
	// one and only just within the other's threshold is more often two
	// different people than a pair moderately close on both.
	ROISum int `yaml:"roi_sum"`
	// ROIColour is the smallest cosine similarity (0..1) of the ROI colour
	// layouts (imghash.Colour) still called a match, when both documents
	// have colour; 0 disables. Portraits on one card template differ more
	// in colour (background, clothes, headscarf) than in grey structure.
	ROIColour float64 `yaml:"roi_colour"`
}

// Distances are what a Threshold judges a candidate pair on: pHash, dHash,
// ROI pHash and ROI dHash distances (-1 when not compared) and the ROI
// colour similarity (1 when not compared).
type Distances struct {
	PHash, DHash, ROI, ROIDHash int
	Colour                      float64
}

// Config is the detector's configuration.
type Config struct {
	Hash  imghash.Config `yaml:"hash"`
	Fetch fetch.Config   `yaml:"fetch"` // for the Fetcher the wiring builds
	Index mih.Config     `yaml:"index"`
	// Thresholds by document kind; "*" applies to kinds not listed.
	Thresholds map[string]Threshold `yaml:"thresholds"`
	// CrossKind applies between documents of different kinds.
	CrossKind Threshold `yaml:"cross_kind"`
	// ROI by document kind: the region (fractions of the image) hashed on
	// its own to confirm a whole-image match. Every KTP card has the same
	// printed layout, so whole-card hashes of different people are close;
	// the portrait area is what differs.
	ROI map[string]imghash.Rect `yaml:"roi"`
	// Quality gate: images with less grey-level spread than MinStdDev
	// (blank, lens cap, a wall) or a side shorter than MinSide pixels are
	// never near-matched (exact matches still count).
	MinStdDev float64 `yaml:"min_stddev"`
	MinSide   int     `yaml:"min_side"`
	// AllowList holds pHash values (16 hex digits) known to collide, e.g.
	// the hash of a blank card template; documents within AllowRadius of
	// one are not near-matched. Analysts extend it.
	AllowList   []string `yaml:"allow_list"`
	AllowRadius int      `yaml:"allow_radius"`
	// ObserveTimeout bounds the fallback fetch Observe does for documents
	// Prepare did not handle.
	ObserveTimeout time.Duration `yaml:"observe_timeout"`
}

// DefaultConfig holds the thresholds chosen by the evaluation (eval/).
func DefaultConfig() Config {
	return Config{
		Hash:  imghash.DefaultConfig(),
		Fetch: fetch.DefaultConfig(),
		// The index's own budget (8,192) is sized for radius-8 queries;
		// selfies are searched at radius 10, where uniform hashes at 10
		// million need ~16,000 candidates (mih TestReport), so a budget of
		// 32,768 keeps those queries complete; a query capped in a dense
		// cluster is counted as index_capped.
		Index: mih.Config{TailSize: mih.DefaultConfig().TailSize, MaxCandidates: 1 << 15},
		Thresholds: map[string]Threshold{
			"ktp":    {PHash: 10, DHash: 12, ROI: 6, ROIDHash: 6, ROISum: 9, ROIColour: 0.95},
			"selfie": {PHash: 10, DHash: 14},
			"*":      {PHash: 8, DHash: 12},
		},
		CrossKind: Threshold{PHash: 6, DHash: 10},
		// The portrait on a KTP card: x 70-95 %, y 22-75 % of the card; the
		// region stays inside it so that the printed template around it
		// does not dilute the hash.
		ROI:            map[string]imghash.Rect{"ktp": {X0: 0.71, Y0: 0.24, X1: 0.94, Y1: 0.72}},
		MinStdDev:      6,
		MinSide:        64,
		AllowRadius:    2,
		ObserveTimeout: 30 * time.Second,
	}
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if err := c.Hash.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Fetch.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Hash.ROI != nil {
		errs = append(errs, errors.New("photo: set roi per kind in photo.roi, not hash.roi"))
	}
	if _, ok := c.Thresholds["*"]; !ok {
		errs = append(errs, errors.New(`photo: thresholds must have a "*" entry`))
	}
	check := func(name string, t Threshold) {
		if t.PHash < 0 || t.PHash > 16 || t.DHash < 0 || t.DHash > 32 || t.ROI < 0 || t.ROI > 32 || t.ROIDHash < 0 || t.ROIDHash > 32 || t.ROISum < 0 || t.ROISum > 64 || t.ROIColour < 0 || t.ROIColour >= 1 {
			errs = append(errs, fmt.Errorf("photo: threshold %s %+v out of range (phash 0..16, dhash, roi, roi_dhash 0..32, roi_sum 0..64, roi_colour 0..0.99)", name, t))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Thresholds)) {
		check(k, c.Thresholds[k])
	}
	check("cross_kind", c.CrossKind)
	for _, k := range slices.Sorted(maps.Keys(c.ROI)) {
		r := c.ROI[k]
		cc := c.Hash
		cc.ROI = &r
		if err := cc.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("photo: roi %s: %w", k, err))
		}
	}
	if c.MinStdDev < 0 || c.MinSide < 0 {
		errs = append(errs, errors.New("photo: min_stddev and min_side must not be negative"))
	}
	for _, h := range c.AllowList {
		if _, err := parsePHash(h); err != nil {
			errs = append(errs, fmt.Errorf("photo: allow_list entry %q: %v", h, err))
		}
	}
	if c.AllowRadius < 0 || c.AllowRadius > 8 {
		errs = append(errs, errors.New("photo: allow_radius must be 0..8"))
	}
	if c.ObserveTimeout <= 0 {
		errs = append(errs, errors.New("photo: observe_timeout must be positive"))
	}
	return errors.Join(errs...)
}

// Fetcher returns a document's bytes. Errors for which fetch.IsTransient
// is true are retried by the pipeline (Prepare returns them); any other
// error is permanent and becomes document_unavailable. Implementations must
// be safe for concurrent use. *fetch.Fetcher implements it.
type Fetcher interface {
	Fetch(ctx context.Context, uri string) ([]byte, error)
}

// Result is what Prepare learned about one document.
type Result struct {
	Hashes imghash.Hashes
	// Exactly one of these is set on failure.
	FetchErr  error // permanent fetch failure: document_unavailable
	DecodeErr error // *imghash.DecodeError: document_undecodable
}

// Detector finds photo re-use. Observe is not safe for concurrent use (the
// pipeline serialises it); Prepare is, and may run ahead for many events.
type Detector struct {
	cfg    Config
	fetch  Fetcher
	radius int
	allow  []uint64
	// roiKeyed: kinds whose same-kind matches are searched by the
	// portrait (ROI) pHash, within roiRadius: a ROI is configured and its
	// threshold requires the ROI hashes to agree.
	roiKeyed  map[string]bool
	roiRadius int

	mu       sync.Mutex
	prepared map[string][]Result // by event id, consumed by Observe

	// Three indexes, because whole-image hashes of ID cards of one printed
	// template are alike (two thirds of distinct cards' pHashes are within
	// 10 bits of each other: see README "Quality"), so at millions of cards
	// a whole-card query would verify most of them. Documents of roiKeyed
	// kinds are found by their portrait hash in portraits (and their
	// whole-image hash is in cards, searched only by documents of other
	// kinds, for cross-kind re-use); every other document is in plain.
	plain, cards, portraits *mih.Index
	docs                    []doc
	byEvent                 map[string]uint64   // event id -> first slot << 8 | number of documents
	slots                   []int32             // doc id, or -1-failure index, per document of each event
	bySHA                   map[[32]byte]uint32 // newest doc id + 1 with these bytes; older ones chain through doc.nextSHA
	kinds                   map[string]string   // interned document kinds
	fails                   []failure
	failBy                  map[failKey][]int32 // failure ids in insertion order
	usable                  map[uint64]struct{} // usableKey: registration has a decodable document of this kind
	pairs                   map[pairKey]*pairState
	byReg                   map[string][]pairKey // pair states each registration is part of
	shifts                  []uint64             // ROI pHash shifts of the document being inserted
	dshifts                 []uint64             // and its ROI dHash shifts
	cshifts                 []imghash.Colour     // and its ROI colour layouts
	colours                 []imghash.Colour     // ROI colour layouts of the documents that have one

	outcomes map[string]int64
}

type doc struct {
	reg      string
	kind     string
	uri      string
	order    event.Order
	index    int
	sha      [32]byte
	hasSHA   bool
	nextSHA  uint32 // previous doc id + 1 with the same SHA-256, 0 for none
	phash    uint64
	dhash    uint64
	roi      uint64
	roiD     uint64
	flags    uint8
	searched bool   // passes the quality gate and the allow-list: near-matchable
	colour   uint32 // index + 1 into Detector.colours, when flags has hasColour (only cards have one)
}

const (
	hasPHash = 1 << iota
	hasDHash
	hasROI
	hasColour
)

// New builds a detector. cfg must pass Validate (New panics otherwise: the
// wiring validates at start-up and lists every problem). fetcher is
// optional; without one, documents need precomputed hashes or Prepare
// results.
func New(cfg Config, fetcher ...Fetcher) *Detector {
	if err := cfg.Validate(); err != nil {
		panic("photo.New: invalid config: " + err.Error())
	}
	d := &Detector{
		cfg:       cfg,
		prepared:  map[string][]Result{},
		plain:     mih.New(cfg.Index),
		cards:     mih.New(cfg.Index),
		portraits: mih.New(cfg.Index),
		roiKeyed:  map[string]bool{},
		byEvent:   map[string]uint64{},
		bySHA:     map[[32]byte]uint32{},
		kinds:     map[string]string{},
		failBy:    map[failKey][]int32{},
		usable:    map[uint64]struct{}{},
		pairs:     map[pairKey]*pairState{},
		byReg:     map[string][]pairKey{},
		outcomes:  map[string]int64{},
	}
	if len(fetcher) > 0 {
		d.fetch = fetcher[0]
	}
	d.radius = cfg.CrossKind.PHash
	for _, t := range cfg.Thresholds {
		d.radius = max(d.radius, t.PHash)
	}
	for kind := range cfg.ROI {
		if t := cfg.ThresholdFor(kind, kind); t.ROI > 0 {
			d.roiKeyed[kind] = true
			d.roiRadius = max(d.roiRadius, t.ROI)
		}
	}
	for _, h := range cfg.AllowList {
		v, _ := parsePHash(h)
		d.allow = append(d.allow, v)
	}
	return d
}

// Name is "photo".
func (d *Detector) Name() string { return Name }

// Outcomes counts what happened to each document observed: "hashed",
// "precomputed", "unavailable.<reason>", "undecodable.<reason>",
// "low_quality", "allow_listed", "sha256_mismatch", and "index_capped"
// (a query hit index.max_candidates). The pipeline exports them as metrics.
func (d *Detector) Outcomes() map[string]int64 { return maps.Clone(d.outcomes) }

// Len is the number of documents held.
func (d *Detector) Len() int { return len(d.docs) }

func hasDocs(ev *event.Event) bool {
	return (ev.Type == event.Submitted || ev.Type == event.DocumentUploaded) && len(ev.Documents) > 0
}

// needsFetch: a document without a usable precomputed pHash.
func needsFetch(doc event.Document) bool {
	_, err := parsePHash(doc.PHash)
	return doc.PHash == "" || err != nil
}

// IsTransient reports whether an error from Prepare may pass on retry: a
// transient fetch failure (blob store down, timeout, 5xx) or a decode that
// hit the time limit (a wall-clock limit trips on an overloaded machine
// too; the pixel budget bounds how slow a real image can be).
func IsTransient(err error) bool {
	return fetch.IsTransient(err) || imghash.ReasonOf(err) == imghash.ReasonTimeout
}

// Prepare fetches and hashes ev's documents that carry no precomputed
// pHash, keeps the results for Observe and returns them as JSON (nil when
// there was nothing to do) for the pipeline to store with the event, so
// that a rebuild hands them back through Restore without refetching
// (pipeline.Preparer). It returns an error, for which IsTransient is true,
// when a document could not be fetched or hashed for a reason that may
// pass: the pipeline retries the batch rather than flag the registration.
// A permanent problem with a document is part of the result (it becomes a
// signal), not an error. Safe for concurrent use.
func (d *Detector) Prepare(ctx context.Context, ev *event.Event) (json.RawMessage, error) {
	if !hasDocs(ev) || d.fetch == nil || !d.needsAnyFetch(ev) {
		return nil, nil
	}
	res, err := d.compute(ctx, ev)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.prepared[ev.EventID] = res
	d.mu.Unlock()
	return encodeResults(ev, res)
}

// Restore takes back what Prepare returned for ev (after a restart), so
// that the next Observe of ev reaches the same state without IO.
func (d *Detector) Restore(ev *event.Event, prepared json.RawMessage) error {
	res, err := decodeResults(ev, prepared)
	if errors.Is(err, errStale) {
		d.mu.Lock()
		d.outcomes["restored_stale"]++
		d.mu.Unlock()
		return nil // Observe fetches and hashes the documents again
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.prepared[ev.EventID] = res
	d.mu.Unlock()
	return nil
}

func (d *Detector) compute(ctx context.Context, ev *event.Event) ([]Result, error) {
	res := make([]Result, len(ev.Documents))
	errs := make([]error, len(ev.Documents))
	var wg sync.WaitGroup
	for i, doc := range ev.Documents {
		if !needsFetch(doc) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, err := d.fetch.Fetch(ctx, doc.URI)
			if err != nil {
				if fetch.IsTransient(err) {
					errs[i] = err
				}
				res[i].FetchErr = err
				return
			}
			h, err := imghash.Hash(d.cfg.HashConfig(doc.Kind), data)
			if err != nil {
				if imghash.ReasonOf(err) == imghash.ReasonTimeout {
					errs[i] = err // an overloaded machine, not a bad image: retry
				}
				res[i].DecodeErr = err
				return
			}
			res[i].Hashes = h
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return res, nil
}

// Observe updates the state with ev's documents and returns the current
// signals of every registration whose picture changed. Pure apart from
// the fallback fetch for documents Prepare did not handle.
func (d *Detector) Observe(ev *event.Event) []detectors.Signal {
	if !hasDocs(ev) {
		return nil
	}
	d.mu.Lock()
	res, ok := d.prepared[ev.EventID]
	delete(d.prepared, ev.EventID)
	d.mu.Unlock()
	_, replay := d.byEvent[ev.EventID]
	if !ok {
		res = make([]Result, len(ev.Documents))
		if d.needsAnyFetch(ev) && !replay { // a replay needs no results
			if d.fetch != nil {
				ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ObserveTimeout)
				var err error
				res, err = d.computeAll(ctx, ev)
				cancel()
				if err != nil {
					// Transient here cannot be retried by the caller; record it.
					res = make([]Result, len(ev.Documents))
					for i := range res {
						res[i].FetchErr = err
					}
				}
			} else {
				for i, doc := range ev.Documents {
					if needsFetch(doc) {
						res[i].FetchErr = &fetch.Error{Class: fetch.Permanent, Reason: "no_fetcher", URI: doc.URI,
							Detail: "no precomputed phash and no fetcher configured"}
					}
				}
			}
		}
	}
	return d.ObserveResults(ev, res)
}

func (d *Detector) needsAnyFetch(ev *event.Event) bool {
	for _, doc := range ev.Documents {
		if needsFetch(doc) {
			return true
		}
	}
	return false
}

func (d *Detector) computeAll(ctx context.Context, ev *event.Event) ([]Result, error) {
	return d.compute(ctx, ev)
}

// ObserveResults is Observe with the document results given: the pure core.
// res[i] belongs to ev.Documents[i]; for a document with a precomputed
// pHash the result is ignored.
func (d *Detector) ObserveResults(ev *event.Event, res []Result) []detectors.Signal {
	if !hasDocs(ev) {
		return nil
	}
	t := newTouched()
	// One map entry per event (its key shares the event id string the
	// documents keep anyway); the documents' ids are consecutive slots.
	slot, seen := d.byEvent[ev.EventID]
	start, n := uint32(slot>>8), int(slot&0xFF)
	if !seen {
		n = min(len(ev.Documents), 0xFF)
		start = uint32(len(d.slots))
		d.slots = append(d.slots, make([]int32, n)...)
		d.byEvent[ev.EventID] = uint64(start)<<8 | uint64(n)
	}
	for i, edoc := range ev.Documents[:min(n, len(ev.Documents))] {
		var id int32
		if !seen {
			var r Result
			if i < len(res) {
				r = res[i]
			}
			id = d.insert(ev, i, edoc, r, t)
			d.slots[start+uint32(i)] = id
		} else {
			id = d.slots[start+uint32(i)]
		}
		if id < 0 {
			f := d.fails[-1-id]
			t.fails[failKey{f.reg, f.kind, f.signal}] = true
			continue
		}
		if !seen {
			d.match(uint32(id), t)
			d.shifts, d.dshifts = nil, nil
		} else {
			// A replay changes nothing: return the registration's current
			// pair signals (the matching itself need not be repeated).
			for _, k := range d.byReg[ev.RegistrationID] {
				t.pairs[k] = true
			}
		}
	}
	return d.signals(t)
}

func (d *Detector) insert(ev *event.Event, i int, edoc event.Document, r Result, t *touched) int32 {
	order := ev.Order()
	var dc doc
	d.shifts, d.dshifts, d.cshifts = nil, nil, nil
	kind, ok := d.kinds[edoc.Kind]
	if !ok {
		kind = strings.Clone(edoc.Kind)
		d.kinds[kind] = kind
	}
	dc.reg, dc.kind, dc.uri, dc.order, dc.index = ev.RegistrationID, kind, edoc.URI, order, i
	if !needsFetch(edoc) {
		dc.phash, _ = parsePHash(edoc.PHash)
		dc.flags = hasPHash
		if s, err := hex.DecodeString(strings.ToLower(edoc.SHA256)); err == nil && len(s) == 32 {
			copy(dc.sha[:], s)
			dc.hasSHA = true
		}
		dc.searched = !d.allowListed(dc.phash)
		d.outcomes["precomputed"]++
	} else {
		if r.FetchErr != nil || r.DecodeErr != nil {
			return d.insertFailure(ev, i, edoc, r, t)
		}
		h := r.Hashes
		dc.sha, dc.hasSHA = h.SHA256, true
		if s, err := hex.DecodeString(strings.ToLower(edoc.SHA256)); err == nil && len(s) == 32 && !bytesEqual(s, h.SHA256[:]) {
			// The producer's sha256 disagrees with the bytes: trust the bytes.
			d.outcomes["sha256_mismatch"]++
		}
		dc.phash, dc.dhash, dc.flags = h.PHash, h.DHash, hasPHash|hasDHash
		if h.HasROI {
			dc.roi, dc.roiD, dc.flags = h.ROIPHash, h.ROIDHash, dc.flags|hasROI
			d.shifts, d.dshifts = h.ROIShifts, h.ROIDShifts
		}
		if h.HasROI && h.HasColour {
			d.colours = append(d.colours, h.ROIColour)
			dc.colour, dc.flags = uint32(len(d.colours)), dc.flags|hasColour
			d.cshifts = h.ROIColourShifts
		}
		switch {
		case !d.cfg.Searchable(h):
			d.outcomes["low_quality"]++
		case d.allowListed(dc.phash):
			d.outcomes["allow_listed"]++
		default:
			dc.searched = true
		}
		d.outcomes["hashed"]++
	}
	id := uint32(len(d.docs))
	d.docs = append(d.docs, dc)
	if dc.hasSHA {
		d.docs[id].nextSHA = d.bySHA[dc.sha]
		d.bySHA[dc.sha] = id + 1
	}
	if dc.searched {
		if d.portraitKeyed(&dc) {
			d.cards.Insert(dc.phash, id)
			d.portraits.Insert(dc.roi, id)
		} else {
			d.plain.Insert(dc.phash, id)
		}
	}
	uk := usableKey(dc.reg, dc.kind)
	if _, ok := d.usable[uk]; !ok {
		d.usable[uk] = struct{}{}
		for _, sk := range []string{KindUnavailable, KindUndecodable} {
			if k := (failKey{dc.reg, dc.kind, sk}); len(d.failBy[k]) > 0 {
				t.fails[k] = true
			}
		}
	}
	return int32(id)
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func (d *Detector) allowListed(p uint64) bool {
	for _, a := range d.allow {
		if bits.OnesCount64(a^p) <= d.cfg.AllowRadius {
			return true
		}
	}
	return false
}

func (d *Detector) insertFailure(ev *event.Event, i int, edoc event.Document, r Result, t *touched) int32 {
	f := failure{reg: ev.RegistrationID, kind: edoc.Kind, uri: edoc.URI, order: ev.Order(), index: i}
	if r.FetchErr != nil {
		f.signal = KindUnavailable
		var fe *fetch.Error
		if errors.As(r.FetchErr, &fe) {
			f.reason, f.detail = fe.Reason, fe.Detail
		} else {
			f.reason, f.detail = "fetch", r.FetchErr.Error()
		}
		d.outcomes["unavailable."+f.reason]++
	} else {
		f.signal = KindUndecodable
		f.reason = string(imghash.ReasonOf(r.DecodeErr))
		if f.reason == "" {
			f.reason = "decode"
		}
		f.detail = r.DecodeErr.Error()
		d.outcomes["undecodable."+f.reason]++
	}
	if len(f.detail) > 200 {
		f.detail = f.detail[:200] + "..."
	}
	id := int32(len(d.fails))
	d.fails = append(d.fails, f)
	k := failKey{f.reg, f.kind, f.signal}
	d.failBy[k] = append(d.failBy[k], id)
	t.fails[k] = true
	return -1 - id
}

// match finds every document matching the newly inserted docs[id] and
// records the pair states.
func (d *Detector) match(id uint32, t *touched) {
	me := &d.docs[id]
	seen := map[uint32]bool{id: true}
	if me.hasSHA {
		for o1 := d.bySHA[me.sha]; o1 != 0; o1 = d.docs[o1-1].nextSHA {
			o := o1 - 1
			if seen[o] {
				continue
			}
			seen[o] = true
			d.relate(id, o, Distances{0, -1, -1, -1, 1}, true, t)
		}
	}
	if !me.searched {
		return
	}
	visit := func(_ uint64, o uint32, _ int) bool {
		if !seen[o] {
			seen[o] = true
			d.relate(id, o, d.distances(me, &d.docs[o]), false, t)
		}
		return true
	}
	capped := false
	search := func(x *mih.Index, q uint64, r int) {
		if st := x.Search(q, r, visit); st.Capped {
			capped = true
		}
	}
	search(d.plain, me.phash, d.radius)
	if d.portraitKeyed(me) {
		search(d.portraits, me.roi, d.roiRadius)
		for _, q := range d.shifts {
			search(d.portraits, q, d.roiRadius)
		}
	} else {
		search(d.cards, me.phash, d.radius)
	}
	if capped {
		// A pathological cluster: matches may be missing. Counted so
		// that operators see it; raise index.max_candidates or lower a
		// threshold.
		d.outcomes["index_capped"]++
	}
}

// portraitKeyed: dc is found, and finds documents of its own kind, by its
// portrait hash.
func (d *Detector) portraitKeyed(dc *doc) bool { return dc.flags&hasROI != 0 && d.roiKeyed[dc.kind] }

// distances between the document being inserted (me, whose shifted ROI
// hashes are in d.shifts, d.dshifts and d.cshifts) and an earlier one.
func (d *Detector) distances(me, od *doc) Distances {
	m := Distances{PHash: bits.OnesCount64(me.phash ^ od.phash), DHash: -1, Colour: 1}
	if me.flags&od.flags&hasDHash != 0 {
		m.DHash = bits.OnesCount64(me.dhash ^ od.dhash)
	}
	m.ROI = roiDistance(me.roi, d.shifts, me.flags&hasROI != 0, od.roi, nil, od.flags&hasROI != 0)
	m.ROIDHash = roiDistance(me.roiD, d.dshifts, me.flags&hasROI != 0, od.roiD, nil, od.flags&hasROI != 0)
	if me.flags&od.flags&hasColour != 0 {
		m.Colour = colourSimilarity(d.colours[me.colour-1], d.cshifts, d.colours[od.colour-1], nil)
	}
	return m
}

func (d *Detector) threshold(a, b *doc) Threshold { return d.cfg.ThresholdFor(a.kind, b.kind) }

// ThresholdFor is the threshold between documents of kinds ka and kb.
func (c Config) ThresholdFor(ka, kb string) Threshold {
	if ka != kb {
		return c.CrossKind
	}
	if t, ok := c.Thresholds[ka]; ok {
		return t
	}
	return c.Thresholds["*"]
}

// Accept reports whether a pair at distances m is a match under t.
func (t Threshold) Accept(m Distances) bool {
	return m.PHash <= t.PHash && (m.DHash < 0 || m.DHash <= t.DHash) && (t.ROI <= 0 || m.ROI < 0 || m.ROI <= t.ROI) &&
		(t.ROIDHash <= 0 || m.ROIDHash < 0 || m.ROIDHash <= t.ROIDHash) &&
		(t.ROISum <= 0 || m.ROI < 0 || m.ROIDHash < 0 || m.ROI+m.ROIDHash <= t.ROISum) &&
		(t.ROIColour <= 0 || m.Colour >= t.ROIColour)
}

// HashConfig is the imghash configuration for documents of kind (with
// that kind's region of interest, if any).
func (c Config) HashConfig(kind string) imghash.Config {
	hc := c.Hash
	if r, ok := c.ROI[kind]; ok {
		hc.ROI = &r
	}
	return hc
}

// Searchable is the quality gate: may this image be near-matched at all?
func (c Config) Searchable(h imghash.Hashes) bool {
	return h.StdDev >= c.MinStdDev && min(h.Width, h.Height) >= c.MinSide
}

// roiDistance is the smallest distance between one image's ROI hash and
// the other's ROI or shifted ROI hashes; -1 when either has no ROI.
func roiDistance(a uint64, as []uint64, ha bool, b uint64, bs []uint64, hb bool) int {
	if !ha || !hb {
		return -1
	}
	d := bits.OnesCount64(a ^ b)
	for _, s := range as {
		d = min(d, bits.OnesCount64(s^b))
	}
	for _, s := range bs {
		d = min(d, bits.OnesCount64(s^a))
	}
	return d
}

// colourSimilarity is the largest similarity between one image's ROI
// colour layout and the other's layout or shifted layouts.
func colourSimilarity(a imghash.Colour, as []imghash.Colour, b imghash.Colour, bs []imghash.Colour) float64 {
	s := a.Similarity(b)
	for _, x := range as {
		s = max(s, x.Similarity(b))
	}
	for _, x := range bs {
		s = max(s, x.Similarity(a))
	}
	return s
}

// Compare returns the distances between two hashed images (hashed with
// HashConfig of their kinds).
func Compare(a, b imghash.Hashes) Distances {
	m := Distances{
		PHash:    bits.OnesCount64(a.PHash ^ b.PHash),
		DHash:    bits.OnesCount64(a.DHash ^ b.DHash),
		ROI:      roiDistance(a.ROIPHash, a.ROIShifts, a.HasROI, b.ROIPHash, b.ROIShifts, b.HasROI),
		ROIDHash: roiDistance(a.ROIDHash, a.ROIDShifts, a.HasROI, b.ROIDHash, b.ROIDShifts, b.HasROI),
		Colour:   1,
	}
	if a.HasROI && b.HasROI && a.HasColour && b.HasColour {
		m.Colour = colourSimilarity(a.ROIColour, a.ROIColourShifts, b.ROIColour, b.ROIColourShifts)
	}
	return m
}

// Match is the detector's decision for two hashed images (hashed with
// HashConfig of their kinds), without the allow-list: identical bytes, or
// near under ThresholdFor(ka, kb) and both pass the quality gate.
func (c Config) Match(ka string, a imghash.Hashes, kb string, b imghash.Hashes) (bool, Distances) {
	m := Compare(a, b)
	if a.SHA256 == b.SHA256 {
		return true, m
	}
	if !c.Searchable(a) || !c.Searchable(b) {
		return false, m
	}
	return c.ThresholdFor(ka, kb).Accept(m), m
}

func (d *Detector) relate(id, o uint32, dm Distances, exact bool, t *touched) {
	a, b := &d.docs[id], &d.docs[o]
	var kind string
	switch {
	case a.kind != b.kind:
		kind = KindCrossKind
	case a.reg == b.reg:
		return // a re-upload of the registration's own document
	case exact:
		kind = KindExact
	default:
		kind = KindNear
	}
	if !exact {
		if a.hasSHA && b.hasSHA && a.sha == b.sha {
			exact = true // found by the index too; same bytes
		} else if !d.threshold(a, b).Accept(dm) {
			return
		}
	}
	m := pairMatch{exact: exact, dist: dm.PHash, dhash: dm.DHash, roi: dm.ROI, colour: dm.Colour}
	// Canonical pair: registration ids in order, then documents by event order.
	x, y := id, o
	if a.reg > b.reg || (a.reg == b.reg && docLess(b, a)) {
		x, y = o, id
	}
	m.a, m.b = x, y
	k := pairKey{d.docs[x].reg, d.docs[y].reg, kind}
	t.pairs[k] = true
	ps := d.pairs[k]
	if ps == nil {
		ps = &pairState{}
		d.pairs[k] = ps
		d.byReg[k.a] = append(d.byReg[k.a], k)
		if k.b != k.a {
			d.byReg[k.b] = append(d.byReg[k.b], k)
		}
	}
	ps.n++
	if ps.n == 1 || d.better(m, ps.best) {
		ps.best = m
	}
}

// usableKey is a 64-bit FNV-1a of registration and kind: one small map
// entry per document instead of two strings (a collision could only set
// has_usable_document wrongly in failure evidence).
func usableKey(reg, kind string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(reg); i++ {
		h = (h ^ uint64(reg[i])) * 1099511628211
	}
	h = (h ^ 0) * 1099511628211
	for i := 0; i < len(kind); i++ {
		h = (h ^ uint64(kind[i])) * 1099511628211
	}
	return h
}
