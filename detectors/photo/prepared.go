package photo

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/waspada/waspada/detectors/photo/fetch"
	"github.com/waspada/waspada/detectors/photo/imghash"
	"github.com/waspada/waspada/pipeline/event"
)

// preparedDoc is the stored form of one document's Result: what Observe
// needs to reach the same decisions (including the shifted ROI hashes),
// nothing more. Hashes are hex strings so the JSON stays readable in
// ClickHouse.
type preparedDoc struct {
	SHA256     string   `json:"sha256,omitempty"`
	PHash      string   `json:"phash,omitempty"`
	DHash      string   `json:"dhash,omitempty"`
	ROI        string   `json:"roi,omitempty"`
	ROIDHash   string   `json:"roi_dhash,omitempty"`
	ROIShifts  []string `json:"roi_shifts,omitempty"`
	ROIDShifts []string `json:"roi_dshifts,omitempty"`
	// ROIColour and ROIColourShifts: imghash.Colour.String, when the
	// document has colour.
	ROIColour       string   `json:"roi_colour,omitempty"`
	ROIColourShifts []string `json:"roi_colour_shifts,omitempty"`
	Format          string   `json:"format,omitempty"`
	Width           int      `json:"w,omitempty"`
	Height          int      `json:"h,omitempty"`
	StdDev          float64  `json:"stddev,omitempty"`
	Unavailable     string   `json:"unavailable,omitempty"` // fetch failure reason
	Undecodable     string   `json:"undecodable,omitempty"` // imghash reason
	Detail          string   `json:"detail,omitempty"`
	Skipped         bool     `json:"skipped,omitempty"` // precomputed hashes on the event
}

type preparedEvent struct {
	// V is the version of the hashing that produced Docs (preparedVersion).
	V    int           `json:"v,omitempty"`
	Docs []preparedDoc `json:"docs"`
}

// preparedVersion changes whenever the same image would hash differently
// (2: the portrait region is area-averaged to a fixed size and shifted
// hashes include 0.95x/1.05x scales; 3: the portrait's colour layout). Results stored by another version
// are not restored: the document is fetched and hashed again, so that old
// and new hashes are never compared with each other.
const preparedVersion = 3

// errStale: prepared results from another hashing version.
var errStale = errors.New("photo: prepared data from another hashing version")

func hexes(v []uint64) []string {
	var out []string
	for _, x := range v {
		out = append(out, phashString(x))
	}
	return out
}

func unhexes(v []string) ([]uint64, error) {
	var out []uint64
	for _, s := range v {
		x, err := strconv.ParseUint(s, 16, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func encodeResults(ev *event.Event, res []Result) (json.RawMessage, error) {
	p := preparedEvent{V: preparedVersion, Docs: make([]preparedDoc, len(res))}
	for i, r := range res {
		pd := &p.Docs[i]
		switch {
		case !needsFetch(ev.Documents[i]):
			pd.Skipped = true
		case r.FetchErr != nil:
			pd.Unavailable, pd.Detail = "fetch", r.FetchErr.Error()
			var fe *fetch.Error
			if errors.As(r.FetchErr, &fe) {
				pd.Unavailable, pd.Detail = fe.Reason, fe.Detail
			}
		case r.DecodeErr != nil:
			pd.Undecodable, pd.Detail = "decode", r.DecodeErr.Error()
			var de *imghash.DecodeError
			if errors.As(r.DecodeErr, &de) {
				pd.Undecodable, pd.Detail = string(de.Reason), de.Detail
			}
		default:
			h := r.Hashes
			pd.SHA256, pd.PHash, pd.DHash = h.SHA256Hex(), phashString(h.PHash), phashString(h.DHash)
			if h.HasROI {
				pd.ROI, pd.ROIDHash = phashString(h.ROIPHash), phashString(h.ROIDHash)
				pd.ROIShifts, pd.ROIDShifts = hexes(h.ROIShifts), hexes(h.ROIDShifts)
				if h.HasColour {
					pd.ROIColour = h.ROIColour.String()
					for _, c := range h.ROIColourShifts {
						pd.ROIColourShifts = append(pd.ROIColourShifts, c.String())
					}
				}
			}
			pd.Format, pd.Width, pd.Height, pd.StdDev = h.Format, h.Width, h.Height, h.StdDev
		}
	}
	return json.Marshal(p)
}

func decodeResults(ev *event.Event, raw json.RawMessage) ([]Result, error) {
	var p preparedEvent
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("photo: prepared data: %w", err)
	}
	if p.V != preparedVersion {
		return nil, errStale
	}
	if len(p.Docs) != len(ev.Documents) {
		return nil, fmt.Errorf("photo: prepared data has %d documents, event %s has %d", len(p.Docs), ev.EventID, len(ev.Documents))
	}
	res := make([]Result, len(p.Docs))
	for i, pd := range p.Docs {
		r := &res[i]
		switch {
		case pd.Skipped:
		case pd.Unavailable != "":
			r.FetchErr = &fetch.Error{Class: fetch.Permanent, Reason: pd.Unavailable, URI: ev.Documents[i].URI, Detail: pd.Detail}
		case pd.Undecodable != "":
			r.DecodeErr = &imghash.DecodeError{Reason: imghash.Reason(pd.Undecodable), Detail: pd.Detail}
		default:
			h := &r.Hashes
			sha, err := hex.DecodeString(pd.SHA256)
			if err != nil || len(sha) != 32 {
				return nil, fmt.Errorf("photo: prepared data: document %d: bad sha256", i)
			}
			copy(h.SHA256[:], sha)
			var errs [4]error
			h.PHash, errs[0] = strconv.ParseUint(pd.PHash, 16, 64)
			h.DHash, errs[1] = strconv.ParseUint(pd.DHash, 16, 64)
			if pd.ROI != "" {
				h.HasROI = true
				h.ROIPHash, errs[2] = strconv.ParseUint(pd.ROI, 16, 64)
				h.ROIDHash, errs[3] = strconv.ParseUint(pd.ROIDHash, 16, 64)
				if h.ROIShifts, err = unhexes(pd.ROIShifts); err != nil {
					return nil, fmt.Errorf("photo: prepared data: document %d: %w", i, err)
				}
				if h.ROIDShifts, err = unhexes(pd.ROIDShifts); err != nil {
					return nil, fmt.Errorf("photo: prepared data: document %d: %w", i, err)
				}
				if pd.ROIColour != "" {
					h.HasColour = true
					if h.ROIColour, err = imghash.ParseColour(pd.ROIColour); err != nil {
						return nil, fmt.Errorf("photo: prepared data: document %d: %w", i, err)
					}
					for _, s := range pd.ROIColourShifts {
						c, err := imghash.ParseColour(s)
						if err != nil {
							return nil, fmt.Errorf("photo: prepared data: document %d: %w", i, err)
						}
						h.ROIColourShifts = append(h.ROIColourShifts, c)
					}
				}
			}
			for _, e := range errs {
				if e != nil {
					return nil, fmt.Errorf("photo: prepared data: document %d: %w", i, e)
				}
			}
			h.Format, h.Width, h.Height, h.StdDev = pd.Format, pd.Width, pd.Height, pd.StdDev
		}
	}
	return res, nil
}
