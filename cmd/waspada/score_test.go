package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
	"github.com/waspada/waspada/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The score output is a contract people read: keep it in a golden file.
//
//	go test ./cmd/waspada -run ScoreGolden -update
func TestScoreGolden(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runScore(context.Background(), []string{"-q", "-i", "testdata/integration_registrations.jsonl"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	golden := filepath.Join("testdata", "integration_registrations.scores.golden")
	if *update {
		os.WriteFile(golden, out.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("score output differs from %s (run with -update if intended):\n%s", golden, out.String())
	}
	// Dead letters go to stderr with their reasons.
	if !strings.Contains(errOut.String(), `"reason":"bad_json"`) || !strings.Contains(errOut.String(), `"reason":"missing_field"`) {
		t.Errorf("dead letters on stderr: %s", errOut.String())
	}
}

// Batch boundaries must not change any registration's final score: score
// a simulated wave one event at a time and in batches of 5000.
func TestScoreFinalIndependentOfBatching(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	f, _ := os.Create(events)
	cfg := sim.DefaultConfig()
	cfg.Events = 4000
	w := bufio.NewWriter(f)
	if err := sim.Generate(cfg, func(ev *event.Event, _ sim.Label) error {
		b, err := sim.Encode(ev)
		w.Write(append(b, '\n'))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	f.Close()
	final := func(batch string) map[string]string {
		var out, errOut bytes.Buffer
		if code := runScore(context.Background(), []string{"-q", "-i", events, "--batch-events", batch}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		m := map[string]string{}
		for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
			var s rules.Score
			if err := json.Unmarshal(line, &s); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(struct {
				Score   int
				Reasons []rules.Reason
			}{s.Score, s.Reasons})
			m[s.RegistrationID] = string(b)
		}
		return m
	}
	one, many := final("1"), final("5000")
	if len(one) != len(many) {
		t.Fatalf("%d vs %d registrations", len(one), len(many))
	}
	flagged := 0
	for id, s := range one {
		if many[id] != s {
			t.Errorf("%s: batch 1 %s, batch 5000 %s", id, s, many[id])
		}
		if !strings.Contains(s, `"Reasons":[]`) {
			flagged++
		}
	}
	if flagged == 0 {
		t.Fatal("nothing flagged: the comparison proves nothing")
	}
}
