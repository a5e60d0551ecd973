// Package reportcli is `waspada reports`: verify a misuse-report email
// offline or against live DNS, and issue "not me" links. It lives beside the
// report package whose config and limits it shares; cmd/waspada/reports.go
// only calls Run.
package reportcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/waspada/waspada/detectors/email/address"
	"github.com/waspada/waspada/detectors/email/dnszone"
	"github.com/waspada/waspada/detectors/email/report"
)

// Exit codes.
const (
	ExitAccepted  = 0
	ExitRejected  = 1
	ExitUsage     = 2
	ExitTemporary = 3 // DNS or IO: try again
)

const usage = `waspada reports: misuse reports ("this registration used my email, it was not me")

Usage:
  waspada reports verify FILE.eml [flags]   verify a reply to the report mailbox; prints the verdict and every reason
  waspada reports token [flags]             issue a "not me" token, link and reply address for a registration

Run 'waspada reports <subcommand> -h' for the flags.
Exit codes of verify: 0 accepted, 1 rejected, 2 usage, 3 temporary failure (DNS, IO).
`

// Run executes `waspada reports ...`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return ExitUsage
		}
		return 0
	}
	switch args[0] {
	case "verify":
		return runVerify(ctx, args[1:], stdout, stderr)
	case "token":
		return runToken(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "waspada reports: unknown subcommand %q\n\n%s", args[0], usage)
	return ExitUsage
}

// parseInterspersed lets flags follow positional arguments
// ("verify FILE.eml --dns-zone z"), which the flag package does not.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("waspada reports verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := report.DefaultConfig()
	var (
		zonePath     = fs.String("dns-zone", "", "zone file with the TXT records (DKIM keys, DMARC) for offline verification; default: live DNS")
		registered   = fs.String("registered", "", "the address the registration named by the token was made with; without it the token and address checks are skipped")
		keyID        = fs.String("key-id", "k1", "key id of the token secret")
		secretFile   = fs.String("secret-file", "", "file holding the token HMAC secret (needed with --registered)")
		reportDomain = fs.String("report-domain", def.ReportDomain, "domain of the report mailbox (report+TOKEN@DOMAIN)")
		reportLocal  = fs.String("report-local", def.ReportLocal, "local part of the report mailbox before +TOKEN")
		minRSA       = fs.Int("min-rsa-bits", def.MinRSABits, "RSA keys below this are weak_key (never below 1024)")
		maxAge       = fs.Duration("max-age", def.MaxSignatureAge, "oldest acceptable signature time (t=)")
		nowFlag      = fs.String("now", "", "judge as of this RFC 3339 time (for old test vectors); default: now")
		asJSON       = fs.Bool("json", false, "print the verdict as JSON")
		timeout      = fs.Duration("timeout", 30*time.Second, "overall time limit (DNS)")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: waspada reports verify FILE.eml [flags]\n\nVerifies a reply to the report mailbox as the intake would: exactly one From, an aligned\npassing DKIM signature covering From, To, Date and Message-ID, fresh, strong key, and\n(with --registered and --secret-file) the token in the signed To for that address.\nUse FILE '-' for stdin.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "waspada reports verify: want exactly one FILE.eml")
		fs.Usage()
		return ExitUsage
	}
	now := time.Now()
	if *nowFlag != "" {
		if now, err = time.Parse(time.RFC3339, *nowFlag); err != nil {
			fmt.Fprintf(stderr, "waspada reports verify: --now: %v\n", err)
			return ExitUsage
		}
	}
	cfg := def
	cfg.ReportDomain, cfg.ReportLocal, cfg.MinRSABits, cfg.MaxSignatureAge = *reportDomain, *reportLocal, *minRSA, *maxAge
	cfg.Skip.Replay = true // one message, nothing to replay against
	deps := report.Deps{Now: func() time.Time { return now }}
	var notes []string
	if *zonePath != "" {
		z, err := dnszone.ParseFile(*zonePath)
		if err != nil {
			fmt.Fprintf(stderr, "waspada reports verify: %v\n", err)
			return ExitUsage
		}
		deps.DNS = z
	} else {
		deps.DNS = report.NetResolver{}
		notes = append(notes, "DNS: live lookups")
	}
	if *registered == "" {
		cfg.Skip.Token = true
		notes = append(notes, "token and registered-address checks skipped (no --registered)")
	} else {
		if *secretFile == "" {
			fmt.Fprintln(stderr, "waspada reports verify: --registered needs --secret-file to check the token")
			return ExitUsage
		}
		keys, err := loadKeys(*keyID, *secretFile)
		if err != nil {
			fmt.Fprintf(stderr, "waspada reports verify: %v\n", err)
			return ExitUsage
		}
		deps.Keys = keys
		addr := *registered
		deps.Registered = func(context.Context, string) (string, bool, error) { return addr, true, nil }
	}
	v, err := report.New(cfg, deps)
	if err != nil {
		fmt.Fprintf(stderr, "waspada reports verify: %v\n", err)
		return ExitUsage
	}
	raw, err := readInput(pos[0], cfg.MaxMessageBytes)
	if err != nil {
		fmt.Fprintf(stderr, "waspada reports verify: %v\n", err)
		return ExitTemporary
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	vd, err := v.Verify(ctx, bytes.NewReader(raw))
	if err != nil {
		if report.IsTemporary(err) {
			fmt.Fprintf(stdout, "verdict: retry_later\nerror: %v\n", err)
			return ExitTemporary
		}
		fmt.Fprintf(stderr, "waspada reports verify: %v\n", err)
		return ExitTemporary
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(vd)
	} else {
		printVerdict(stdout, vd, notes)
	}
	if vd.Accepted {
		return ExitAccepted
	}
	return ExitRejected
}

func printVerdict(w io.Writer, vd report.Verdict, notes []string) {
	status := "rejected"
	if vd.Accepted {
		status = "accepted"
	}
	fmt.Fprintf(w, "verdict: %s\n", status)
	for _, kv := range [][2]string{{"from", vd.From}, {"message-id", vd.MessageID}, {"registration", vd.RegistrationID}, {"signer", vd.Signer}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%s: %s\n", kv[0], kv[1])
		}
	}
	for i, s := range vd.Signatures {
		fmt.Fprintf(w, "signature %d: d=%s s=%s a=%s", i+1, s.Domain, s.Selector, s.Algorithm)
		if s.KeyBits > 0 {
			fmt.Fprintf(w, " key=%d-bit", s.KeyBits)
		}
		if !s.SignedAt.IsZero() {
			fmt.Fprintf(w, " t=%s", s.SignedAt.Format(time.RFC3339))
		}
		fmt.Fprintf(w, " valid=%v aligned=%v headers=%s\n", s.Valid, s.Aligned, strings.Join(s.Headers, ":"))
		for _, p := range s.Problems {
			fmt.Fprintf(w, "  problem: %s\n", p)
		}
	}
	for _, r := range vd.Reasons {
		fmt.Fprintf(w, "reason: %s\n", r)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func readInput(path string, limit int64) ([]byte, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	// One byte over the limit lets the verifier report oversized_message.
	return io.ReadAll(io.LimitReader(r, limit+1))
}

func loadKeys(keyID, path string) (report.Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return report.Keyring{}, err
	}
	secret := bytes.TrimRight(b, "\r\n")
	k := report.Keyring{Current: keyID, Keys: map[string][]byte{keyID: secret}}
	return k, k.Validate()
}

func runToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("waspada reports token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := report.DefaultConfig()
	var (
		reg          = fs.String("registration", "", "registration id (required)")
		email        = fs.String("email", "", "the address the registration was made with (required)")
		keyID        = fs.String("key-id", "k1", "key id to sign with (kept in the token for rotation)")
		secretFile   = fs.String("secret-file", "", "file holding the HMAC secret, at least 16 bytes (required)")
		ttl          = fs.Duration("ttl", 7*24*time.Hour, "token lifetime")
		baseURL      = fs.String("base-url", "http://localhost:8080", "public base URL of the Waspada HTTP intake")
		reportDomain = fs.String("report-domain", def.ReportDomain, "domain of the report mailbox")
		reportLocal  = fs.String("report-local", def.ReportLocal, "local part of the report mailbox")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: waspada reports token --registration R --email ADDR --secret-file F [flags]\n\nPrints a \"not me\" token bound to purpose, canonical address, registration and expiry,\nthe link for the verification email ({base-url}/v1/reports/not-me?t=TOKEN) and the reply\naddress (report+TOKEN@domain).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return ExitUsage
	}
	var problems []string
	if len(pos) > 0 {
		problems = append(problems, "unexpected arguments: "+strings.Join(pos, " "))
	}
	if *reg == "" {
		problems = append(problems, "--registration is required")
	}
	if _, err := address.Parse(*email); err != nil {
		problems = append(problems, "--email: "+err.Error())
	}
	if *secretFile == "" {
		problems = append(problems, "--secret-file is required")
	}
	if *ttl <= 0 {
		problems = append(problems, "--ttl must be positive")
	}
	u, err := url.Parse(*baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, "--base-url must be an http(s) URL")
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "waspada reports token: %s\n", p)
		}
		return ExitUsage
	}
	keys, err := loadKeys(*keyID, *secretFile)
	if err != nil {
		fmt.Fprintf(stderr, "waspada reports token: %v\n", err)
		return ExitUsage
	}
	exp := time.Now().Add(*ttl).Truncate(time.Second)
	tok, err := keys.Issue(report.PurposeNotMe, *email, *reg, exp)
	if err != nil {
		fmt.Fprintf(stderr, "waspada reports token: %v\n", err)
		return ExitUsage
	}
	cfg := def
	cfg.ReportDomain, cfg.ReportLocal = *reportDomain, *reportLocal
	link := strings.TrimSuffix(*baseURL, "/") + "/v1/reports/not-me?t=" + tok
	fmt.Fprintf(stdout, "token: %s\nexpires: %s\nlink: %s\nreply_to: %s\n", tok, exp.UTC().Format(time.RFC3339), link, cfg.ReplyAddress(tok))
	return 0
}
