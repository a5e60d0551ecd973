package photocli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waspada/waspada/detectors/photo/internal/synth"
)

func writeDir(t *testing.T) string {
	dir := t.TempDir()
	a, b := synth.Photo(600, 400, 1), synth.Photo(600, 400, 2)
	files := map[string][]byte{
		"a.jpg":          synth.JPEG(a, 90),
		"a-copy.jpg":     synth.JPEG(a, 90),
		"sub/a-q40.jpg":  synth.JPEG(a, 40),
		"sub/a-half.png": synth.PNG(synth.Resize(a, 300, 200)),
		"b.jpg":          synth.JPEG(b, 90),
		"c.jpg":          synth.JPEG(synth.Photo(600, 400, 3), 90),
		"broken.jpg":     synth.JPEG(b, 90)[:2000],
		"notes.txt":      []byte("not an image"),
		".hidden/x.jpg":  synth.JPEG(a, 90),
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDedupeJSON(t *testing.T) {
	dir := writeDir(t)
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"dedupe", dir, "--json"}, &out, &errb)
	if code != 1 { // unreadable files present
		t.Errorf("exit %d, stderr %s", code, errb.String())
	}
	var res DedupeResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(res.Groups) != 1 {
		t.Fatalf("groups %+v", res.Groups)
	}
	g := res.Groups[0]
	var names []string
	for _, f := range g.Files {
		rel, _ := filepath.Rel(dir, f)
		names = append(names, rel)
	}
	if strings.Join(names, ",") != "a-copy.jpg,a.jpg,sub/a-half.png,sub/a-q40.jpg" {
		t.Errorf("group files %v", names)
	}
	if len(g.Pairs) != 6 || !g.Pairs[0].Exact {
		t.Errorf("pairs %+v", g.Pairs)
	}
	reasons := map[string]string{}
	for _, u := range res.Unreadable {
		reasons[filepath.Base(u.File)] = u.Reason
	}
	if reasons["broken.jpg"] != "truncated" || reasons["notes.txt"] != "unknown_format" || len(reasons) != 2 {
		t.Errorf("unreadable %v", res.Unreadable)
	}
}

func TestHashAndUsage(t *testing.T) {
	dir := writeDir(t)
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"hash", filepath.Join(dir, "a.jpg"), filepath.Join(dir, "a-copy.jpg")}, &out, &errb)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d, out %q, err %q", code, out.String(), errb.String())
	}
	f0, f1 := strings.Split(lines[0], "\t"), strings.Split(lines[1], "\t")
	if f0[1] != f1[1] || !strings.HasPrefix(f0[2], "phash=") || len(f0[2]) != len("phash=")+16 {
		t.Errorf("lines %q", lines)
	}
	for _, args := range [][]string{nil, {"nope"}, {"hash"}, {"dedupe"}, {"dedupe", dir, "-phash", "99"}} {
		out.Reset()
		errb.Reset()
		if code := Run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	errb.Reset()
	if code := Run(context.Background(), []string{"dedupe", "-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "near-duplicates") {
		t.Errorf("-h: exit %d, %q", code, errb.String())
	}
}
