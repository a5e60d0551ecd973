package mih

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is this OS thread's CPU time: per-query cost without the time
// the machine (shared, loaded) spent on other processes.
func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// TestReport prints the index table: memory per hash, query latency
// percentiles and candidates per radius, against a brute-force
// XOR+popcount scan of the same codes measured in the same run. Timing is
// printed, never asserted; results are checked against the scan.
// WASPADA_MIH_CAP sets Config.MaxCandidates (default: DefaultConfig's);
// capped queries are then searched again without the cap to count the
// neighbours they missed (missed, and miss% of all true neighbours) and
// the smallest radius they were still complete to (exact).
// WASPADA_MIH_SETS selects datasets (see reportSets), WASPADA_MIH_RADII
// radii, for shorter runs.
//
//	WASPADA_MIH_REPORT=10000000 GOMAXPROCS=1 go test ./detectors/photo/mih -run TestReport -v -timeout 60m
func TestReport(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("WASPADA_MIH_REPORT"))
	if n <= 0 {
		t.Skip("set WASPADA_MIH_REPORT=<number of hashes> to run")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, ds := range reportSets(t) {
		codes := ds.codes(rng, n)
		if ds.model != nil {
			// How the model's neighbourhoods compare with the real
			// sample's: independent bits do not reproduce the sample's
			// near pairs (its bits are correlated).
			rs := []int{4, 6, 8, 10, 12}
			fmt.Printf("\n%s model: weight %d, pairs within %v: sample %s, model %s (%d codes)\n", ds.name, ds.model.weight, rs,
				percents(pairsWithin(ds.sample, rs)), percents(pairsWithin(codes[:4000], rs)), 4000)
		}
		ids := make([]uint32, n)
		for i := range ids {
			ids[i] = uint32(i)
		}
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		t0 := time.Now()
		cfg := DefaultConfig()
		if c, _ := strconv.Atoi(os.Getenv("WASPADA_MIH_CAP")); c > 0 {
			cfg.MaxCandidates = c
		}
		x := Build(cfg, codes, ids)
		build := time.Since(t0)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		heap := float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
		fmt.Printf("\n%s: %d hashes, build %v, index %.1f bytes/hash (arrays), heap delta %.1f bytes/hash, %s\n",
			ds.name, n, build.Round(time.Millisecond), float64(x.MemoryBytes())/float64(n), heap/float64(n), hugePages())

		// Queries: half near a stored code (a few bits flipped), half new.
		const nq = 2000
		queries := make([]uint64, nq)
		for i := range queries {
			if i%2 == 0 {
				queries[i] = ds.near(rng, codes[rng.IntN(n)])
			} else {
				queries[i] = ds.codes(rng, 1)[0]
			}
		}
		// Brute force, same process, a subset of queries.
		const nb = 30
		runtime.LockOSThread()
		bc0 := threadCPU()
		t0 = time.Now()
		found := 0
		for _, q := range queries[:nb] {
			for _, c := range codes {
				if bits.OnesCount64(c^q) <= 8 {
					found++
				}
			}
		}
		bruteMean := time.Since(t0) / nb
		bruteCPU := (threadCPU() - bc0) / nb
		runtime.UnlockOSThread()
		fmt.Printf("brute-force scan: %v per query wall, %v CPU (%.2f ns per comparison CPU)\n",
			bruteMean.Round(time.Microsecond), bruteCPU.Round(time.Microsecond), float64(bruteCPU.Nanoseconds())/float64(n))
		fmt.Printf("max candidates per query %d\n", cfg.MaxCandidates)
		fmt.Printf("%-6s %9s %9s %9s %9s %9s %9s %11s %11s %9s %7s %6s %9s %6s %7s %7s\n",
			"radius", "mean_us", "p50_us", "p99_us", "max_us", "cpu_p50", "cpu_p99", "cand_mean", "cand_max", "hits_mean", "capped", "exact", "missed", "miss%", "x_wall", "x_cpu")
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for _, r := range reportRadii() {
			lat := make([]time.Duration, nq)
			cpu := make([]time.Duration, nq)
			var cand, candMax, capped, hits int
			var cappedQ []uint64
			exact := r
			for i, q := range queries {
				c0 := threadCPU()
				t0 := time.Now()
				st := x.Search(q, r, func(uint64, uint32, int) bool { hits++; return true })
				lat[i] = time.Since(t0)
				cpu[i] = threadCPU() - c0
				cand += st.Candidates
				candMax = max(candMax, st.Candidates)
				if st.Capped {
					capped++
					cappedQ = append(cappedQ, q)
					exact = min(exact, st.ExactRadius)
				}
			}
			// What the capped queries missed: the same search uncapped,
			// minus what they found; on at most maxMissed of them (an
			// uncapped whole-card query verifies millions), scaled up
			// and printed with "~".
			const maxMissed = 200
			missed, sampled := 0, cappedQ
			if len(cappedQ) > maxMissed {
				sampled = nil
				for i := range maxMissed {
					sampled = append(sampled, cappedQ[i*len(cappedQ)/maxMissed])
				}
			}
			for _, q := range sampled {
				x.cfg.MaxCandidates = cfg.MaxCandidates
				n0 := 0
				x.Search(q, r, func(uint64, uint32, int) bool { n0++; return true })
				x.cfg.MaxCandidates = math.MaxInt
				x.Search(q, r, func(uint64, uint32, int) bool { missed++; return true })
				missed -= n0
			}
			x.cfg.MaxCandidates = cfg.MaxCandidates
			missedS := strconv.Itoa(missed)
			if len(sampled) < len(cappedQ) {
				missed = missed * len(cappedQ) / len(sampled)
				missedS = "~" + strconv.Itoa(missed)
			}
			missPct := 0.0
			if missed > 0 {
				missPct = 100 * float64(missed) / float64(hits+missed)
			}
			slices.Sort(lat)
			slices.Sort(cpu)
			var sum time.Duration
			for _, l := range lat {
				sum += l
			}
			mean := sum / nq
			var cpuSum time.Duration
			for _, c := range cpu {
				cpuSum += c
			}
			cpuMean := cpuSum / nq
			us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
			fmt.Printf("%-6d %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %11d %11d %9.1f %7d %6d %9s %6.2f %6.1fx %6.1fx\n", r, us(mean), us(lat[nq/2]),
				us(lat[nq*99/100]), us(lat[nq-1]), us(cpu[nq/2]), us(cpu[nq*99/100]), cand/nq, candMax, float64(hits)/nq, capped, exact, missedS, missPct, float64(bruteMean)/float64(mean), float64(bruteCPU)/float64(cpuMean))
		}
		// Correctness on a sample, against the scan.
		for _, q := range queries[:5] {
			want := brute(codes, ids, q, 10)
			got, st := search(x, q, 10)
			if !st.Capped && !slices.Equal(got, want) {
				t.Errorf("%s q=%x: %d results, scan %d", ds.name, q, len(got), len(want))
			}
		}
		_ = found
		codes, ids, x = nil, nil, nil
		runtime.GC()
	}
}

// hugePages is the process's anonymous memory in transparent huge pages
// (Linux), which the index asks for on its large arrays.
func hugePages() string {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return "huge pages unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "AnonHugePages:" {
			return "huge pages " + f[1] + " kB"
		}
	}
	return "huge pages unknown"
}

// reportRadii: 4, 6, 8, 10, 12, or those in WASPADA_MIH_RADII (comma-separated).
func reportRadii() []int {
	env := os.Getenv("WASPADA_MIH_RADII")
	if env == "" {
		return []int{4, 6, 8, 10, 12}
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		if r, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// reportSet is one of TestReport's datasets.
type reportSet struct {
	name   string
	codes  func(r *rand.Rand, n int) []uint64  // stored codes; also new queries
	near   func(r *rand.Rand, c uint64) uint64 // a near-duplicate of a stored code
	model  *bitModel                           // for sets drawn from real pHashes
	sample []uint64                            // the real pHashes
}

// reportSets are TestReport's datasets, all or those named in
// WASPADA_MIH_SETS (comma-separated):
//
//   - random: uniform 64-bit codes;
//   - clustered: clusteredCodes, an invented model of clustered pHashes;
//   - portrait, card: the per-bit frequencies of the 400 real portrait
//     and whole-card pHashes in testdata/ktp_phash.txt, with their fixed
//     popcount of 32 (bitModel).
//
// Near-duplicate queries differ from a stored code in 0-6 bits (random,
// clustered) or 0-3 swapped bit pairs (portrait, card: pHash's popcount is
// fixed, so its distances are even).
func reportSets(tb testing.TB) []reportSet {
	all := []reportSet{
		{name: "random", codes: randomCodes,
			near: func(r *rand.Rand, c uint64) uint64 { return c ^ flip(r, r.IntN(7)) }},
		{name: "clustered", codes: func(r *rand.Rand, n int) []uint64 { return clusteredCodes(r, n, 1000) },
			near: func(r *rand.Rand, c uint64) uint64 { return c ^ flip(r, r.IntN(7)) }},
	}
	for _, kind := range []string{"portrait", "card"} {
		sample := loadPHashes(tb, kind)
		m := newBitModel(sample)
		all = append(all, reportSet{name: kind, codes: m.codes, model: m, sample: sample,
			near: func(r *rand.Rand, c uint64) uint64 { return m.near(r, c, r.IntN(4)) }})
	}
	env := os.Getenv("WASPADA_MIH_SETS")
	if env == "" {
		return all
	}
	var out []reportSet
	for _, name := range strings.Split(env, ",") {
		i := slices.IndexFunc(all, func(s reportSet) bool { return s.name == strings.TrimSpace(name) })
		if i < 0 {
			tb.Fatalf("WASPADA_MIH_SETS: unknown set %q", name)
		}
		out = append(out, all[i])
	}
	return out
}

func percents(f []float64) string {
	var b strings.Builder
	for i, x := range f {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.3g%%", 100*x)
	}
	return b.String()
}

// BenchmarkSearch: 1M random codes, radius 8 (the full table: TestReport).
func BenchmarkSearch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	codes := randomCodes(rng, 1<<20)
	ids := make([]uint32, len(codes))
	x := Build(DefaultConfig(), codes, ids)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.Search(codes[i&(len(codes)-1)]^0xF0F, 8, func(uint64, uint32, int) bool { return true })
	}
}

// BenchmarkInsert measures amortised dynamic inserts (segment builds and merges included).
func BenchmarkInsert(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := New(DefaultConfig())
	for i := 0; b.Loop(); i++ {
		x.Insert(rng.Uint64(), uint32(i))
	}
}
