package report

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"

	"github.com/waspada/waspada/detectors/email/address"
)

// Class is the machine-readable reason a report was rejected.
type Class string

// Reject classes. Every one is demonstrated by a test in verify_test.go
// (TestVerifyRejects names the case after the class).
const (
	ForgedSender      Class = "forged_sender"       // no DKIM signature verifies (bad signature, body changed, no key)
	MisalignedSigner  Class = "misaligned_signer"   // a signature verifies, but for a domain not aligned with From
	DuplicateFrom     Class = "duplicate_from"      // not exactly one From field with exactly one mailbox
	DuplicateHeader   Class = "duplicate_header"    // To, Date or Message-ID present more than once
	Replay            Class = "replay"              // (registration, Message-ID) seen before
	Expired           Class = "expired"             // signature stale, from the future, past x=, or token expired
	BodyLengthLimit   Class = "body_length_limit"   // l= tag: part of the body unsigned
	WeakKey           Class = "weak_key"            // RSA key below Config.MinRSABits (never below 1024), or rsa-sha1
	TooManySignatures Class = "too_many_signatures" // more DKIM-Signature fields than Config.MaxSignatures
	OversizedHeaders  Class = "oversized_headers"   // header block over MaxHeaderBytes or MaxHeaderFields
	OversizedMessage  Class = "oversized_message"   // message over MaxMessageBytes
	BadToken          Class = "bad_token"           // no, malformed, tampered or unknown-key token, unknown registration
	AddressMismatch   Class = "address_mismatch"    // canonical From is not the registered address
	UnsignedHeaders   Class = "unsigned_headers"    // the signature does not cover From, To, Date and Message-ID
	NoSignature       Class = "no_signature"        // no DKIM-Signature field
	Malformed         Class = "malformed"           // not a parseable RFC 5322 message
)

// Reason is one reason for a rejection, or one problem of one signature.
type Reason struct {
	Class  Class  `json:"class"`
	Detail string `json:"detail"`
}

func (r Reason) String() string { return string(r.Class) + ": " + r.Detail }

// SignatureResult is what was found about one DKIM-Signature field.
type SignatureResult struct {
	Domain    string    `json:"domain"`
	Selector  string    `json:"selector"`
	Algorithm string    `json:"algorithm"`
	KeyBits   int       `json:"key_bits,omitempty"` // RSA only
	SignedAt  time.Time `json:"signed_at,omitzero"`
	Expires   time.Time `json:"expires,omitzero"`
	Headers   []string  `json:"headers"`
	Valid     bool      `json:"valid"` // the cryptographic check passed
	Aligned   bool      `json:"aligned"`
	Problems  []Reason  `json:"problems,omitempty"`
}

// Verdict is the outcome of verifying one report message.
type Verdict struct {
	Accepted bool     `json:"accepted"`
	Reasons  []Reason `json:"reasons,omitempty"` // empty when accepted; sorted by class
	// What the message claims or proves (filled as far as it was read).
	From           string            `json:"from,omitempty"` // canonical
	MessageID      string            `json:"message_id,omitempty"`
	RegistrationID string            `json:"registration_id,omitempty"`
	TokenID        string            `json:"token_id,omitempty"`
	Signer         string            `json:"signer,omitempty"` // d= of the accepted signature
	SignedAt       time.Time         `json:"signed_at,omitzero"`
	Signatures     []SignatureResult `json:"signatures,omitempty"`
}

// TemporaryError means the report could not be judged now (DNS or a store
// failed): retry later, do not reject.
type TemporaryError struct{ Err error }

func (e *TemporaryError) Error() string { return "temporary: " + e.Err.Error() }
func (e *TemporaryError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is a *TemporaryError.
func IsTemporary(err error) bool {
	var t *TemporaryError
	return errors.As(err, &t)
}

// TXTResolver looks up TXT records; each string is one record with its
// character-strings joined. Contract: a name with no TXT records (NXDOMAIN
// or no data) is a *net.DNSError with IsNotFound set; every other error is
// treated as temporary. Implementations must be safe for concurrent use.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// NetResolver is the production TXTResolver.
type NetResolver struct{ Resolver *net.Resolver }

// LookupTXT implements TXTResolver.
func (n NetResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	r := n.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return r.LookupTXT(ctx, name)
}

// RegistrationLookup returns the address a registration was made with.
// ok is false for an unknown registration; err is transient.
type RegistrationLookup func(ctx context.Context, registrationID string) (addr string, ok bool, err error)

// Config bounds and tunes verification. Zero values are not defaults: start
// from DefaultConfig.
type Config struct {
	MaxMessageBytes int64 // whole message
	MaxHeaderBytes  int   // header block
	MaxHeaderFields int
	MaxSignatures   int // DKIM-Signature fields; more is rejected before any crypto
	// MinRSABits: RSA keys below are weak_key. RFC 8301 forbids < 1024;
	// 2048 is what current providers publish.
	MinRSABits int
	// Freshness of the signature's t= (required when RequireTimestamp).
	MaxSignatureAge  time.Duration
	MaxClockSkew     time.Duration
	RequireTimestamp bool
	// The report mailbox: replies go to <ReportLocal>+<token>@<ReportDomain>.
	ReportLocal  string
	ReportDomain string
	// Skip switches checks off for test vectors (RFC 8463) and offline
	// inspection with the CLI. Never set them in production.
	Skip SkipChecks
}

// SkipChecks names checks that can be switched off.
type SkipChecks struct {
	Token  bool // token, registration and address match
	Replay bool
}

// DefaultConfig returns safe production defaults.
func DefaultConfig() Config {
	return Config{
		MaxMessageBytes:  1 << 20,
		MaxHeaderBytes:   64 << 10,
		MaxHeaderFields:  200,
		MaxSignatures:    4,
		MinRSABits:       2048,
		MaxSignatureAge:  72 * time.Hour,
		MaxClockSkew:     15 * time.Minute,
		RequireTimestamp: true,
		ReportLocal:      "report",
		ReportDomain:     "reports.example",
	}
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if c.MaxMessageBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_message_bytes %d: need at least 1024", c.MaxMessageBytes))
	}
	if c.MaxHeaderBytes < 512 || int64(c.MaxHeaderBytes) > c.MaxMessageBytes {
		errs = append(errs, fmt.Errorf("max_header_bytes %d: need 512..max_message_bytes", c.MaxHeaderBytes))
	}
	if c.MaxHeaderFields < 8 {
		errs = append(errs, fmt.Errorf("max_header_fields %d: need at least 8", c.MaxHeaderFields))
	}
	if c.MaxSignatures < 1 || c.MaxSignatures > 16 {
		errs = append(errs, fmt.Errorf("max_signatures %d: need 1..16", c.MaxSignatures))
	}
	if c.MinRSABits < 1024 {
		errs = append(errs, fmt.Errorf("min_rsa_bits %d: RFC 8301 forbids keys under 1024 bits", c.MinRSABits))
	}
	if c.MaxSignatureAge <= 0 {
		errs = append(errs, fmt.Errorf("max_signature_age %v: must be positive", c.MaxSignatureAge))
	}
	if c.MaxClockSkew < 0 {
		errs = append(errs, fmt.Errorf("max_clock_skew %v: must not be negative", c.MaxClockSkew))
	}
	if c.ReportLocal == "" || strings.ContainsAny(c.ReportLocal, "+@ ") {
		errs = append(errs, fmt.Errorf("report_local %q: need a plain local part", c.ReportLocal))
	}
	if _, err := address.Parse("x@" + c.ReportDomain); err != nil {
		errs = append(errs, fmt.Errorf("report_domain %q: not a domain", c.ReportDomain))
	}
	return errors.Join(errs...)
}

// ReplyAddress is where the owner replies to report misuse.
func (c Config) ReplyAddress(token string) string {
	return c.ReportLocal + "+" + token + "@" + c.ReportDomain
}

// Deps are the verifier's collaborators.
type Deps struct {
	Keys       Keyring
	DNS        TXTResolver
	Registered RegistrationLookup // required unless Skip.Token
	Seen       UsedStore          // required unless Skip.Replay
	Now        func() time.Time   // time.Now if nil
}

// Verifier checks report messages. It is safe for concurrent use when its
// Deps are.
type Verifier struct {
	cfg  Config
	deps Deps
}

// New checks cfg and deps.
func New(cfg Config, deps Deps) (*Verifier, error) {
	errs := []error{cfg.Validate()}
	if deps.DNS == nil {
		errs = append(errs, errors.New("report: no DNS resolver"))
	}
	if !cfg.Skip.Token {
		if deps.Registered == nil {
			errs = append(errs, errors.New("report: no registration lookup"))
		}
		errs = append(errs, deps.Keys.Validate())
	}
	if !cfg.Skip.Replay && deps.Seen == nil {
		errs = append(errs, errors.New("report: no replay store"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Verifier{cfg: cfg, deps: deps}, nil
}

// Config returns the verifier's configuration.
func (v *Verifier) Config() Config { return v.cfg }

// Verify reads one RFC 5322 message and judges it: Check, then Commit. A
// rejection is a Verdict with Accepted false and at least one Reason, and a
// nil error. The error is non-nil only when no verdict could be reached: a
// *TemporaryError (DNS, registration lookup or replay store failed: retry
// later) or a read error.
func (v *Verifier) Verify(ctx context.Context, raw io.Reader) (Verdict, error) {
	vd, err := v.Check(ctx, raw)
	if err != nil || !vd.Accepted {
		return vd, err
	}
	return v.Commit(ctx, vd)
}

// Commit records the accepted verdict's (registration, Message-ID) pair; a
// pair seen before turns it into a replay rejection. Callers that must not
// lose a report hand it to an idempotent sink (Report.ID is deterministic)
// between Check and Commit, so that a sink failure can be retried.
// With Skip.Replay, Commit returns vd unchanged.
func (v *Verifier) Commit(ctx context.Context, vd Verdict) (Verdict, error) {
	if !vd.Accepted || v.cfg.Skip.Replay {
		return vd, nil
	}
	key := replyKey(vd.RegistrationID, vd.MessageID)
	first, err := v.deps.Seen.MarkUsed(ctx, key, v.deps.Now().Add(v.cfg.MaxSignatureAge+v.cfg.MaxClockSkew))
	if err != nil {
		return vd, &TemporaryError{fmt.Errorf("replay store: %w", err)}
	}
	if !first {
		return reject(vd, Replay, "message "+strconv.Quote(vd.MessageID)+" already reported for "+vd.RegistrationID), nil
	}
	return vd, nil
}

// Check runs every check except replay (see Commit).
func (v *Verifier) Check(ctx context.Context, raw io.Reader) (Verdict, error) {
	now := v.deps.Now()
	var vd Verdict
	msg, err := io.ReadAll(io.LimitReader(raw, v.cfg.MaxMessageBytes+1))
	if err != nil {
		return vd, fmt.Errorf("report: reading message: %w", err)
	}
	if int64(len(msg)) > v.cfg.MaxMessageBytes {
		return reject(vd, OversizedMessage, fmt.Sprintf("message over %d bytes", v.cfg.MaxMessageBytes)), nil
	}
	msg = toCRLF(msg)
	h, r := v.readHeader(msg)
	if r != nil {
		return reject(vd, r.Class, r.Detail), nil
	}

	// Structure: exactly one From with one mailbox; one To, Date, Message-ID.
	var reasons []Reason
	from := h.all("from")
	var fromAddr address.Address
	switch {
	case len(from) == 0:
		reasons = append(reasons, Reason{Malformed, "no From field"})
	case len(from) > 1:
		reasons = append(reasons, Reason{DuplicateFrom, fmt.Sprintf("%d From fields", len(from))})
	default:
		list, err := mail.ParseAddressList(from[0])
		switch {
		case err != nil:
			reasons = append(reasons, Reason{Malformed, "From: " + err.Error()})
		case len(list) != 1:
			reasons = append(reasons, Reason{DuplicateFrom, fmt.Sprintf("From lists %d mailboxes", len(list))})
		default:
			if fromAddr, err = address.Parse(list[0].Address); err != nil {
				reasons = append(reasons, Reason{Malformed, "From: " + err.Error()})
			}
			vd.From = fromAddr.Canonical
		}
	}
	for _, name := range []string{"to", "date", "message-id"} {
		switch n := len(h.all(name)); {
		case n == 0:
			reasons = append(reasons, Reason{Malformed, "no " + name + " field"})
		case n > 1:
			reasons = append(reasons, Reason{DuplicateHeader, fmt.Sprintf("%d %s fields", n, name)})
		}
	}
	if ids := h.all("message-id"); len(ids) > 0 {
		vd.MessageID = strings.Trim(strings.TrimSpace(ids[0]), "<>")
	}
	sigs := h.all("dkim-signature")
	switch {
	case len(sigs) == 0:
		reasons = append(reasons, Reason{NoSignature, "no DKIM-Signature field"})
	case len(sigs) > v.cfg.MaxSignatures:
		// Refuse before any DNS or crypto: signatures cost the verifier.
		reasons = append(reasons, Reason{TooManySignatures, fmt.Sprintf("%d DKIM-Signature fields, limit %d", len(sigs), v.cfg.MaxSignatures)})
	}
	if len(reasons) > 0 || fromAddr.Canonical == "" {
		return rejectAll(vd, reasons), nil
	}

	// DKIM.
	// go-msgauth verifies several signatures in parallel goroutines.
	dns := &cachedDNS{ctx: ctx, r: v.deps.DNS, mu: make(chan struct{}, 1), m: map[string]dnsAnswer{}}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT:        dns.lookupForDKIM,
		MaxVerifications: v.cfg.MaxSignatures,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return reject(vd, Malformed, "dkim: "+err.Error()), nil
	}
	if len(verifs) != len(sigs) {
		return reject(vd, Malformed, fmt.Sprintf("dkim: %d results for %d signatures", len(verifs), len(sigs))), nil
	}
	strict, err := v.strictAlignment(dns, fromAddr.Host)
	if err != nil {
		return vd, err
	}
	best := -1
	temporary := false
	for i, ver := range verifs {
		sr, temp := v.judgeSignature(dns, sigs[i], ver, fromAddr.Host, strict, now)
		temporary = temporary || temp
		vd.Signatures = append(vd.Signatures, sr)
		if sr.Valid && len(sr.Problems) == 0 && best < 0 {
			best = i
		}
	}
	if best < 0 {
		if temporary {
			return vd, &TemporaryError{errors.New("a DKIM key could not be fetched")}
		}
		for _, s := range vd.Signatures {
			reasons = append(reasons, s.Problems...)
		}
		return rejectAll(vd, reasons), nil
	}
	good := vd.Signatures[best]
	vd.Signer, vd.SignedAt = good.Domain, good.SignedAt

	// Token in the signed To, registration, address.
	if !v.cfg.Skip.Token {
		rs, err := v.checkToken(ctx, &vd, h.all("to")[0], fromAddr, now)
		if err != nil {
			return vd, err
		}
		if len(rs) > 0 {
			return rejectAll(vd, rs), nil
		}
	}
	vd.Accepted = true
	return vd, nil
}

func (v *Verifier) checkToken(ctx context.Context, vd *Verdict, to string, from address.Address, now time.Time) ([]Reason, error) {
	list, err := mail.ParseAddressList(to)
	if err != nil {
		return []Reason{{BadToken, "To: " + err.Error()}}, nil
	}
	var toks []string
	for _, a := range list {
		local, domain, ok := strings.Cut(a.Address, "@")
		if !ok || !strings.EqualFold(domain, v.cfg.ReportDomain) {
			continue
		}
		if t, ok := strings.CutPrefix(strings.ToLower(local), strings.ToLower(v.cfg.ReportLocal)+"+"); ok {
			toks = append(toks, t)
		}
	}
	if len(toks) != 1 {
		return []Reason{{BadToken, fmt.Sprintf("%d report addresses %s+<token>@%s in the signed To", len(toks), v.cfg.ReportLocal, v.cfg.ReportDomain)}}, nil
	}
	claims, err := ParseToken(toks[0])
	if err != nil {
		return []Reason{{BadToken, err.Error()}}, nil
	}
	vd.RegistrationID = claims.RegistrationID
	registered, ok, err := v.deps.Registered(ctx, claims.RegistrationID)
	if err != nil {
		return nil, &TemporaryError{fmt.Errorf("registration lookup: %w", err)}
	}
	if !ok {
		return []Reason{{BadToken, "unknown registration " + strconv.Quote(claims.RegistrationID)}}, nil
	}
	var rs []Reason
	reg, err := address.Parse(registered)
	if err != nil || reg.Canonical != from.Canonical {
		rs = append(rs, Reason{AddressMismatch, "From is not the address registration " + claims.RegistrationID + " was made with"})
	}
	c, err := v.deps.Keys.Verify(toks[0], PurposeNotMe, registered, now)
	switch {
	case errors.Is(err, ErrTokenExpired):
		rs = append(rs, Reason{Expired, "token expired at " + c.Expires.Format(time.RFC3339)})
	case err != nil:
		rs = append(rs, Reason{BadToken, err.Error()})
	default:
		vd.TokenID = c.ID
	}
	return rs, nil
}

// judgeSignature classifies one go-msgauth result and adds the checks
// go-msgauth leaves to the caller. temp reports a temporary key failure.
func (v *Verifier) judgeSignature(dns *cachedDNS, field string, ver *dkim.Verification, fromHost string, strict bool, now time.Time) (SignatureResult, bool) {
	tags := parseTags(field)
	sr := SignatureResult{
		Domain:    strings.ToLower(strings.TrimSuffix(ver.Domain, ".")),
		Selector:  tags["s"],
		Algorithm: tags["a"],
		SignedAt:  ver.Time.UTC(),
		Expires:   ver.Expiration.UTC(),
	}
	if ver.Time.IsZero() {
		sr.SignedAt = time.Time{}
	}
	if ver.Expiration.IsZero() {
		sr.Expires = time.Time{}
	}
	for _, k := range ver.HeaderKeys {
		sr.Headers = append(sr.Headers, strings.ToLower(k))
	}
	if sr.Domain == "" {
		sr.Domain = strings.ToLower(tags["d"])
	}
	where := "d=" + sr.Domain + " s=" + sr.Selector
	add := func(c Class, detail string) {
		sr.Problems = append(sr.Problems, Reason{c, detail + " (" + where + ")"})
	}

	if bits, ok := dns.rsaBits(sr.Selector + "._domainkey." + sr.Domain); ok {
		sr.KeyBits = bits
	}
	if _, ok := tags["l"]; ok {
		add(BodyLengthLimit, "l= tag leaves part of the body unsigned")
	}
	if err := ver.Err; err != nil {
		msg := err.Error()
		switch {
		case dkim.IsTempFail(err):
			add(ForgedSender, "key temporarily unavailable: "+msg)
			return sr, true
		case strings.Contains(msg, "body length tag"):
			// already reported from the tags
		case strings.Contains(msg, "expired"):
			add(Expired, msg)
		case strings.Contains(msg, "hash algorithm too weak"), strings.Contains(msg, "key is too short"):
			add(WeakKey, msg)
		case strings.Contains(msg, "From field not signed"):
			add(UnsignedHeaders, msg)
		default:
			add(ForgedSender, msg)
		}
		return sr, false
	}
	sr.Valid = true
	// Key size: go-msgauth accepts any RSA size.
	if bits := sr.KeyBits; bits > 0 {
		if bits < v.cfg.MinRSABits || bits < 1024 {
			add(WeakKey, fmt.Sprintf("RSA key of %d bits, need %d", bits, max(v.cfg.MinRSABits, 1024)))
		}
	}
	sr.Aligned = aligned(sr.Domain, fromHost, strict)
	if !sr.Aligned {
		mode := "relaxed"
		if strict {
			mode = "strict (DMARC adkim=s)"
		}
		add(MisalignedSigner, fmt.Sprintf("signer %s not aligned (%s) with From domain %s", sr.Domain, mode, fromHost))
	}
	var missing []string
	for _, need := range []string{"from", "to", "date", "message-id"} {
		if !slices.Contains(sr.Headers, need) {
			missing = append(missing, need)
		}
	}
	if len(missing) > 0 {
		add(UnsignedHeaders, "signature does not cover "+strings.Join(missing, ", "))
	}
	switch {
	case sr.SignedAt.IsZero() && v.cfg.RequireTimestamp:
		add(Expired, "no t= timestamp")
	case !sr.SignedAt.IsZero() && sr.SignedAt.After(now.Add(v.cfg.MaxClockSkew)):
		add(Expired, "signed in the future: "+sr.SignedAt.Format(time.RFC3339))
	case !sr.SignedAt.IsZero() && now.Sub(sr.SignedAt) > v.cfg.MaxSignatureAge:
		add(Expired, fmt.Sprintf("signed %s ago, limit %s", now.Sub(sr.SignedAt).Round(time.Second), v.cfg.MaxSignatureAge))
	}
	if !sr.Expires.IsZero() && !now.Before(sr.Expires) {
		add(Expired, "signature expired at "+sr.Expires.Format(time.RFC3339))
	}
	return sr, false
}

func aligned(signer, fromHost string, strict bool) bool {
	if strict {
		return signer == fromHost
	}
	return orgDomain(signer) == orgDomain(fromHost)
}

func orgDomain(d string) string {
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}

// strictAlignment reads adkim from the From domain's DMARC record, falling
// back to the organisational domain (RFC 7489 section 6.6.3). No record, or
// an unparseable one, means relaxed.
func (v *Verifier) strictAlignment(dns *cachedDNS, fromHost string) (bool, error) {
	names := []string{"_dmarc." + fromHost}
	if org := orgDomain(fromHost); org != fromHost {
		names = append(names, "_dmarc."+org)
	}
	for _, name := range names {
		a := dns.lookup(name)
		if a.err != nil {
			if a.notFound {
				continue
			}
			return false, &TemporaryError{fmt.Errorf("DMARC lookup %s: %w", name, a.err)}
		}
		var recs []string
		for _, t := range a.txt {
			if strings.HasPrefix(strings.TrimSpace(t), "v=DMARC1") {
				recs = append(recs, t)
			}
		}
		if len(recs) != 1 {
			continue // RFC 7489: several records means no policy
		}
		rec, err := dmarc.Parse(recs[0])
		if err != nil {
			return false, nil
		}
		return rec.DKIMAlignment == dmarc.AlignmentStrict, nil
	}
	return false, nil
}

type dnsAnswer struct {
	txt      []string
	err      error
	notFound bool
}

// cachedDNS answers each name once per message: go-msgauth, the key-size
// check and DMARC share lookups, and a hostile message cannot multiply them.
type cachedDNS struct {
	ctx context.Context
	r   TXTResolver
	mu  chan struct{}
	m   map[string]dnsAnswer
}

func (c *cachedDNS) lookup(name string) dnsAnswer {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	c.mu <- struct{}{}
	defer func() { <-c.mu }()
	if a, ok := c.m[name]; ok {
		return a
	}
	txt, err := c.r.LookupTXT(c.ctx, name)
	a := dnsAnswer{txt: txt, err: err}
	var de *net.DNSError
	if err != nil && errors.As(err, &de) && de.IsNotFound {
		a.notFound = true
	}
	c.m[name] = a
	return a
}

// lookupForDKIM adapts to go-msgauth, which treats a net.Error with
// Temporary() as tempfail and any other error as permfail.
func (c *cachedDNS) lookupForDKIM(name string) ([]string, error) {
	a := c.lookup(name)
	switch {
	case a.err == nil:
		return a.txt, nil
	case a.notFound:
		return nil, &net.DNSError{Err: "no such key record", Name: name, IsNotFound: true}
	default:
		return nil, &net.DNSError{Err: a.err.Error(), Name: name, IsTemporary: true}
	}
}

// rsaBits returns the size of the RSA key published at name.
func (c *cachedDNS) rsaBits(name string) (int, bool) {
	a := c.lookup(name)
	if a.err != nil || len(a.txt) != 1 {
		return 0, false
	}
	tags := parseTags(a.txt[0])
	if k := tags["k"]; k != "" && k != "rsa" {
		return 0, false
	}
	der, err := base64.StdEncoding.DecodeString(tags["p"])
	if err != nil {
		return 0, false
	}
	var pub *rsa.PublicKey
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		pub, _ = k.(*rsa.PublicKey)
	} else if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		pub = k
	}
	if pub == nil {
		return 0, false
	}
	return pub.N.BitLen(), true
}

// parseTags reads a DKIM tag list (signature value or key record); values
// have all whitespace removed, as RFC 6376 section 3.2 allows FWS anywhere.
func parseTags(s string) map[string]string {
	if _, v, ok := strings.Cut(s, ":"); ok && strings.EqualFold(strings.TrimSpace(s[:strings.IndexByte(s, ':')]), "dkim-signature") {
		s = v
	}
	m := map[string]string{}
	for _, p := range strings.Split(s, ";") {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := m[k]; !dup {
			m[k] = strings.Join(strings.Fields(val), "")
		}
	}
	return m
}

func reject(vd Verdict, c Class, detail string) Verdict {
	return rejectAll(vd, []Reason{{c, detail}})
}

func rejectAll(vd Verdict, rs []Reason) Verdict {
	vd.Accepted = false
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b Reason) int { return strings.Compare(string(a.Class), string(b.Class)) })
	vd.Reasons = slices.Compact(rs)
	return vd
}

// Classes returns the distinct classes of the verdict's reasons.
func (vd Verdict) Classes() []Class {
	var cs []Class
	for _, r := range vd.Reasons {
		if !slices.Contains(cs, r.Class) {
			cs = append(cs, r.Class)
		}
	}
	return cs
}

// header is the parsed header block: fields in order, with the same field
// name rule as go-msgauth (text before the first colon, trimmed), so that
// what this package counts is what the DKIM verifier signs.
type header struct {
	names  []string // lower case
	values []string // unfolded, trimmed
	fields []string // raw field including the name, for DKIM-Signature
}

func (h header) all(name string) []string {
	var out []string
	for i, n := range h.names {
		if n == name {
			if name == "dkim-signature" {
				out = append(out, h.fields[i])
			} else {
				out = append(out, h.values[i])
			}
		}
	}
	return out
}

func (v *Verifier) readHeader(msg []byte) (header, *Reason) {
	var h header
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		return h, &Reason{Malformed, "no empty line after the header"}
	}
	if end+2 > v.cfg.MaxHeaderBytes {
		return h, &Reason{OversizedHeaders, fmt.Sprintf("header block over %d bytes", v.cfg.MaxHeaderBytes)}
	}
	for _, line := range strings.Split(string(msg[:end]), "\r\n") {
		if line == "" {
			return h, &Reason{Malformed, "empty header line"}
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(h.fields) == 0 {
				return h, &Reason{Malformed, "header starts with a continuation line"}
			}
			i := len(h.fields) - 1
			h.fields[i] += "\r\n" + line
			h.values[i] += line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return h, &Reason{Malformed, "header line without a colon"}
		}
		if len(h.fields) >= v.cfg.MaxHeaderFields {
			return h, &Reason{OversizedHeaders, fmt.Sprintf("more than %d header fields", v.cfg.MaxHeaderFields)}
		}
		h.names = append(h.names, strings.ToLower(strings.TrimSpace(name)))
		h.values = append(h.values, value)
		h.fields = append(h.fields, line)
	}
	for i := range h.values {
		h.values[i] = strings.TrimSpace(h.values[i])
	}
	return h, nil
}

// toCRLF turns bare LF line ends into CRLF: gateways and files often store
// messages with LF, while DKIM signs the CRLF form.
func toCRLF(b []byte) []byte {
	n := 0
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			n++
		}
	}
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+n)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
