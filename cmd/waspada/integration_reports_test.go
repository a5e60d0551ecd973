//go:build integration

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline"
	"github.com/waspada/waspada/pipeline/intake"
)

// The issue's end-to-end test against the real services: a registration is
// produced with kcat; the address owner's DKIM-signed reply (keys made
// here, DNS from a zone file given to `waspada run`) is POSTed to the
// running pipeline's HTTP intake and accepted (202); the score in
// risk_scores_latest rises with email.reported_misuse, the registration
// sharing its device gets email.linked_to_reported, misuse_reports has the
// row, and the address-released topic (read with kcat) says the address is
// free. A replay of the same reply is rejected, also after a restart
// (single use rebuilt from the stored report event), and `waspada score`
// over the stored events gives the same scores as ClickHouse.
func TestIntegrationReportMisuse(t *testing.T) {
	kafka, ch := service(t, "WASPADA_TEST_KAFKA"), service(t, "WASPADA_TEST_CLICKHOUSE")
	n := newNames(t)
	dir := t.TempDir()
	const owner = "siti.aminah@provider.example"
	released := "it." + n.suffix + ".address-released"

	// The owner's mail provider: a DKIM key published in a zone file.
	_, dkimKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	zone := filepath.Join(dir, "dns.zone")
	writeFile(t, zone, fmt.Sprintf("; the owner's provider\nsel._domainkey.provider.example. 3600 IN TXT \"v=DKIM1; k=ed25519; p=%s\"\n",
		base64.StdEncoding.EncodeToString(dkimKey.Public().(ed25519.PublicKey))))
	// Waspada's not-me token secret.
	secretFile := filepath.Join(dir, "notme-k1.key")
	secret := "integration-notme-secret-0123456789"
	writeFile(t, secretFile, secret+"\n")

	args := []string{"--reports-secrets", "k1=" + secretFile, "--reports-dns-zone", zone,
		"--reports-domain", "reports.example", "--address-released-topic", released}
	d := startRun(t, n, kafka, ch, args...)
	st := openStore(t, ch, n.db)
	if !strings.Contains(d.output(), "misuse reports: POST http://") {
		t.Fatalf("intake not mounted:\n%s", d.output())
	}
	base := httpBase(t, d)

	regs := filepath.Join(dir, "registrations.jsonl")
	writeFile(t, regs, strings.Join([]string{
		`{"event_id":"E1","type":"registration.submitted","occurred_at":"2026-04-11T08:00:00Z","registration_id":"R1","nik":"3201010101900001","full_name":"JOKO","birth_date":"1990-01-01","email":"Siti.Aminah@provider.example","device_id":"DX","ip":"36.80.1.1"}`,
		`{"event_id":"E2","type":"registration.submitted","occurred_at":"2026-04-11T08:01:00Z","registration_id":"R2","nik":"3201010101900002","full_name":"BUDI","birth_date":"1991-02-02","email":"budi@else.example","device_id":"DX"}`,
		`{"event_id":"E3","type":"registration.submitted","occurred_at":"2026-04-11T08:02:00Z","registration_id":"R3","nik":"3201010101900003","full_name":"ANI","birth_date":"1992-03-03","email":"ani@third.example","device_id":"DY"}`,
	}, "\n")+"\n")
	produceKeyed(t, kafka, n.in, regs)
	latest := "SELECT count() FROM " + n.db + ".risk_scores_latest"
	waitFor(t, 60*time.Second, "the three registrations scored", func() bool { return countOrZero(st, latest) == 3 })
	// The intake checks a reply against the stored registration, and a
	// batch writes its registrations rows last (after the scores: they mark
	// the batch done), so scores alone do not mean R1 can be looked up yet.
	waitFor(t, 30*time.Second, "the three registrations stored", func() bool {
		return countOrZero(st, "SELECT count() FROM "+n.db+".registrations") == 3
	})
	scoreOf := func(id string) int {
		return queryInt(t, st, "SELECT score FROM "+n.db+".risk_scores_latest WHERE registration_id = '"+id+"'")
	}
	before := scoreOf("R1")

	// The owner replies to report+TOKEN@reports.example from their own
	// mailbox; the provider signs it.
	keys := report.Keyring{Current: "k1", Keys: map[string][]byte{"k1": []byte(secret)}}
	tok, err := keys.Issue(report.PurposeNotMe, owner, "R1", time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	reply := signedReply(t, dkimKey, owner, "report+"+tok+"@reports.example")
	code, resp := postReply(t, base, reply)
	if code != http.StatusAccepted || resp.Status != "accepted" || resp.ReportID == "" {
		t.Fatalf("reply answered %d %+v (verdict %+v)\n%s", code, resp, resp.Verdict, d.output())
	}
	t.Logf("accepted report %s", resp.ReportID)

	hasKind := func(id, kind string) bool {
		return countOrZero(st, "SELECT count() FROM "+n.db+".risk_scores_latest WHERE registration_id = '"+id+"' AND has(reason_kinds, '"+kind+"')") == 1
	}
	waitFor(t, 60*time.Second, "R1's new score with email.reported_misuse", func() bool { return hasKind("R1", "email.reported_misuse") })
	after := scoreOf("R1")
	if after <= before {
		t.Errorf("R1 score %d -> %d, want a rise", before, after)
	}
	t.Logf("R1 score %d -> %d", before, after)
	waitFor(t, 30*time.Second, "R2 re-scored with email.linked_to_reported", func() bool { return hasKind("R2", "email.linked_to_reported") })
	if hasKind("R3", "email.linked_to_reported") {
		t.Error("R3 (another device) linked to the report")
	}
	if v := queryInt(t, st, "SELECT max(score_version) FROM "+n.db+".risk_scores WHERE registration_id = 'R1'"); v < 2 {
		t.Errorf("R1 score_version %d, want a new version", v)
	}
	rows := query(t, st, "SELECT report_id, registration_id, address, channel, signer FROM "+n.db+".misuse_reports FINAL")
	if len(rows) != 1 || rows[0][0] != resp.ReportID || rows[0][1] != "R1" || rows[0][2] != owner || rows[0][3] != "email" || rows[0][4] != "provider.example" {
		t.Errorf("misuse_reports %v", rows)
	}
	if c := queryInt(t, st, "SELECT count() FROM "+n.db+".registrations FINAL WHERE type = 'email.misuse_reported' AND event_id = '"+resp.ReportID+"'"); c != 1 {
		t.Errorf("report event stored %d times in registrations", c)
	}
	if c := queryInt(t, st, "SELECT count() FROM "+n.db+".signals FINAL WHERE registration_id = 'R1' AND kind = 'reported_misuse' AND evidence LIKE '%"+resp.ReportID+"%'"); c != 1 {
		t.Errorf("signals: %d reported_misuse rows naming the report", c)
	}

	// The platform's view: the address is free, key = canonical address.
	out := kcat(t, "-b", kafka, "-C", "-t", released, "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n")
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 {
		t.Fatalf("address-released topic:\n%s", out)
	}
	key, val, _ := strings.Cut(lines[0], "\t")
	var rel pipeline.AddressReleased
	if err := json.Unmarshal([]byte(val), &rel); err != nil {
		t.Fatal(err)
	}
	if key != owner || rel.Address != owner || rel.ReportID != resp.ReportID || rel.RegistrationID != "R1" || rel.Schema != pipeline.AddressReleasedSchema {
		t.Errorf("address-released %q %+v", key, rel)
	}
	t.Logf("address-released: %s", lines[0])

	// A replay of the same reply is rejected.
	if code, resp := postReply(t, base, reply); code != http.StatusUnprocessableEntity || !hasClass(resp, report.Replay) {
		t.Errorf("replay answered %d %+v", code, resp)
	}

	// Restart: single use survives (rebuilt from the stored report event).
	stop(t, d)
	d2 := startRun(t, n, kafka, ch, args...)
	if !strings.Contains(d2.output(), "1 earlier reports marked used") {
		t.Errorf("restarted pipeline did not mark the stored report used:\n%s", d2.output())
	}
	if code, resp := postReply(t, httpBase(t, d2), reply); code != http.StatusUnprocessableEntity || !hasClass(resp, report.Replay) {
		t.Errorf("replay after restart answered %d %+v", code, resp)
	}

	// Deterministic: `waspada score` over the stored events (the report
	// event included) gives the scores ClickHouse has.
	var events bytes.Buffer
	for _, r := range query(t, st, "SELECT event FROM "+n.db+".registrations FINAL ORDER BY occurred_at, occurred_at_ns, event_id") {
		events.WriteString(r[0] + "\n")
	}
	stored := filepath.Join(dir, "stored.jsonl")
	writeFile(t, stored, events.String())
	want := latestFromScoreFile(t, stored)
	for _, r := range query(t, st, "SELECT registration_id, score, toString(band), reasons FROM "+n.db+".risk_scores_latest") {
		if got := r[1] + " " + r[2] + " " + reasonKinds(t, r[3]); got != want[r[0]] {
			t.Errorf("%s: ClickHouse %q, waspada score %q", r[0], got, want[r[0]])
		}
	}
	stop(t, d2)
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

var httpLine = regexp.MustCompile(`HTTP on (http://[^ ]+) `)

func httpBase(t *testing.T, d *daemon) string {
	t.Helper()
	m := httpLine.FindStringSubmatch(d.output())
	if m == nil {
		t.Fatalf("no HTTP address in the output:\n%s", d.output())
	}
	return m[1]
}

func signedReply(t *testing.T, key ed25519.PrivateKey, from, to string) []byte {
	t.Helper()
	raw := "From: Siti Aminah <" + from + ">\r\nTo: <" + to + ">\r\nSubject: Re: Verifikasi email Prakerja\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@provider.example>\r\n" +
		"\r\nBukan saya yang mendaftar.\r\n"
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(raw), &dkim.SignOptions{Domain: "provider.example", Selector: "sel", Signer: key,
		HeaderKeys: []string{"From", "To", "Date", "Message-ID", "Subject"}}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func postReply(t *testing.T, base string, msg []byte) (int, intake.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/reports/email", bytes.NewReader(msg))
	req.Header.Set("Content-Type", "message/rfc822")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r intake.Response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("answer %d is not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, r
}

func hasClass(r intake.Response, c report.Class) bool {
	if r.Verdict == nil {
		return false
	}
	for _, x := range r.Verdict.Classes() {
		if x == c {
			return true
		}
	}
	return false
}
