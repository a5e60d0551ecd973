package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/waspada/waspada/pipeline/sim"
)

// The table has a row for every planted pattern and the two sums, each
// with numbers that parse and add up; --json carries the same report.
func TestEvaluateCommand(t *testing.T) {
	args := []string{"--events", "30000", "--rate", "1", "--seed", "3"}
	var out, errOut bytes.Buffer
	if code := runEvaluate(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		// population (one or more words), fraud, registrations, flagged,
		// rate, then the signal kinds if any were flagged.
		i := slices.IndexFunc(f, func(s string) bool { return s == "true" || s == "false" })
		if i > 0 && len(f) >= i+4 {
			rows[strings.Join(f[:i], " ")] = f[i:]
		}
	}
	want := append(slices.Clone(sim.BotKinds), sim.KindDuplicateNIK, sim.KindSamePersonOtherNIK,
		sim.KindInvalidNIK, sim.KindReusedEmail, "organic", sim.KindAssisted, sim.KindRetryStorm,
		"all bot patterns", "all organic")
	for _, p := range want {
		f, ok := rows[p]
		if !ok {
			t.Errorf("no row for %s in\n%s", p, out.String())
			continue
		}
		regs, err1 := strconv.Atoi(f[1])
		flagged, err2 := strconv.Atoi(f[2])
		rate, err3 := strconv.ParseFloat(f[3], 64)
		if err1 != nil || err2 != nil || err3 != nil || flagged > regs || rate < 0 || rate > 1 {
			t.Errorf("row %s: %v", p, f)
		}
	}
	if len(rows) < len(want) {
		t.Errorf("%d rows %v, want %d:\n%s", len(rows), slices.Collect(maps.Keys(rows)), len(want), out.String())
	}
	if !strings.Contains(out.String(), "detection rate (all bot patterns) ") {
		t.Errorf("no summary line:\n%s", out.String())
	}

	out.Reset()
	if code := runEvaluate(context.Background(), append(args, "--json"), &out, &errOut); code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut.String())
	}
	var doc evaluateOutput
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	r := doc.Report
	if doc.Wave.Events != 30000 || r.Events != 30000 || len(r.Rows) < len(want)-2 {
		t.Errorf("--json: wave %+v, %d events, %d rows", doc.Wave, r.Events, len(r.Rows))
	}
	if r.Bots.Registrations == 0 || r.Organic.Registrations == 0 {
		t.Errorf("--json: bots %+v organic %+v", r.Bots, r.Organic)
	}
	if f := rows["all bot patterns"]; f != nil && f[1] != strconv.Itoa(r.Bots.Registrations) {
		t.Errorf("table and --json disagree on bot registrations: %v vs %d", f, r.Bots.Registrations)
	}
	// --registrations finds a wave with at least that many (and at most 1% more).
	out.Reset()
	if code := runEvaluate(context.Background(), []string{"--registrations", "3000", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("--registrations: exit %d: %s", code, errOut.String())
	}
	doc = evaluateOutput{}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || doc.Report.Registrations < 3000 || doc.Report.Registrations > 3030 {
		t.Errorf("--registrations 3000: %d registrations (%v)", doc.Report.Registrations, err)
	}
	// Invalid flags are a usage error, not a crash.
	if code := runEvaluate(context.Background(), []string{"--rate", "-1"}, &out, &errOut); code != 2 {
		t.Errorf("--rate -1: exit %d, want 2", code)
	}
}
