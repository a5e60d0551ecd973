package intake

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"go.uber.org/goleak"

	"github.com/waspada/waspada/detectors/email/dnszone"
	"github.com/waspada/waspada/detectors/email/report"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const owner = "siti.aminah@provider.example"

// memSink is an in-memory Sink that can be told to fail.
type memSink struct {
	mu   sync.Mutex
	got  []report.Report
	fail error
}

func (s *memSink) sink(_ context.Context, r report.Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.got = append(s.got, r)
	return nil
}

func (s *memSink) reports() []report.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]report.Report(nil), s.got...)
}

// flakyDNS fails with a temporary error while down is set.
type flakyDNS struct {
	*dnszone.Zone
	mu   sync.Mutex
	down bool
}

func (f *flakyDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, &net.DNSError{Err: "timeout", Name: name, IsTimeout: true, IsTemporary: true}
	}
	return f.Zone.LookupTXT(ctx, name)
}

type env struct {
	in   *Intake
	keys report.Keyring
	key  ed25519.PrivateKey
	dns  *flakyDNS
	sink *memSink
	used *report.MemoryStore
	now  time.Time

	mu       sync.Mutex
	outcomes []string // "channel outcome class", for the metrics hook
}

func (e *env) outcome(channel, outcome, class string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.outcomes = append(e.outcomes, strings.TrimSpace(channel+" "+outcome+" "+class))
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	z := dnszone.New()
	z.Add("sel._domainkey.provider.example", "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)))
	e := &env{keys: report.Keyring{Current: "k1", Keys: map[string][]byte{"k1": []byte("intake-test-secret-1234")}},
		key: key, dns: &flakyDNS{Zone: z}, sink: &memSink{}, now: time.Now()}
	lookup := func(_ context.Context, id string) (string, bool, error) {
		if id == "R1" {
			return owner, true, nil
		}
		return "", false, nil
	}
	store := report.NewMemoryStore()
	e.used = store
	v, err := report.New(report.DefaultConfig(), report.Deps{Keys: e.keys, DNS: e.dns, Registered: lookup, Seen: store,
		Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	e.in, err = New(cfg, Deps{Verifier: v, Keys: e.keys, Registered: lookup, Used: store, Sink: e.sink.sink,
		Now: func() time.Time { return e.now }, Outcome: e.outcome})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) token(t *testing.T, exp time.Time) string {
	tok, err := e.keys.Issue(report.PurposeNotMe, owner, "R1", exp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var msgSeq int

func (e *env) message(t *testing.T, tok string) []byte {
	msgSeq++
	raw := "From: Siti <" + owner + ">\r\nTo: report+" + tok + "@reports.example\r\nSubject: bukan saya\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + fmt.Sprint(msgSeq, ".", time.Now().UnixNano()) + "@provider.example>\r\n\r\nBukan saya.\r\n"
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(raw), &dkim.SignOptions{Domain: "provider.example", Selector: "sel", Signer: e.key,
		HeaderKeys: []string{"From", "To", "Date", "Message-ID", "Subject"}}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func (e *env) server() (*httptest.Server, *http.ServeMux) {
	mux := http.NewServeMux()
	e.in.Register(mux, "/v1/reports")
	return httptest.NewServer(mux), mux
}

func post(t *testing.T, url string, body []byte, hdr ...string) (int, Response, http.Header) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "message/rfc822")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Response
	json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r, resp.Header
}

func TestEmailHandler(t *testing.T) {
	e := newEnv(t, nil)
	srv, _ := e.server()
	defer srv.Close()
	u := srv.URL + "/v1/reports/email"
	tok := e.token(t, e.now.Add(time.Hour))
	m := e.message(t, tok)

	code, r, _ := post(t, u, m)
	if code != http.StatusAccepted || r.Status != "accepted" || r.ReportID == "" || !r.Verdict.Accepted {
		t.Fatalf("accept: %d %+v", code, r)
	}
	if got := e.sink.reports(); len(got) != 1 || got[0].RegistrationID != "R1" || got[0].Address != owner || got[0].Channel != report.ChannelEmail {
		t.Fatalf("sink %+v", got)
	}
	// The same message again: replay.
	code, r, _ = post(t, u, m)
	if code != http.StatusUnprocessableEntity || r.Verdict == nil || r.Verdict.Reasons[0].Class != report.Replay {
		t.Fatalf("replay: %d %+v", code, r)
	}
	// Any sink call for the replay carried the same deterministic id.
	for _, got := range e.sink.reports() {
		if got.ID != e.sink.reports()[0].ID {
			t.Fatalf("different report id %s", got.ID)
		}
	}
	// Forged: body changed after signing.
	forged := bytes.Replace(e.message(t, tok), []byte("Bukan saya."), []byte("Saya."), 1)
	code, r, _ = post(t, u, forged)
	if code != http.StatusUnprocessableEntity || r.Verdict.Reasons[0].Class != report.ForgedSender {
		t.Fatalf("forged: %d %+v", code, r)
	}
	// Too large.
	code, _, _ = post(t, u, bytes.Repeat([]byte("x"), 2<<20))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("large: %d", code)
	}
	// GET is not allowed.
	resp, _ := http.Get(u)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	// Every judged message was counted with its outcome (the oversized and
	// the GET never reached the verifier).
	want := "email accepted|email rejected replay|email rejected forged_sender"
	if got := strings.Join(e.outcomes, "|"); got != want {
		t.Errorf("outcomes %q, want %q", got, want)
	}
}

func TestEmailHandlerRetryLater(t *testing.T) {
	e := newEnv(t, nil)
	srv, _ := e.server()
	defer srv.Close()
	u := srv.URL + "/v1/reports/email"
	m := e.message(t, e.token(t, e.now.Add(time.Hour)))

	e.dns.down = true
	code, r, hdr := post(t, u, m)
	if code != http.StatusServiceUnavailable || r.Status != "retry_later" || hdr.Get("Retry-After") == "" {
		t.Fatalf("DNS down: %d %+v %v", code, r, hdr)
	}
	e.dns.down = false
	// The store fails: retry later, and the retry is not a replay.
	e.sink.fail = errors.New("clickhouse down")
	if code, r, _ = post(t, u, m); code != http.StatusServiceUnavailable {
		t.Fatalf("sink down: %d %+v", code, r)
	}
	e.sink.fail = nil
	if code, r, _ = post(t, u, m); code != http.StatusAccepted {
		t.Fatalf("retry after sink failure: %d %+v", code, r)
	}
}

func TestEmailHandlerGatewayToken(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.GatewayToken = "gw-secret" })
	srv, _ := e.server()
	defer srv.Close()
	m := e.message(t, e.token(t, e.now.Add(time.Hour)))
	if code, _, _ := post(t, srv.URL+"/v1/reports/email", m); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code, _, _ := post(t, srv.URL+"/v1/reports/email", m, "Authorization", "Bearer gw-secret"); code != http.StatusAccepted {
		t.Fatalf("with token: %d", code)
	}
}

func get(t *testing.T, u string) (int, string) {
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNotMeLink(t *testing.T) {
	e := newEnv(t, nil)
	srv, _ := e.server()
	defer srv.Close()
	u := srv.URL + "/v1/reports/not-me"
	tok := e.token(t, e.now.Add(time.Hour))

	// GET shows the page and records nothing (mail scanners fetch links).
	for range 3 {
		code, body := get(t, u+"?t="+tok)
		if code != http.StatusOK || !strings.Contains(body, `<form method="post">`) || !strings.Contains(body, `value="`+tok+`"`) ||
			!strings.Contains(body, "s******@provider.example") {
			t.Fatalf("GET: %d %s", code, body)
		}
	}
	if n := len(e.sink.reports()); n != 0 {
		t.Fatalf("GET recorded %d reports", n)
	}
	// The token is checked on GET too.
	if code, _ := get(t, u+"?t="+tok[:len(tok)-2]+"aa"); code != http.StatusBadRequest {
		t.Fatalf("tampered GET: %d", code)
	}
	if code, _ := get(t, u+"?t="+e.token(t, e.now.Add(-time.Minute))); code != http.StatusGone {
		t.Fatalf("expired GET: %d", code)
	}
	// POST with a tampered token records nothing.
	resp, _ := http.PostForm(u, url.Values{"t": {tok[:len(tok)-2] + "aa"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || len(e.sink.reports()) != 0 {
		t.Fatalf("tampered POST: %d", resp.StatusCode)
	}
	// POST records once; the second POST says "already recorded".
	for i, want := range []string{"Report recorded", "already recorded"} {
		resp, err := http.PostForm(u, url.Values{"t": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Fatalf("POST %d: %d %s", i, resp.StatusCode, b)
		}
	}
	got := e.sink.reports()
	if len(got) == 0 || got[0].Channel != report.ChannelLink || got[0].RegistrationID != "R1" || got[0].Address != owner {
		t.Fatalf("sink %+v", got)
	}
	for _, r := range got {
		if r.ID != got[0].ID {
			t.Fatalf("report ids differ: %s %s", r.ID, got[0].ID)
		}
	}
	// Only POSTs count as reports: the tampered one, the recorded one and
	// the repeat.
	want := "link rejected|link accepted|link rejected replay"
	if got := strings.Join(e.outcomes, "|"); got != want {
		t.Errorf("outcomes %q, want %q", got, want)
	}
}

func TestSMTP(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SMTP.Addr = "127.0.0.1:0"; c.SMTP.MaxMessageBytes = 64 << 10 })
	s, addr, err := e.in.ServeSMTP()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok := e.token(t, e.now.Add(time.Hour))
	rcpt := "report+" + tok + "@reports.example"
	send := func(to string, m []byte) error {
		c, err := smtp.Dial(addr.String()) // loopback test server: no STARTTLS
		if err != nil {
			return err
		}
		defer c.Close()
		return c.SendMail(owner, []string{to}, bytes.NewReader(m))
	}
	if err := send(rcpt, e.message(t, tok)); err != nil {
		t.Fatalf("accepted message: %v", err)
	}
	if len(e.sink.reports()) != 1 {
		t.Fatalf("sink %v", e.sink.reports())
	}
	var se *smtp.SMTPError
	if err := send("postmaster@elsewhere.example", e.message(t, tok)); !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("other domain: %v", err)
	}
	forged := bytes.Replace(e.message(t, tok), []byte("Bukan saya."), []byte("Saya."), 1)
	if err := send(rcpt, forged); !errors.As(err, &se) || se.Code != 550 || !strings.Contains(se.Message, "forged_sender") {
		t.Fatalf("forged: %v", err)
	}
	if err := send(rcpt, bytes.Repeat([]byte("x\r\n"), 40<<10)); !errors.As(err, &se) || se.Code != 552 {
		t.Fatalf("too large: %v", err)
	}
	e.dns.down = true
	if err := send(rcpt, e.message(t, tok)); !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("DNS down: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.MaxBodyBytes, c.SMTP.Addr, c.SMTP.MaxRecipients = 10, ":2525", 0
	err := c.Validate()
	for _, w := range []string{"max_body_bytes", "max_recipients"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing %s in %v", w, err)
		}
	}
}
