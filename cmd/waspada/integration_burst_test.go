//go:build integration

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/pipeline/chstore"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

// A simulated wave with a /24 bot farm through `waspada run`: every burst
// window the offline scorer finds is one burst_episodes row (filled by the
// materialized view as the signals are written) with its members, the
// per-minute region view equals the counts taken from the file, the
// burst detector's state is on /metrics, and producing the whole stream a
// second time (replays) changes neither table.
func TestIntegrationBurstEpisodes(t *testing.T) {
	kafka, ch := service(t, "WASPADA_TEST_KAFKA"), service(t, "WASPADA_TEST_CLICKHOUSE")
	n := newNames(t)
	dir := t.TempDir()
	events, labels := filepath.Join(dir, "events.jsonl"), filepath.Join(dir, "labels.jsonl")
	// A thin wave (1 registration/s) lasts about 45 minutes: past the
	// detector's 10-minute warm-up, with 1-minute windows closing behind
	// the stream while the pipeline runs (it never flushes).
	run(t, "simulate", "--events", "50000", "--rate", "1", "--bots-slash24", "0.04", "--seed", "1",
		"-o", events, "--labels", labels)
	want := burstWindowsFromScore(t, events)
	if len(want) == 0 {
		t.Fatal("the offline scorer finds no burst window in the test wave: make it longer")
	}
	lines, regions := regionMinutesFromFile(t, events)
	farm := plantedSlash24s(t, events, labels)

	// One partition, so that the windows judged by the end of the stream
	// are exactly the scorer's. Over several partitions the windows wait
	// for the slowest partition (pipeline.WatermarkHolder; tested with a
	// skewed consumer in pipeline/clock_test.go), so the last few windows
	// may still be open when the stream ends.
	d := startRun(t, n, kafka, ch, "--partitions", "1")
	st := openStore(t, ch, n.db)
	metricsURL := "http://" + regexp.MustCompile(`HTTP on http://(\S+)`).FindStringSubmatch(d.output())[1] + "/metrics"
	produceKeyed(t, kafka, n.in, events)
	waitFor(t, 180*time.Second, "the wave in ClickHouse", func() bool {
		return countOrZero(st, "SELECT uniqExact(event_id) FROM "+n.db+".registrations") == lines &&
			scrape(t, metricsURL)["waspada_events_total"] >= float64(lines)
	})
	time.Sleep(time.Second) // the last batch's rows
	if dl := queryInt(t, st, "SELECT count() FROM "+n.db+".dead_letters"); dl != 0 {
		t.Fatalf("%d dead letters from a simulated wave", dl)
	}

	episodes := checkEpisodes(t, st, n.db, want, farm)
	checkRegionView(t, st, n.db, regions)

	// The burst detector's state in the running pipeline's metrics.
	m := scrape(t, metricsURL)
	t.Logf("burst detector: %v keys, %v windows closed, %v bursts, %v late submissions",
		m["waspada_burst_keys"], m["waspada_burst_windows_closed_total"], m["waspada_burst_bursts_total"], m["waspada_burst_late_total"])
	for _, name := range []string{"waspada_burst_keys", "waspada_burst_evicted_cap_total", "waspada_burst_late_total"} {
		if _, ok := m[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if m["waspada_burst_keys"] == 0 || m["waspada_burst_bursts_total"] < float64(len(want)) {
		t.Errorf("burst metrics: keys %v, bursts %v (want >= %d)", m["waspada_burst_keys"], m["waspada_burst_bursts_total"], len(want))
	}

	// Replays: the same stream again. Nothing new, nothing visibly doubled.
	produceKeyed(t, kafka, n.in, events)
	waitFor(t, 180*time.Second, "the replayed stream to be processed", func() bool {
		return scrape(t, metricsURL)["waspada_events_total"] >= float64(2*lines)
	})
	time.Sleep(time.Second) // the last batch's rows
	if again := checkEpisodes(t, st, n.db, want, farm); !slices.Equal(again, episodes) {
		t.Errorf("burst_episodes changed after replays:\n%v\n%v", episodes, again)
	}
	checkRegionView(t, st, n.db, regions)
	stop(t, d)
}

// burstWindowsFromScore gives the burst windows `waspada score -flush=false`
// (what a running pipeline has judged by the end of the stream) reports,
// as their signal keys "<class>:<key>@<start>/<length>".
func burstWindowsFromScore(t *testing.T, events string) []string {
	t.Helper()
	out := run(t, "score", "-q", "-flush=false", "-i", events)
	set := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var s struct {
			Reasons []struct{ Detector, Kind, Key string }
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		for _, r := range s.Reasons {
			if r.Detector == "burst" && strings.HasSuffix(r.Kind, "_burst") {
				set[r.Kind+" "+r.Key] = true
			}
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	})
}

type regionMinute struct{ submissions, registrations, niks map[string]bool }

// regionMinutesFromFile counts the submissions per region and minute the
// way registrations_by_region_minute should, from the events file.
func regionMinutesFromFile(t *testing.T, events string) (int, map[string]*regionMinute) {
	t.Helper()
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*regionMinute{}
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines++
		var ev event.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != event.Submitted {
			continue
		}
		k := ev.RegionCode + " " + ev.OccurredAt.UTC().Truncate(time.Minute).Format(time.DateTime)
		r := out[k]
		if r == nil {
			r = &regionMinute{map[string]bool{}, map[string]bool{}, map[string]bool{}}
			out[k] = r
		}
		r.submissions[ev.EventID] = true
		r.registrations[ev.RegistrationID] = true
		r.niks[ev.NIK] = true
	}
	return lines, out
}

// plantedSlash24s gives the /24s of the planted /24 farms, from the labels.
func plantedSlash24s(t *testing.T, events, labels string) map[string]bool {
	t.Helper()
	lb, err := os.ReadFile(labels)
	if err != nil {
		t.Fatal(err)
	}
	bots := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(lb), []byte("\n")) {
		var l sim.Label
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(l.Kinds, sim.KindBotSlash24) {
			bots[l.EventID] = true
		}
	}
	eb, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(eb), []byte("\n")) {
		var ev event.Event
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		if i := strings.LastIndexByte(ev.IP, '.'); bots[ev.EventID] && ev.Type == event.Submitted && i > 0 {
			out[ev.IP[:i]] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("no /24 farm planted in the test wave")
	}
	return out
}

// checkEpisodes compares burst_episodes with the offline scorer's windows
// and with the signals table, and returns the rows for comparison.
func checkEpisodes(t *testing.T, st *chstore.Store, db string, want []string, farm map[string]bool) []string {
	t.Helper()
	_, rows, err := st.Query(context.Background(), `SELECT kind, key_class, key, toString(window_start), window_seconds,
    toString(window_end), submissions, distinct_identities, members_total, length(members), arrayStringConcat(members, ','),
    first_written <= last_written, baseline, p_value
FROM `+db+`.burst_episodes ORDER BY kind, key_class, key, window_start, window_seconds`)
	if err != nil {
		t.Fatal(err)
	}
	var got, all []string
	ip24 := 0
	for _, r := range rows {
		start, err := time.ParseInLocation(time.DateTime, r[3], time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		secs, _ := strconv.Atoi(r[4])
		size := time.Duration(secs) * time.Second
		key := r[0] + " " + r[1] + ":" + r[2] + "@" + start.Format(time.RFC3339) + "/" + size.String()
		got = append(got, key)
		all = append(all, strings.Join(r, " "))
		if end, _ := time.ParseInLocation(time.DateTime, r[5], time.UTC); !end.Equal(start.Add(size)) {
			t.Errorf("%s: window_end %s", key, r[5])
		}
		total, _ := strconv.Atoi(r[8])
		listed, _ := strconv.Atoi(r[9])
		if total < 5 || listed != min(total, 50) || r[11] != "1" || r[12] == "0" {
			t.Errorf("%s: row %v", key, r)
		}
		if r[1] == "ip24" && farm[r[2]] {
			ip24++
		}
		// The members are the registrations carrying the window's signal.
		sigKey := strings.ReplaceAll(strings.SplitN(key, " ", 2)[1], "'", "\\'")
		if c := queryInt(t, st, "SELECT uniqExact(registration_id) FROM "+db+".signals WHERE detector = 'burst' AND key = '"+sigKey+"'"); c != total {
			t.Errorf("%s: members_total %d, %d registrations signalled", key, total, c)
		}
		members := "'" + strings.ReplaceAll(r[10], ",", "','") + "'"
		if c := queryInt(t, st, "SELECT uniqExact(registration_id) FROM "+db+".signals WHERE detector = 'burst' AND key = '"+sigKey+
			"' AND registration_id IN ("+members+")"); c != listed {
			t.Errorf("%s: %d of the %d members listed carry the window's signal", key, c, listed)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("burst_episodes windows differ from waspada score's:\nClickHouse %v\nscore      %v", got, want)
	}
	if ip24 == 0 {
		t.Errorf("no ip24 episode for the planted /24s %v", farm)
	}
	return all
}

func checkRegionView(t *testing.T, st *chstore.Store, db string, want map[string]*regionMinute) {
	t.Helper()
	_, rows, err := st.Query(context.Background(), "SELECT region_code, toString(minute), submissions, registrations, distinct_niks FROM "+
		db+".registrations_by_region_minute")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Errorf("registrations_by_region_minute has %d rows, the file %d region-minutes", len(rows), len(want))
	}
	bad := 0
	for _, r := range rows {
		w := want[r[0]+" "+r[1]]
		if w == nil || r[2] != strconv.Itoa(len(w.submissions)) || r[3] != strconv.Itoa(len(w.registrations)) || r[4] != strconv.Itoa(len(w.niks)) {
			if bad < 5 {
				t.Errorf("region view row %v, from the file %+v", r, w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d region-minute rows differ", bad, len(rows))
	}
}

// scrape reads a Prometheus text exposition and sums each metric's series.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j]
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[name] += v
		}
	}
	return out
}
