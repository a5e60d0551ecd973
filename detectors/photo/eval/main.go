package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/waspada/waspada/detectors/photo"
	"github.com/waspada/waspada/detectors/photo/imghash"
)

type item struct {
	path, group, transform, kind string
	h                            imghash.Hashes
	err                          error
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory written by make_set.py (with labels.csv)")
	roiFull := fs.Bool("roi-full", photo.DefaultConfig().Hash.ROIFullDecode, "hash the KTP portrait ROI from a full-resolution decode")
	sweep := fs.Bool("sweep", false, "also print the KTP threshold sweep: the recall / false-match trade-off of every candidate threshold combination (Pareto rows)")
	if err := fs.Parse(args); err != nil || *dir == "" {
		fmt.Fprintln(stderr, "usage: go run ./detectors/photo/eval -dir DIR")
		return 2
	}
	items, err := load(*dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	cfg := photo.DefaultConfig()
	cfg.Hash.ROIFullDecode = *roiFull
	hashAll(cfg, *dir, items)
	for _, it := range items {
		if it.err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", it.path, it.err)
			return 1
		}
	}
	report(stdout, cfg, items)
	if *sweep {
		sweepKTP(stdout, cfg, items)
	}
	return 0
}

func detKind(k string) string {
	if k == "photo" {
		return "selfie"
	}
	return k
}

func load(dir string) ([]*item, error) {
	f, err := os.Open(filepath.Join(dir, "labels.csv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	var out []*item
	for _, r := range rows[1:] {
		out = append(out, &item{path: r[0], group: r[1], transform: r[2], kind: r[3]})
	}
	return out, nil
}

func hashAll(cfg photo.Config, dir string, items []*item) {
	var wg sync.WaitGroup
	ch := make(chan *item)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				data, err := os.ReadFile(filepath.Join(dir, it.path))
				if err != nil {
					it.err = err
					continue
				}
				it.h, it.err = imghash.Hash(cfg.HashConfig(detKind(it.kind)), data)
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
}

func report(w io.Writer, cfg photo.Config, items []*item) {
	orig := map[string]*item{}
	for _, it := range items {
		if it.transform == "orig" {
			orig[it.kind+"/"+it.group] = it
		}
	}
	fmt.Fprintf(w, "thresholds: selfie %+v, ktp %+v (ROI %+v, full-resolution ROI %v), quality gate stddev >= %.0f, side >= %d\n\n",
		cfg.Thresholds["selfie"], cfg.Thresholds["ktp"], cfg.ROI["ktp"], cfg.Hash.ROIFullDecode, cfg.MinStdDev, cfg.MinSide)

	// Recall per transformation.
	type acc struct {
		n, hit            int
		pd, dd            []int
		missedByP, missed []string
	}
	rec := map[string]*acc{}
	var keys []string
	for _, it := range items {
		if it.transform == "orig" {
			continue
		}
		o := orig[it.kind+"/"+it.group]
		k := it.kind + "\t" + it.transform
		a := rec[k]
		if a == nil {
			a = &acc{}
			rec[k] = a
			keys = append(keys, k)
		}
		ok, m := cfg.Match(detKind(it.kind), o.h, detKind(it.kind), it.h)
		a.n++
		a.pd = append(a.pd, m.PHash)
		a.dd = append(a.dd, m.DHash)
		if ok {
			a.hit++
		} else {
			a.missed = append(a.missed, it.group)
		}
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "Recall (transformed image vs its original)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| kind | transformation | images | matched | recall | pHash dist mean / max | dHash dist mean / max |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|")
	totN, totHit := map[string]int{}, map[string]int{}
	for _, k := range keys {
		a := rec[k]
		kind, tr, _ := strings.Cut(k, "\t")
		totN[kind] += a.n
		totHit[kind] += a.hit
		fmt.Fprintf(w, "| %s | %s | %d | %d | %.3f | %.1f / %d | %.1f / %d |\n", kind, tr, a.n, a.hit,
			float64(a.hit)/float64(a.n), mean(a.pd), slices.Max(a.pd), mean(a.dd), slices.Max(a.dd))
	}
	for _, kind := range []string{"photo", "ktp"} {
		if totN[kind] > 0 {
			fmt.Fprintf(w, "| %s | **all** | %d | %d | **%.3f** | | |\n", kind, totN[kind], totHit[kind], float64(totHit[kind])/float64(totN[kind]))
		}
	}

	// False matches among distinct originals.
	fmt.Fprintln(w)
	fmt.Fprintln(w, "False matches among distinct originals (every pair)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| set | pairs | false matches | rate | pHash dist min / p1 / p5 / median |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, kind := range []string{"photo", "ktp"} {
		var os []*item
		for _, it := range items {
			if it.kind == kind && it.transform == "orig" {
				os = append(os, it)
			}
		}
		var dists []int
		fm, fmNoROI, pairs := 0, 0, 0
		noROI := cfg
		th := noROI.Thresholds[detKind(kind)]
		th.ROI, th.ROIDHash, th.ROISum, th.ROIColour = 0, 0, 0, 0
		noROI.Thresholds = map[string]photo.Threshold{detKind(kind): th, "*": cfg.Thresholds["*"]}
		for i := range os {
			for j := i + 1; j < len(os); j++ {
				pairs++
				ok, m := cfg.Match(detKind(kind), os[i].h, detKind(kind), os[j].h)
				dists = append(dists, m.PHash)
				if ok {
					fm++
				}
				if ok2, _ := noROI.Match(detKind(kind), os[i].h, detKind(kind), os[j].h); ok2 {
					fmNoROI++
				}
			}
		}
		if pairs == 0 {
			continue
		}
		slices.Sort(dists)
		fmt.Fprintf(w, "| %s (%d distinct) | %d | %d | %.4f%% | %d / %d / %d / %d |\n", kind, len(os), pairs, fm,
			100*float64(fm)/float64(pairs), dists[0], dists[len(dists)/100], dists[len(dists)/20], dists[len(dists)/2])
		if kind == "ktp" {
			fmt.Fprintf(w, "| ktp, whole card only (ROI check off) | %d | %d | %.4f%% | |\n", pairs, fmNoROI,
				100*float64(fmNoROI)/float64(pairs))
		}
	}

	// Sweep of the pHash threshold (dHash and ROI as configured).
	fmt.Fprintln(w)
	fmt.Fprintln(w, "pHash threshold sweep (dHash/ROI confirmation as configured)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| pHash <= | photo recall | photo false-match rate | ktp recall | ktp false-match rate |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|")
	for t := 4; t <= 14; t += 2 {
		c := cfg
		c.Thresholds = map[string]photo.Threshold{}
		for k, v := range cfg.Thresholds {
			v.PHash = t
			c.Thresholds[k] = v
		}
		row := fmt.Sprintf("| %d |", t)
		for _, kind := range []string{"photo", "ktp"} {
			n, hit := 0, 0
			var os []*item
			for _, it := range items {
				if it.kind != kind {
					continue
				}
				if it.transform == "orig" {
					os = append(os, it)
					continue
				}
				n++
				if ok, _ := c.Match(detKind(kind), orig[kind+"/"+it.group].h, detKind(kind), it.h); ok {
					hit++
				}
			}
			fm, pairs := 0, 0
			for i := range os {
				for j := i + 1; j < len(os); j++ {
					pairs++
					if ok, _ := c.Match(detKind(kind), os[i].h, detKind(kind), os[j].h); ok {
						fm++
					}
				}
			}
			row += fmt.Sprintf(" %.3f | %.4f%% |", ratio(hit, n), 100*ratio(fm, pairs))
		}
		fmt.Fprintln(w, row)
	}
	// Sweep of the KTP ROI threshold (whole-card thresholds as configured).
	fmt.Fprintln(w)
	fmt.Fprintln(w, "KTP portrait ROI threshold sweep (whole-card pHash/dHash as configured, ROI sum and colour off; -sweep for all combinations)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| ROI pHash <= | ROI dHash <= | ktp recall | ktp false matches | ktp false-match rate |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|")
	for _, tt := range [][2]int{{4, 0}, {6, 0}, {8, 0}, {10, 0}, {2, 4}, {4, 4}, {4, 6}, {4, 8}, {6, 6}, {6, 8}, {8, 8}, {8, 10}, {10, 10}} {
		t := tt[0]
		c := cfg
		c.Thresholds = map[string]photo.Threshold{}
		for k, v := range cfg.Thresholds {
			c.Thresholds[k] = v
		}
		kt := c.Thresholds["ktp"]
		kt.ROI, kt.ROIDHash, kt.ROISum, kt.ROIColour = t, tt[1], 0, 0
		c.Thresholds["ktp"] = kt
		n, hit, fm, pairs := 0, 0, 0, 0
		var os []*item
		for _, it := range items {
			if it.kind != "ktp" {
				continue
			}
			if it.transform == "orig" {
				os = append(os, it)
				continue
			}
			n++
			if ok, _ := c.Match("ktp", orig["ktp/"+it.group].h, "ktp", it.h); ok {
				hit++
			}
		}
		for i := range os {
			for j := i + 1; j < len(os); j++ {
				pairs++
				if ok, _ := c.Match("ktp", os[i].h, "ktp", os[j].h); ok {
					fm++
				}
			}
		}
		fmt.Fprintf(w, "| %d | %d | %.3f | %d | %.4f%% |\n", t, tt[1], ratio(hit, n), fm, 100*ratio(fm, pairs))
	}
	_ = bits.OnesCount64
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func mean(v []int) float64 {
	s := 0
	for _, x := range v {
		s += x
	}
	return float64(s) / float64(len(v))
}

// sweepKTP tries every combination of the KTP thresholds below and prints
// the Pareto rows (no other combination has at least the recall and at
// most the false matches), so that the choice in DefaultConfig can be
// reproduced and re-made on another labelled set.
func sweepKTP(w io.Writer, cfg photo.Config, items []*item) {
	orig := map[string]*item{}
	var origs, trans []*item
	for _, it := range items {
		if it.kind != "ktp" {
			continue
		}
		if it.transform == "orig" {
			orig[it.group] = it
			origs = append(origs, it)
		} else {
			trans = append(trans, it)
		}
	}
	if len(origs) < 2 {
		return
	}
	base := cfg.Thresholds["ktp"]
	withKTP := func(t photo.Threshold) photo.Config {
		c := cfg
		c.Thresholds = map[string]photo.Threshold{}
		for k, v := range cfg.Thresholds {
			c.Thresholds[k] = v
		}
		c.Thresholds["ktp"] = t
		return c
	}
	// Only pairs that the loosest combination accepts can be accepted by
	// any other: filter once, and compare every pair once.
	loose := withKTP(photo.Threshold{PHash: 12, DHash: base.DHash, ROI: 8, ROIDHash: 10})
	type pair struct {
		m      photo.Distances
		forced bool // same bytes: a match whatever the thresholds
		tr     string
	}
	var cand []pair
	for i := range origs {
		for j := i + 1; j < len(origs); j++ {
			if ok, m := loose.Match("ktp", origs[i].h, "ktp", origs[j].h); ok {
				cand = append(cand, pair{m: m, forced: origs[i].h.SHA256 == origs[j].h.SHA256})
			}
		}
	}
	pairs := len(origs) * (len(origs) - 1) / 2
	var tps []pair
	for _, it := range trans {
		o := orig[it.group].h
		if !cfg.Searchable(o) || !cfg.Searchable(it.h) {
			tps = append(tps, pair{m: photo.Distances{PHash: 99}, tr: it.transform})
			continue
		}
		tps = append(tps, pair{m: photo.Compare(o, it.h), forced: o.SHA256 == it.h.SHA256, tr: it.transform})
	}
	colourSims := func(ps []pair) []float64 {
		var v []float64
		for _, p := range ps {
			if cfg.Thresholds["ktp"].Accept(photo.Distances{PHash: p.m.PHash, DHash: p.m.DHash, ROI: p.m.ROI, ROIDHash: p.m.ROIDHash, Colour: 1}) {
				v = append(v, p.m.Colour)
			}
		}
		slices.Sort(v)
		return v
	}
	tv, fv := colourSims(tps), colourSims(cand)
	q := func(v []float64, f float64) float64 {
		if len(v) == 0 {
			return 0
		}
		return v[min(len(v)-1, int(f*float64(len(v))))]
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "KTP portrait colour similarity of the pairs the grey thresholds accept (colour check off)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| pairs | n | min | p1 | p5 | p50 | p95 | max |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range []struct {
		name string
		v    []float64
	}{{"transformed vs original (same card)", tv}, {"distinct cards (false matches)", fv}} {
		fmt.Fprintf(w, "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", r.name, len(r.v), q(r.v, 0), q(r.v, 0.01), q(r.v, 0.05), q(r.v, 0.5), q(r.v, 0.95), q(r.v, 1))
	}
	type row struct {
		t       photo.Threshold
		hit, fm int
		minTr   float64
		worstTr string
	}
	var rows []row
	for _, wp := range []int{8, 10, 12} {
		for rp := 2; rp <= 8; rp++ {
			for rd := 2; rd <= 10; rd++ {
				for _, sum := range []int{0, 6, 7, 8, 9, 10, 11, 12, 14} {
					if sum > 0 && sum >= rp+rd {
						continue // no effect
					}
					for _, col := range []float64{0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97} {
						t := photo.Threshold{PHash: wp, DHash: base.DHash, ROI: rp, ROIDHash: rd, ROISum: sum, ROIColour: col}
						r := row{t: t, minTr: 2}
						per := map[string][2]int{}
						for _, p := range tps {
							ok := p.forced || t.Accept(p.m)
							c := per[p.tr]
							c[1]++
							if ok {
								r.hit++
								c[0]++
							}
							per[p.tr] = c
						}
						for _, tr := range slices.Sorted(maps.Keys(per)) {
							if v := ratio(per[tr][0], per[tr][1]); v < r.minTr {
								r.minTr, r.worstTr = v, tr
							}
						}
						for _, p := range cand {
							if p.forced || t.Accept(p.m) {
								r.fm++
							}
						}
						rows = append(rows, r)
					}
				}
			}
		}
	}
	// Pareto rows, by recall.
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].hit != rows[j].hit {
			return rows[i].hit > rows[j].hit
		}
		return rows[i].fm < rows[j].fm
	})
	fmt.Fprintln(w)
	fmt.Fprintf(w, "KTP threshold sweep: %d combinations (whole-card pHash 8/10/12, dHash %d; ROI pHash 2-8, ROI dHash 2-10, ROI sum off/6-14, ROI colour off/0.5-0.97), Pareto rows\n\n", len(rows), base.DHash)
	fmt.Fprintln(w, "| whole pHash <= | ROI pHash <= | ROI dHash <= | ROI sum <= | ROI colour >= | ktp recall | worst transformation | ktp false matches | ktp false-match rate |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---|---:|---:|")
	best := len(cand) + 1
	for _, r := range rows {
		if r.fm >= best {
			continue
		}
		best = r.fm
		sum := "off"
		if r.t.ROISum > 0 {
			sum = fmt.Sprint(r.t.ROISum)
		}
		col := "off"
		if r.t.ROIColour > 0 {
			col = fmt.Sprint(r.t.ROIColour)
		}
		fmt.Fprintf(w, "| %d | %d | %d | %s | %s | %.3f | %s %.3f | %d | %.4f%% |\n", r.t.PHash, r.t.ROI, r.t.ROIDHash, sum, col,
			ratio(r.hit, len(trans)), r.worstTr, r.minTr, r.fm, 100*ratio(r.fm, pairs))
		if r.fm == 0 {
			break
		}
	}
}
