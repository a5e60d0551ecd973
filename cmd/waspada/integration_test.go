//go:build integration

// Integration tests against real services: Apache Kafka, Debian's
// ClickHouse server (18.16), chdb (a current ClickHouse engine) and kcat.
// .ci/test starts them and sets WASPADA_TEST_*; run with
//
//	bash .ci/test -run Integration ./cmd/waspada
//
// With CI=true a missing service fails the test instead of skipping it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waspada/waspada/pipeline/chstore"
	"github.com/waspada/waspada/rules"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "waspada-it-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "waspada")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building waspada: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// service returns a WASPADA_TEST_* value; in CI a missing one is a failure.
func service(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: the service is missing (run the tests with bash .ci/test)", name)
		}
		t.Skipf("%s not set; run with bash .ci/test", name)
	}
	return v
}

// names gives each test its own topics, group and database, so that runs
// against long-lived services do not see each other's data.
type names struct{ suffix, in, scores, dead, group, db string }

func newNames(t *testing.T) names {
	s := fmt.Sprintf("%s_%d", strings.ToLower(regexp.MustCompile(`\W`).ReplaceAllString(t.Name(), "")), time.Now().UnixNano()%1e9)
	return names{suffix: s, in: "it." + s + ".registrations", scores: "it." + s + ".risk-scores",
		dead: "it." + s + ".dead-letters", group: "it-" + s, db: "it_" + s}
}

type daemon struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	exited chan struct{}
}

func (d *daemon) output() string { d.mu.Lock(); defer d.mu.Unlock(); return d.out.String() }

type lockedWriter struct{ d *daemon }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	return w.d.out.Write(p)
}

func startRun(t *testing.T, n names, kafka, ch string, extra ...string) *daemon {
	t.Helper()
	args := append([]string{"run", "--brokers", kafka, "--clickhouse", ch, "--clickhouse-db", n.db,
		"--registrations-topic", n.in, "--scores-topic", n.scores, "--dead-letters-topic", n.dead,
		"--group", n.group, "--http", "127.0.0.1:0", "--batch-wait", "200ms"}, extra...)
	d := &daemon{cmd: exec.Command(binary, args...), exited: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = lockedWriter{d}, lockedWriter{d}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.exited
		if t.Failed() {
			t.Logf("waspada run output:\n%s", d.output())
		}
	})
	waitFor(t, 60*time.Second, "waspada run to start consuming", func() bool {
		select {
		case <-d.exited:
			t.Fatalf("waspada run exited early:\n%s", d.output())
		default:
		}
		return strings.Contains(d.output(), "consuming ")
	})
	return d
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func openStore(t *testing.T, addr, db string) *chstore.Store {
	t.Helper()
	cfg := chstore.DefaultConfig()
	cfg.Addr, cfg.Database = addr, db
	st, err := chstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			st.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		}
		st.Close()
	})
	return st
}

func query(t *testing.T, st *chstore.Store, sql string) [][]string {
	t.Helper()
	_, rows, err := st.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return rows
}

func queryInt(t *testing.T, st *chstore.Store, sql string) int {
	t.Helper()
	rows := query(t, st, sql)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("want one value from %s, got %v", sql, rows)
	}
	n, err := strconv.Atoi(rows[0][0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// countOrZero is queryInt that treats a missing table as zero (the daemon
// creates the schema at start-up, but tests poll from the beginning).
func countOrZero(st *chstore.Store, sql string) int {
	_, rows, err := st.Query(context.Background(), sql)
	if err != nil || len(rows) != 1 {
		return 0
	}
	n, _ := strconv.Atoi(rows[0][0])
	return n
}

func kcat(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(service(t, "WASPADA_TEST_KCAT"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// produceKeyed produces a JSON-lines file with kcat the way the
// registration platform does: each message keyed by its registration_id, so
// that one registration's submissions stay in one partition and in order
// (the identity detector's order guarantee rests on it; an unkeyed producer
// spreads them over partitions). Lines without a registration_id (the
// malformed ones) go with an empty key.
func produceKeyed(t *testing.T, kafka, topic, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var keyed bytes.Buffer
	for _, line := range bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n")) {
		var head struct {
			RegistrationID string `json:"registration_id"`
		}
		_ = json.Unmarshal(line, &head) // malformed lines keep an empty key
		keyed.WriteString(head.RegistrationID)
		keyed.WriteByte('\t')
		keyed.Write(line)
		keyed.WriteByte('\n')
	}
	out := filepath.Join(t.TempDir(), "keyed.tsv")
	if err := os.WriteFile(out, keyed.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	kcat(t, "-b", kafka, "-P", "-t", topic, "-K", "\t", "-l", out)
}

// readScoresTopic reads the whole risk-scores topic with kcat, as an
// independent client would.
func readScoresTopic(t *testing.T, kafka, topic string) map[string][]rules.Score {
	t.Helper()
	out := kcat(t, "-b", kafka, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n")
	scores := map[string][]rules.Score{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		var s rules.Score
		if err := json.Unmarshal([]byte(val), &s); err != nil {
			t.Fatalf("score message %q: %v", val, err)
		}
		if key != s.RegistrationID {
			t.Errorf("message key %q is not the registration id %q", key, s.RegistrationID)
		}
		scores[key] = append(scores[key], s)
	}
	return scores
}

func stop(t *testing.T, d *daemon) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("waspada run did not stop within 60 s of SIGTERM")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("waspada run exited %d after SIGTERM, want 0:\n%s", code, d.output())
	}
}

// (a) kcat produces a hand-written file with a duplicate-NIK pair and two
// malformed events into a running `waspada run`.
func TestIntegrationKcatToClickHouse(t *testing.T) {
	kafka, ch := service(t, "WASPADA_TEST_KAFKA"), service(t, "WASPADA_TEST_CLICKHOUSE")
	n := newNames(t)
	d := startRun(t, n, kafka, ch)
	st := openStore(t, ch, n.db)
	t.Logf("ClickHouse server %s", first(st.ServerVersion(context.Background())))

	produceKeyed(t, kafka, n.in, "testdata/integration_registrations.jsonl")
	const validRegistrations = 5 // R0001..R0005
	waitFor(t, 60*time.Second, "scores and dead letters in ClickHouse", func() bool {
		return countOrZero(st, "SELECT count() FROM "+n.db+".risk_scores_latest") == validRegistrations &&
			countOrZero(st, "SELECT count() FROM "+n.db+".dead_letters FINAL") == 2 &&
			countOrZero(st, "SELECT count() FROM "+n.db+".registrations FINAL") == 7
	})
	// Every valid registration exactly once in the latest view.
	if got := queryInt(t, st, "SELECT count() - uniqExact(registration_id) FROM "+n.db+".risk_scores_latest"); got != 0 {
		t.Errorf("latest view has %d duplicate rows", got)
	}
	rows := query(t, st, "SELECT registration_id, band, reasons FROM "+n.db+".risk_scores_latest WHERE registration_id IN ('R0001', 'R0004') ORDER BY registration_id")
	if len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	var dup []rules.Reason
	if err := json.Unmarshal([]byte(rows[1][2]), &dup); err != nil {
		t.Fatal(err)
	}
	if len(dup) == 0 || dup[0].Kind != "duplicate_nik" || rows[1][1] == "allow" {
		t.Fatalf("R0004 not flagged as a duplicate NIK: %v", rows[1])
	}
	if earlier := fmt.Sprint(dup[0].Evidence["earlier"]); !strings.Contains(earlier, "R0001") {
		t.Errorf("duplicate evidence does not name R0001: %v", dup[0].Evidence)
	}
	if !strings.Contains(rows[0][2], "nik_reused_later") {
		t.Errorf("the earlier registration R0001 did not get a new score version: %v", rows[0])
	}
	if v := queryInt(t, st, "SELECT max(score_version) FROM "+n.db+".risk_scores WHERE registration_id = 'R0001'"); v != 2 {
		t.Errorf("R0001 score_version %d, want 2", v)
	}
	dl := query(t, st, "SELECT reason, detail FROM "+n.db+".dead_letters FINAL ORDER BY reason")
	if len(dl) != 2 || dl[0][0] != "bad_json" || dl[1][0] != "missing_field" || dl[1][1] != "nik" {
		t.Errorf("dead letters %v", dl)
	}
	sig := queryInt(t, st, "SELECT count() FROM "+n.db+".signals FINAL WHERE kind = 'duplicate_nik' AND registration_id = 'R0004' AND evidence LIKE '%R0001%'")
	if sig != 1 {
		t.Errorf("signals table: %d duplicate_nik rows with evidence for R0004", sig)
	}

	// The risk-scores topic, read back with kcat: the last message per key is
	// the current score.
	topic := readScoresTopic(t, kafka, n.scores)
	if len(topic) != validRegistrations {
		t.Errorf("risk-scores topic has %d keys, want %d", len(topic), validRegistrations)
	}
	last := topic["R0004"][len(topic["R0004"])-1]
	if last.Band == rules.Allow || last.Reasons[0].Kind != "duplicate_nik" {
		t.Errorf("R0004 on the topic: %+v", last)
	}
	dead := kcat(t, "-b", kafka, "-C", "-t", n.dead, "-o", "beginning", "-e", "-q")
	if c := bytes.Count(dead, []byte(`"reason"`)); c != 2 {
		t.Errorf("dead-letters topic has %d messages, want 2:\n%s", c, dead)
	}
	stop(t, d)
}

// (b) kill -9 the pipeline in the middle of a stream, start it again, and
// show that nothing is missing and nothing is visibly duplicated: the
// final scores equal `waspada score` over the same file.
func TestIntegrationCrashAndReplay(t *testing.T) {
	kafka, ch := service(t, "WASPADA_TEST_KAFKA"), service(t, "WASPADA_TEST_CLICKHOUSE")
	n := newNames(t)
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	run(t, "simulate", "--events", "6000", "--seed", "7", "-o", events)
	want := latestFromScoreFile(t, events)

	d := startRun(t, n, kafka, ch, "--batch-events", "300")
	st := openStore(t, ch, n.db)
	produceKeyed(t, kafka, n.in, events)
	waitFor(t, 60*time.Second, "part of the stream to be written", func() bool {
		return countOrZero(st, "SELECT count() FROM "+n.db+".registrations") >= 900
	})
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
	written := queryInt(t, st, "SELECT count() FROM "+n.db+".registrations")
	t.Logf("killed with %d of 6000 events written", written)
	if written >= 6000 {
		t.Skip("the pipeline finished before the kill; nothing to replay") // cannot happen with 300-event batches, see log
	}

	d2 := startRun(t, n, kafka, ch, "--batch-events", "300")
	waitFor(t, 120*time.Second, "the replay to finish", func() bool {
		return countOrZero(st, "SELECT uniqExact(event_id) FROM "+n.db+".registrations") == 6000 &&
			countOrZero(st, "SELECT count() FROM "+n.db+".risk_scores_latest") == len(want)
	})
	time.Sleep(time.Second) // let the last batch's scores land
	if !strings.Contains(d2.output(), "rebuilt detector state from") {
		t.Errorf("the restarted pipeline did not rebuild its state:\n%s", d2.output())
	}
	// Nothing visibly duplicated.
	if got := queryInt(t, st, "SELECT count() - uniqExact(registration_id) FROM "+n.db+".risk_scores_latest"); got != 0 {
		t.Errorf("latest view has %d duplicate rows", got)
	}
	if got := queryInt(t, st, "SELECT count() FROM "+n.db+".registrations FINAL"); got != 6000 {
		t.Errorf("registrations FINAL has %d rows, want 6000", got)
	}
	// Nothing missing, and the same decisions as the offline scorer.
	rows := query(t, st, "SELECT registration_id, score, toString(band), reasons FROM "+n.db+".risk_scores_latest")
	got := map[string]string{}
	for _, r := range rows {
		got[r[0]] = r[1] + " " + r[2] + " " + reasonKinds(t, r[3])
	}
	mismatch := 0
	for id, w := range want {
		if got[id] != w {
			if mismatch < 5 {
				t.Errorf("%s: ClickHouse %q, waspada score %q", id, got[id], w)
			}
			mismatch++
		}
	}
	if mismatch > 0 || len(got) != len(want) {
		t.Fatalf("%d registrations differ; %d in ClickHouse, %d from waspada score", mismatch, len(got), len(want))
	}
	stop(t, d2)
}

// latestFromScoreFile runs `waspada score` and keeps each registration's
// last score as "score band kinds".
func latestFromScoreFile(t *testing.T, events string) map[string]string {
	t.Helper()
	out := run(t, "score", "-q", "-flush=false", "-i", events)
	latest := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var s rules.Score
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(s.Reasons)
		latest[s.RegistrationID] = strconv.Itoa(s.Score) + " " + string(s.Band) + " " + reasonKinds(t, string(b))
	}
	return latest
}

func reasonKinds(t *testing.T, reasons string) string {
	var rs []rules.Reason
	if err := json.Unmarshal([]byte(reasons), &rs); err != nil {
		t.Fatalf("reasons %q: %v", reasons, err)
	}
	var k []string
	for _, r := range rs {
		k = append(k, r.Detector+"."+r.Kind+"/"+r.Key)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

func run(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("waspada %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// (c) Every schema statement and shipped analyst query runs on a current
// ClickHouse engine (chdb), not only on 18.16.
func TestIntegrationSchemaOnCurrentClickHouse(t *testing.T) {
	python := service(t, "WASPADA_TEST_CHDB_PYTHON")
	check := service(t, "WASPADA_TEST_CHDB_CHECK")
	sql := run(t, "migrate", "--print-sql")
	cmd := exec.Command(python, check)
	cmd.Stdin = bytes.NewReader(sql)
	out, err := cmd.CombinedOutput()
	t.Logf("chdb:\n%s", out)
	if err != nil {
		t.Fatalf("chdb check failed: %v", err)
	}
	var parsed struct{ Statements, Queries []string }
	json.Unmarshal(sql, &parsed)
	if ok := bytes.Count(out, []byte("ok")); ok < len(parsed.Statements)+len(parsed.Queries) {
		t.Fatalf("chdb reported %d ok lines for %d statements and queries", ok, len(parsed.Statements)+len(parsed.Queries))
	}
}

// The same schema and queries on the wire-level server (18.16), through
// the migrate command: idempotent when run twice.
func TestIntegrationMigrateTwice(t *testing.T) {
	ch := service(t, "WASPADA_TEST_CLICKHOUSE")
	n := newNames(t)
	st := openStore(t, ch, n.db)
	out1 := string(run(t, "migrate", "--clickhouse", ch, "--clickhouse-db", n.db))
	out2 := string(run(t, "migrate", "--clickhouse", ch, "--clickhouse-db", n.db))
	var all []uint32
	for _, m := range chstore.Migrations(n.db) {
		all = append(all, m.Version)
	}
	if !strings.Contains(out1, fmt.Sprintf("applied migrations %v", all)) || !strings.Contains(out2, "up to date") {
		t.Fatalf("migrate output:\n%s\n%s", out1, out2)
	}
	for _, q := range chstore.Queries(n.db) {
		if _, _, err := st.Query(context.Background(), q.SQL); err != nil {
			t.Errorf("analyst query %s fails on the server: %v", q.Name, err)
		}
	}
}

func first[T any](v T, _ error) T { return v }

var _ = io.Discard
