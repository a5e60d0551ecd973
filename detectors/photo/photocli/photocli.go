package photocli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/waspada/waspada/detectors/photo"
	"github.com/waspada/waspada/detectors/photo/imghash"
	"github.com/waspada/waspada/detectors/photo/mih"
)

const usage = `usage: waspada photos <command> [flags] [args]

Commands:
  hash FILE...          print each file's SHA-256, pHash, dHash, size and decode path
  dedupe DIR [--json]   hash every image under DIR and print groups of near-duplicates
                        with their pairwise distances, and the files that could not be read

Run 'waspada photos <command> -h' for the flags of a command.
`

// Run runs `photos` with args (without the leading "photos") and returns
// the exit code: 0 ok, 1 some file could not be hashed, 2 usage error.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "hash":
		return runHash(ctx, args[1:], stdout, stderr)
	case "dedupe":
		return runDedupe(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "waspada photos: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// parse parses flags anywhere among the arguments (flag stops at the first
// positional one, but "dedupe DIR --json" should work).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

type limitsFlags struct {
	maxBytes  int64
	maxPixels int64
}

func (l *limitsFlags) register(fs *flag.FlagSet) {
	d := imghash.DefaultConfig()
	fs.Int64Var(&l.maxBytes, "max-bytes", d.MaxBytes, "largest file accepted, in bytes")
	fs.Int64Var(&l.maxPixels, "max-pixels", d.MaxPixels, "pixel budget (width x height) per image")
}

func (l *limitsFlags) config() imghash.Config {
	c := imghash.DefaultConfig()
	c.MaxBytes, c.MaxPixels = l.maxBytes, l.maxPixels
	return c
}

func newFlagSet(name, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: waspada photos %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// FileHash is one line of `photos hash --json`.
type FileHash struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256,omitempty"`
	PHash  string `json:"phash,omitempty"`
	DHash  string `json:"dhash,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	Format string `json:"format,omitempty"`
	Path   string `json:"decode_path,omitempty"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

func hashFile(cfg imghash.Config, name string) FileHash {
	out := FileHash{File: name}
	data, err := readCapped(name, cfg.MaxBytes)
	if err != nil {
		out.Reason, out.Error = "unreadable", err.Error()
		var de *imghash.DecodeError
		if errors.As(err, &de) {
			out.Reason = string(de.Reason)
		}
		return out
	}
	h, err := imghash.Hash(cfg, data)
	if err != nil {
		out.Reason, out.Error = string(imghash.ReasonOf(err)), err.Error()
		return out
	}
	out.SHA256, out.PHash, out.DHash = h.SHA256Hex(), hex64(h.PHash), hex64(h.DHash)
	out.Width, out.Height, out.Format, out.Path = h.Width, h.Height, h.Format, h.Path
	return out
}

func hex64(v uint64) string { return fmt.Sprintf("%016x", v) }

func readCapped(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > limit {
		return nil, &imghash.DecodeError{Reason: imghash.ReasonTooLarge, Detail: fmt.Sprintf("%d bytes, limit %d", st.Size(), limit)}
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

func runHash(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("hash", "hash [-json] FILE...",
		"Prints each file's SHA-256, 64-bit pHash and dHash (hex, as stored with registrations),\n"+
			"dimensions, format and decode path (dc: JPEG DC coefficients only; full: full decode).\n"+
			"Files that cannot be hashed are reported with the reason class; the exit code is then 1.", stderr)
	jsonOut := fs.Bool("json", false, "print one JSON object per line")
	var lf limitsFlags
	lf.register(fs)
	files, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fs.Usage()
		return 2
	}
	cfg := lf.config()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	res := hashAll(ctx, cfg, files)
	code := 0
	enc := json.NewEncoder(stdout)
	for _, r := range res {
		if r.Reason != "" {
			code = 1
		}
		if *jsonOut {
			enc.Encode(r)
			continue
		}
		if r.Reason != "" {
			fmt.Fprintf(stdout, "%s\terror=%s\t%s\n", r.File, r.Reason, r.Error)
			continue
		}
		fmt.Fprintf(stdout, "%s\tsha256=%s\tphash=%s\tdhash=%s\t%dx%d\t%s\t%s\n",
			r.File, r.SHA256, r.PHash, r.DHash, r.Width, r.Height, r.Format, r.Path)
	}
	return code
}

// hashAll hashes files on every core, results in input order.
func hashAll(ctx context.Context, cfg imghash.Config, files []string) []FileHash {
	out := make([]FileHash, len(files))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i] = hashFile(cfg, files[i])
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			out[i] = FileHash{File: files[i], Reason: "cancelled", Error: ctx.Err().Error()}
			continue
		}
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// Pair is two files of a group and their distances.
type Pair struct {
	A             string `json:"a"`
	B             string `json:"b"`
	Exact         bool   `json:"exact"`
	PHashDistance int    `json:"phash_distance"`
	DHashDistance int    `json:"dhash_distance"`
}

// Group is a connected set of near-duplicates.
type Group struct {
	Files []string `json:"files"`
	Pairs []Pair   `json:"pairs"` // every pair of files in the group, matching or not
}

// Unreadable is a file that could not be hashed.
type Unreadable struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

// DedupeResult is the --json document.
type DedupeResult struct {
	Dir        string       `json:"dir"`
	Images     int          `json:"images"`
	PHashMax   int          `json:"phash_threshold"`
	DHashMax   int          `json:"dhash_threshold"`
	Groups     []Group      `json:"groups"`
	Unreadable []Unreadable `json:"unreadable"`
}

func runDedupe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	def := photo.DefaultConfig().Thresholds["*"]
	fs := newFlagSet("dedupe", "dedupe DIR [--json] [flags]",
		"Hashes every file under DIR (recursively; hidden files and folders skipped) and prints\n"+
			"groups of near-duplicates: two images belong together when their SHA-256 is equal, or\n"+
			"their pHash distance is at most -phash and their dHash distance at most -dhash; a group\n"+
			"is the connected set, listed with the distances of every pair in it. Files that could\n"+
			"not be read or decoded are listed with the reason.", stderr)
	jsonOut := fs.Bool("json", false, "print one JSON document {groups: [{files, pairs}], unreadable: [...]}")
	pmax := fs.Int("phash", def.PHash, "largest pHash distance (bits of 64) called a near-duplicate")
	dmax := fs.Int("dhash", def.DHash, "largest dHash distance confirming a near-duplicate")
	var lf limitsFlags
	lf.register(fs)
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	if *pmax < 0 || *pmax > 16 || *dmax < 0 || *dmax > 64 {
		fmt.Fprintln(stderr, "waspada photos dedupe: -phash must be 0..16 and -dhash 0..64")
		return 2
	}
	cfg := lf.config()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	dir := pos[0]
	var files []string
	err = filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			files = append(files, p) // reported as unreadable below
			if d != nil && d.IsDir() {
				return iofs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return iofs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(stderr, "waspada photos dedupe:", err)
		return 1
	}
	res := Dedupe(hashAll(ctx, cfg, files), *pmax, *dmax)
	res.Dir = dir
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	} else {
		printDedupe(stdout, res)
	}
	if len(res.Unreadable) > 0 {
		return 1
	}
	return 0
}

// Dedupe groups hashed files. Pure: the CLI and the tests share it.
func Dedupe(hs []FileHash, pmax, dmax int) DedupeResult {
	res := DedupeResult{PHashMax: pmax, DHashMax: dmax, Groups: []Group{}, Unreadable: []Unreadable{}}
	var ok []FileHash
	for _, h := range hs {
		if h.Reason != "" {
			res.Unreadable = append(res.Unreadable, Unreadable{h.File, h.Reason, h.Error})
			continue
		}
		ok = append(ok, h)
	}
	slices.SortFunc(ok, func(a, b FileHash) int { return strings.Compare(a.File, b.File) })
	res.Images = len(ok)
	ph := make([]uint64, len(ok))
	dh := make([]uint64, len(ok))
	ids := make([]uint32, len(ok))
	for i, h := range ok {
		fmt.Sscanf(h.PHash, "%x", &ph[i])
		fmt.Sscanf(h.DHash, "%x", &dh[i])
		ids[i] = uint32(i)
	}
	parent := make([]int, len(ok))
	for i := range parent {
		parent[i] = i
	}
	var root func(int) int
	root = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		ra, rb := root(a), root(b)
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	match := func(i, j int) bool {
		if ok[i].SHA256 == ok[j].SHA256 {
			return true
		}
		return bits.OnesCount64(ph[i]^ph[j]) <= pmax && bits.OnesCount64(dh[i]^dh[j]) <= dmax
	}
	idx := mih.Build(mih.DefaultConfig(), ph, ids)
	for i := range ok {
		idx.Search(ph[i], pmax, func(_ uint64, j uint32, _ int) bool {
			if int(j) != i && match(i, int(j)) {
				union(i, int(j))
			}
			return true
		})
	}
	// exact duplicates whose pHash differs cannot happen (same bytes), so the
	// index finds every match.
	groups := map[int][]int{}
	for i := range ok {
		r := root(i)
		groups[r] = append(groups[r], i)
	}
	for _, r := range slices.Sorted(mapsKeys(groups)) {
		m := groups[r]
		if len(m) < 2 {
			continue
		}
		g := Group{}
		for _, i := range m {
			g.Files = append(g.Files, ok[i].File)
		}
		for x := 0; x < len(m); x++ {
			for y := x + 1; y < len(m); y++ {
				i, j := m[x], m[y]
				g.Pairs = append(g.Pairs, Pair{A: ok[i].File, B: ok[j].File, Exact: ok[i].SHA256 == ok[j].SHA256,
					PHashDistance: bits.OnesCount64(ph[i] ^ ph[j]), DHashDistance: bits.OnesCount64(dh[i] ^ dh[j])})
			}
		}
		res.Groups = append(res.Groups, g)
	}
	return res
}

func mapsKeys(m map[int][]int) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func printDedupe(w io.Writer, r DedupeResult) {
	fmt.Fprintf(w, "%d images under %s, %d groups of near-duplicates (phash <= %d, dhash <= %d), %d unreadable\n",
		r.Images, r.Dir, len(r.Groups), r.PHashMax, r.DHashMax, len(r.Unreadable))
	for i, g := range r.Groups {
		fmt.Fprintf(w, "\ngroup %d (%d files)\n", i+1, len(g.Files))
		for _, f := range g.Files {
			fmt.Fprintf(w, "  %s\n", f)
		}
		for _, p := range g.Pairs {
			tag := ""
			if p.Exact {
				tag = "  identical bytes"
			}
			fmt.Fprintf(w, "    phash %2d  dhash %2d  %s <-> %s%s\n", p.PHashDistance, p.DHashDistance, p.A, p.B, tag)
		}
	}
	if len(r.Unreadable) > 0 {
		fmt.Fprintf(w, "\nunreadable\n")
		for _, u := range r.Unreadable {
			fmt.Fprintf(w, "  %s: %s: %s\n", u.File, u.Reason, u.Error)
		}
	}
}
