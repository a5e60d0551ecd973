package identity

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/waspada/waspada/detectors"
	"github.com/waspada/waspada/pipeline/event"
)

var update = flag.Bool("update", false, "rewrite testdata/streams/*.golden.json")

// TestStreamGolden decodes a hand-written stream with the strict event
// decoder and compares every Observe result with a golden file an analyst
// can read. Regenerate with: go test ./detectors/identity -run StreamGolden -update
func TestStreamGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/streams/*.jsonl")
	if len(files) == 0 {
		t.Fatal("no streams")
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			type step struct {
				EventID string             `json:"event_id"`
				Signals []detectors.Signal `json:"signals"`
			}
			var steps []step
			d := New(DefaultConfig())
			sc := bufio.NewScanner(bytes.NewReader(raw))
			for sc.Scan() {
				ev, err := event.Decode(sc.Bytes())
				if err != nil {
					t.Fatalf("decode %s: %v", sc.Text(), err)
				}
				if sigs := d.Observe(ev); len(sigs) > 0 {
					steps = append(steps, step{ev.EventID, sigs})
				}
			}
			got, _ := json.MarshalIndent(steps, "", "  ")
			got = append(got, '\n')
			golden := in[:len(in)-len(".jsonl")] + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file; got:\n%s", in, got)
			}
		})
	}
}
