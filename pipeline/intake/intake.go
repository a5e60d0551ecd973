package intake

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/waspada/waspada/detectors/email/address"
	"github.com/waspada/waspada/detectors/email/report"
)

// Sink receives accepted reports. It must be idempotent on Report.ID (the
// same report may be delivered again after a failure) and safe for
// concurrent use. An error means "not stored": the sender is told to retry.
type Sink func(ctx context.Context, r report.Report) error

// Config bounds the HTTP intake.
type Config struct {
	// MaxBodyBytes caps a posted message; keep it at or below the
	// verifier's MaxMessageBytes.
	MaxBodyBytes int64
	// GatewayToken, when set, is the bearer token the mail gateway must
	// send with POST /email. The DKIM check is the proof of origin; the
	// token only keeps strangers from using the verifier as a service.
	GatewayToken string
	// RetryAfter is sent with 503 answers.
	RetryAfter time.Duration
	// SMTP listener (optional).
	SMTP SMTPConfig
}

// SMTPConfig configures the optional SMTP listener.
type SMTPConfig struct {
	Addr            string // empty: no listener
	Domain          string // EHLO name
	MaxMessageBytes int64
	MaxRecipients   int
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
}

// DefaultConfig returns safe defaults.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes: 1 << 20,
		RetryAfter:   5 * time.Minute,
		SMTP: SMTPConfig{Domain: "localhost", MaxMessageBytes: 1 << 20, MaxRecipients: 5,
			ReadTimeout: time.Minute, WriteTimeout: time.Minute},
	}
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("intake: max_body_bytes %d: need at least 1024", c.MaxBodyBytes))
	}
	if c.RetryAfter <= 0 {
		errs = append(errs, fmt.Errorf("intake: retry_after %v: must be positive", c.RetryAfter))
	}
	if c.SMTP.Addr != "" {
		if c.SMTP.MaxMessageBytes < 1024 {
			errs = append(errs, fmt.Errorf("intake: smtp.max_message_bytes %d: need at least 1024", c.SMTP.MaxMessageBytes))
		}
		if c.SMTP.MaxRecipients < 1 {
			errs = append(errs, fmt.Errorf("intake: smtp.max_recipients %d: need at least 1", c.SMTP.MaxRecipients))
		}
		if c.SMTP.ReadTimeout <= 0 || c.SMTP.WriteTimeout <= 0 {
			errs = append(errs, errors.New("intake: smtp read and write timeouts must be positive"))
		}
		if c.SMTP.Domain == "" {
			errs = append(errs, errors.New("intake: smtp.domain is empty"))
		}
	}
	return errors.Join(errs...)
}

// Deps are the intake's collaborators.
type Deps struct {
	Verifier   *report.Verifier
	Keys       report.Keyring
	Registered report.RegistrationLookup
	Used       report.UsedStore // single use of link tokens
	Sink       Sink
	Now        func() time.Time
	// Outcome, when set, is told how every report ended, for metrics:
	// channel "email" or "link"; outcome "accepted", "rejected",
	// "retry_later" or "error"; class the first rejection class ("" when
	// accepted, or for link failures other than the token's).
	Outcome func(channel, outcome, class string)
}

// Intake serves the report channels. Safe for concurrent use when its Deps are.
type Intake struct {
	cfg  Config
	deps Deps
}

// New checks cfg and deps.
func New(cfg Config, deps Deps) (*Intake, error) {
	errs := []error{cfg.Validate()}
	if deps.Verifier == nil {
		errs = append(errs, errors.New("intake: no verifier"))
	}
	if deps.Registered == nil || deps.Used == nil || deps.Sink == nil {
		errs = append(errs, errors.New("intake: registration lookup, used-token store and sink are required"))
	}
	errs = append(errs, deps.Keys.Validate())
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Intake{cfg: cfg, deps: deps}, nil
}

// Register adds the routes under prefix (e.g. "/v1/reports") to mux.
func (in *Intake) Register(mux *http.ServeMux, prefix string) {
	prefix = strings.TrimSuffix(prefix, "/")
	mux.Handle("POST "+prefix+"/email", in.EmailHandler())
	mux.Handle("GET "+prefix+"/not-me", in.NotMeHandler())
	mux.Handle("POST "+prefix+"/not-me", in.NotMeHandler())
}

// Response is the JSON body of POST /email.
type Response struct {
	Status   string          `json:"status"` // accepted | rejected | retry_later | error
	Verdict  *report.Verdict `json:"verdict,omitempty"`
	ReportID string          `json:"report_id,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// EmailHandler takes a raw RFC 5322 message in the request body.
func (in *Intake) EmailHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeJSON(w, http.StatusMethodNotAllowed, Response{Status: "error", Error: "POST a raw RFC 5322 message"})
			return
		}
		if in.cfg.GatewayToken != "" {
			got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(in.cfg.GatewayToken)) != 1 {
				w.Header().Set("WWW-Authenticate", "Bearer")
				writeJSON(w, http.StatusUnauthorized, Response{Status: "error", Error: "missing or wrong bearer token"})
				return
			}
		}
		if r.ContentLength > in.cfg.MaxBodyBytes {
			writeJSON(w, http.StatusRequestEntityTooLarge, Response{Status: "error", Error: fmt.Sprintf("message over %d bytes", in.cfg.MaxBodyBytes)})
			return
		}
		body := http.MaxBytesReader(w, r.Body, in.cfg.MaxBodyBytes)
		raw, err := io.ReadAll(body)
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				writeJSON(w, http.StatusRequestEntityTooLarge, Response{Status: "error", Error: fmt.Sprintf("message over %d bytes", in.cfg.MaxBodyBytes)})
				return
			}
			writeJSON(w, http.StatusBadRequest, Response{Status: "error", Error: "reading body: " + err.Error()})
			return
		}
		res, code := in.handleMessage(r.Context(), raw)
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(int(in.cfg.RetryAfter.Seconds())))
		}
		writeJSON(w, code, res)
	})
}

// handleMessage is shared by HTTP and SMTP: Check, sink, Commit.
func (in *Intake) handleMessage(ctx context.Context, raw []byte) (Response, int) {
	res, code := in.judgeMessage(ctx, raw)
	if in.deps.Outcome != nil {
		class := ""
		if res.Verdict != nil && len(res.Verdict.Reasons) > 0 {
			class = string(res.Verdict.Reasons[0].Class)
		}
		in.deps.Outcome(report.ChannelEmail, res.Status, class)
	}
	return res, code
}

func (in *Intake) judgeMessage(ctx context.Context, raw []byte) (Response, int) {
	vd, err := in.deps.Verifier.Check(ctx, strings.NewReader(string(raw)))
	switch {
	case report.IsTemporary(err):
		return Response{Status: "retry_later", Error: err.Error()}, http.StatusServiceUnavailable
	case err != nil:
		return Response{Status: "error", Error: err.Error()}, http.StatusBadRequest
	case !vd.Accepted:
		return Response{Status: "rejected", Verdict: &vd}, http.StatusUnprocessableEntity
	}
	rep := report.FromVerdict(vd, in.deps.Now())
	if err := in.deps.Sink(ctx, rep); err != nil {
		return Response{Status: "retry_later", Error: "storing the report: " + err.Error()}, http.StatusServiceUnavailable
	}
	vd, err = in.deps.Verifier.Commit(ctx, vd)
	switch {
	case err != nil:
		// Stored already (idempotent by ID): a retry is harmless.
		return Response{Status: "retry_later", Error: err.Error()}, http.StatusServiceUnavailable
	case !vd.Accepted:
		return Response{Status: "rejected", Verdict: &vd}, http.StatusUnprocessableEntity
	}
	return Response{Status: "accepted", Verdict: &vd, ReportID: rep.ID}, http.StatusAccepted
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

type pageData struct {
	Title, Message string
	Token          string
	Registration   string
	MaskedAddress  string
	Form           bool
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="id"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title></head>
<body><main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Form}}
<p>Registrasi <strong>{{.Registration}}</strong> memakai alamat email <strong>{{.MaskedAddress}}</strong>.
Jika bukan Anda yang mendaftar, tekan tombol di bawah. / Registration {{.Registration}} used the address
{{.MaskedAddress}}. If this was not you, press the button.</p>
<form method="post">
<input type="hidden" name="t" value="{{.Token}}">
<button type="submit">Bukan saya / This was not me</button>
</form>
{{end}}
</main></body></html>
`))

func (in *Intake) renderPage(w http.ResponseWriter, code int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the token is in the URL
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(code)
	page.Execute(w, d)
}

// maxFormBytes caps the not-me form (one token).
const maxFormBytes = 4 << 10

// NotMeHandler serves the confirmation page (GET) and records the report
// (POST).
func (in *Intake) NotMeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tok string
		switch r.Method {
		case http.MethodGet:
			tok = r.URL.Query().Get("t")
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				in.renderPage(w, http.StatusBadRequest, pageData{Title: "Permintaan tidak valid", Message: "Invalid request."})
				return
			}
			tok = r.PostForm.Get("t")
		default:
			w.Header().Set("Allow", "GET, POST")
			in.renderPage(w, http.StatusMethodNotAllowed, pageData{Title: "Method not allowed"})
			return
		}
		ctx := r.Context()
		claims, canonical, code, msg := in.checkToken(ctx, tok)
		if code != 0 && r.Method == http.MethodPost {
			in.outcome(report.ChannelLink, code)
		}
		if code != 0 {
			if code == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", strconv.Itoa(int(in.cfg.RetryAfter.Seconds())))
			}
			in.renderPage(w, code, pageData{Title: "Tautan tidak dapat dipakai / Link cannot be used", Message: msg})
			return
		}
		if r.Method == http.MethodGet {
			in.renderPage(w, http.StatusOK, pageData{Title: "Bukan Anda? / Not you?", Form: true, Token: tok,
				Registration: claims.RegistrationID, MaskedAddress: mask(canonical),
				Message: "Konfirmasi laporan / Confirm the report."})
			return
		}
		rep := report.FromLink(claims, canonical, in.deps.Now())
		if err := in.deps.Sink(ctx, rep); err != nil {
			in.outcome(report.ChannelLink, http.StatusServiceUnavailable)
			w.Header().Set("Retry-After", strconv.Itoa(int(in.cfg.RetryAfter.Seconds())))
			in.renderPage(w, http.StatusServiceUnavailable, pageData{Title: "Coba lagi nanti / Try again later", Message: "The report could not be stored."})
			return
		}
		first, err := in.deps.Used.MarkUsed(ctx, report.LinkKey(claims.ID), claims.Expires)
		if err != nil {
			in.outcome(report.ChannelLink, http.StatusServiceUnavailable)
			w.Header().Set("Retry-After", strconv.Itoa(int(in.cfg.RetryAfter.Seconds())))
			in.renderPage(w, http.StatusServiceUnavailable, pageData{Title: "Coba lagi nanti / Try again later", Message: "The report could not be stored."})
			return
		}
		if first {
			in.outcome(report.ChannelLink, http.StatusOK)
		} else {
			in.outcome(report.ChannelLink, http.StatusConflict)
		}
		msg = "Terima kasih. Laporan Anda dicatat dan alamat email Anda akan dibebaskan. / Thank you: your report is recorded."
		if !first {
			msg = "Laporan ini sudah dicatat sebelumnya. / This report was already recorded."
		}
		in.renderPage(w, http.StatusOK, pageData{Title: "Laporan dicatat / Report recorded", Message: msg})
	})
}

// outcome reports a not-me link POST by its HTTP status.
func (in *Intake) outcome(channel string, code int) {
	if in.deps.Outcome == nil {
		return
	}
	switch {
	case code == http.StatusOK:
		in.deps.Outcome(channel, "accepted", "")
	case code == http.StatusServiceUnavailable:
		in.deps.Outcome(channel, "retry_later", "")
	case code == http.StatusConflict: // recorded before: the page says so
		in.deps.Outcome(channel, "rejected", string(report.Replay))
	default:
		in.deps.Outcome(channel, "rejected", "")
	}
}

// checkToken verifies a link token against the registered address. A
// non-zero code is the HTTP status of the failure, with a message for the page.
func (in *Intake) checkToken(ctx context.Context, tok string) (report.Claims, string, int, string) {
	const invalid = "Tautan ini tidak valid. / This link is not valid."
	c, err := report.ParseToken(tok)
	if err != nil {
		return c, "", http.StatusBadRequest, invalid
	}
	addr, ok, err := in.deps.Registered(ctx, c.RegistrationID)
	if err != nil {
		return c, "", http.StatusServiceUnavailable, "Coba lagi nanti. / Try again later."
	}
	if !ok {
		return c, "", http.StatusBadRequest, invalid
	}
	c, err = in.deps.Keys.Verify(tok, report.PurposeNotMe, addr, in.deps.Now())
	switch {
	case errors.Is(err, report.ErrTokenExpired):
		return c, "", http.StatusGone, "Tautan ini sudah kedaluwarsa. / This link has expired."
	case err != nil:
		return c, "", http.StatusBadRequest, invalid
	}
	a, err := address.Parse(addr)
	if err != nil {
		return c, "", http.StatusBadRequest, invalid
	}
	return c, a.Canonical, 0, ""
}

// mask shows enough of the address for the owner to recognise it.
func mask(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return "***"
	}
	r := []rune(local)
	return string(r[0]) + strings.Repeat("*", min(len(r)-1, 6)) + "@" + domain
}
