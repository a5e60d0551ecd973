package fetch

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Config is the fetcher's configuration.
type Config struct {
	// Root is the directory file:// URIs must lie in; empty disables file://.
	// The URI path is absolute (file:///uploads/R1/ktp.jpg) and must be
	// Root or below it; symlinks may not lead out of Root (absolute
	// symlinks are refused even when they point inside).
	Root string `yaml:"root"`
	// MaxBytes caps one document; larger is a permanent too_large failure.
	MaxBytes int64 `yaml:"max_bytes"`
	// Timeout bounds one attempt (connect, headers and body).
	Timeout time.Duration `yaml:"timeout"`
	// AllowedHosts, when not empty, lists the only hosts http(s):// may
	// reach (host names or IPs, compared case-insensitively, without port;
	// a leading "*." matches any sub-domain). Redirects are checked too.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AllowHTTP permits plain http:// (internal blob stores often use it).
	AllowHTTP bool `yaml:"allow_http"`
	// AllowData permits data: URIs.
	AllowData bool `yaml:"allow_data"`
	// Concurrency bounds fetches in flight across all callers.
	Concurrency int `yaml:"concurrency"`
	// Retries is how many times a transient failure is retried.
	Retries int `yaml:"retries"`
	// Backoff is the first retry delay; it doubles, with jitter.
	Backoff time.Duration `yaml:"backoff"`
}

// DefaultConfig: 20 MiB, 10 s per attempt, 2 retries, 16 in flight.
func DefaultConfig() Config {
	return Config{MaxBytes: 20 << 20, Timeout: 10 * time.Second, AllowHTTP: true, AllowData: true,
		Concurrency: 16, Retries: 2, Backoff: 200 * time.Millisecond}
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBytes <= 0 {
		errs = append(errs, errors.New("fetch: max_bytes must be positive"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("fetch: timeout must be positive"))
	}
	if c.Concurrency <= 0 {
		errs = append(errs, errors.New("fetch: concurrency must be positive"))
	}
	if c.Retries < 0 {
		errs = append(errs, errors.New("fetch: retries must not be negative"))
	}
	if c.Retries > 0 && c.Backoff <= 0 {
		errs = append(errs, errors.New("fetch: backoff must be positive when retries > 0"))
	}
	if c.Root != "" {
		if !filepath.IsAbs(c.Root) {
			errs = append(errs, fmt.Errorf("fetch: root %q must be an absolute path", c.Root))
		} else if st, err := os.Stat(c.Root); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("fetch: root %q is not a readable directory", c.Root))
		}
	}
	for _, h := range c.AllowedHosts {
		if strings.TrimPrefix(h, "*.") == "" || strings.ContainsAny(h, "/:@ ") {
			errs = append(errs, fmt.Errorf("fetch: allowed_hosts entry %q is not a host name", h))
		}
	}
	return errors.Join(errs...)
}

// Class tells whether retrying can help.
type Class int

const (
	Permanent Class = iota
	Transient
)

func (c Class) String() string {
	if c == Transient {
		return "transient"
	}
	return "permanent"
}

// Error is a failed fetch. Reason is a short class for counting and
// evidence: bad_uri, scheme_not_allowed, host_not_allowed, outside_root,
// not_found, forbidden, too_large, http_status, timeout, network, io.
type Error struct {
	Class  Class
	Reason string
	URI    string
	Detail string
}

func (e *Error) Error() string {
	return fmt.Sprintf("fetch %s: %s (%s): %s", redact(e.URI), e.Reason, e.Class, e.Detail)
}

// IsTransient reports whether err is a fetch failure worth retrying later.
func IsTransient(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Class == Transient
}

func redact(uri string) string {
	if strings.HasPrefix(uri, "data:") && len(uri) > 40 {
		return uri[:40] + "..."
	}
	if u, err := url.Parse(uri); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return uri
}

// Fetcher fetches documents. Construct with New.
type Fetcher struct {
	cfg    Config
	client *http.Client
	root   *os.Root
	sem    chan struct{}
	sleep  func(context.Context, time.Duration) error
}

// New checks cfg and builds a Fetcher. client may be nil (a client with
// cfg's timeouts is built); the allow-list is enforced on redirects of
// either. Close releases the root directory handle.
func New(cfg Config, client *http.Client) (*Fetcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &Fetcher{cfg: cfg, sem: make(chan struct{}, cfg.Concurrency), sleep: sleepCtx}
	if cfg.Root != "" {
		r, err := os.OpenRoot(cfg.Root)
		if err != nil {
			return nil, fmt.Errorf("fetch: open root: %w", err)
		}
		f.root = r
	}
	if client == nil {
		tr := &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: min(cfg.Timeout, 5*time.Second)}).DialContext,
			TLSHandshakeTimeout:   min(cfg.Timeout, 5*time.Second),
			ResponseHeaderTimeout: cfg.Timeout,
			MaxIdleConnsPerHost:   cfg.Concurrency,
			IdleConnTimeout:       90 * time.Second,
		}
		client = &http.Client{Transport: tr}
	}
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return f.checkURL(req.URL)
	}
	f.client = &c
	return f, nil
}

// Close releases the root directory handle. Idempotent.
func (f *Fetcher) Close() error {
	if f.root != nil {
		err := f.root.Close()
		f.root = nil
		return err
	}
	return nil
}

// Fetch returns the document's bytes, retrying transient failures.
// Errors are *Error.
func (f *Fetcher) Fetch(ctx context.Context, uri string) ([]byte, error) {
	backoff := f.cfg.Backoff
	for attempt := 0; ; attempt++ {
		b, err := f.once(ctx, uri)
		if err == nil || !IsTransient(err) || attempt >= f.cfg.Retries {
			return b, err
		}
		d := backoff/2 + rand.N(backoff/2+1)
		if err := f.sleep(ctx, d); err != nil {
			return nil, &Error{Transient, "timeout", uri, "cancelled while waiting to retry: " + err.Error()}
		}
		backoff *= 2
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *Fetcher) once(ctx context.Context, uri string) ([]byte, error) {
	select {
	case f.sem <- struct{}{}:
		defer func() { <-f.sem }()
	case <-ctx.Done():
		return nil, &Error{Transient, "timeout", uri, "cancelled waiting for a fetch slot"}
	}
	scheme, _, ok := strings.Cut(uri, ":")
	if !ok {
		return nil, &Error{Permanent, "bad_uri", uri, "no scheme"}
	}
	switch strings.ToLower(scheme) {
	case "data":
		if !f.cfg.AllowData {
			return nil, &Error{Permanent, "scheme_not_allowed", uri, "data: URIs are disabled"}
		}
		return f.data(uri)
	case "file":
		return f.file(uri)
	case "http", "https":
		return f.http(ctx, uri)
	default:
		return nil, &Error{Permanent, "scheme_not_allowed", uri, "scheme " + scheme}
	}
}

func (f *Fetcher) data(uri string) ([]byte, error) {
	meta, payload, ok := strings.Cut(uri[len("data:"):], ",")
	if !ok {
		return nil, &Error{Permanent, "bad_uri", uri, "data: URI without a comma"}
	}
	if strings.HasSuffix(strings.ToLower(meta), ";base64") {
		if int64(base64.StdEncoding.DecodedLen(len(payload))) > f.cfg.MaxBytes+2 {
			return nil, &Error{Permanent, "too_large", uri, fmt.Sprintf("data: payload above %d bytes", f.cfg.MaxBytes)}
		}
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			if b2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(payload, "=")); err2 == nil {
				b, err = b2, nil
			}
		}
		if err != nil {
			return nil, &Error{Permanent, "bad_uri", uri, "data: base64: " + err.Error()}
		}
		if int64(len(b)) > f.cfg.MaxBytes {
			return nil, &Error{Permanent, "too_large", uri, fmt.Sprintf("%d bytes, limit %d", len(b), f.cfg.MaxBytes)}
		}
		return b, nil
	}
	s, err := url.PathUnescape(payload)
	if err != nil {
		return nil, &Error{Permanent, "bad_uri", uri, "data: " + err.Error()}
	}
	if int64(len(s)) > f.cfg.MaxBytes {
		return nil, &Error{Permanent, "too_large", uri, fmt.Sprintf("%d bytes, limit %d", len(s), f.cfg.MaxBytes)}
	}
	return []byte(s), nil
}

func (f *Fetcher) file(uri string) ([]byte, error) {
	if f.root == nil {
		return nil, &Error{Permanent, "scheme_not_allowed", uri, "file: URIs are disabled (no root configured)"}
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, &Error{Permanent, "bad_uri", uri, err.Error()}
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, &Error{Permanent, "bad_uri", uri, "file: URI names a remote host"}
	}
	p := u.Path
	if p == "" || !strings.HasPrefix(p, "/") {
		return nil, &Error{Permanent, "bad_uri", uri, "file: path must be absolute"}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return nil, &Error{Permanent, "outside_root", uri, `".." in path`}
		}
	}
	rel, err := filepath.Rel(f.cfg.Root, filepath.FromSlash(path.Clean(p)))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, &Error{Permanent, "outside_root", uri, "path is not under " + f.cfg.Root}
	}
	// os.Root refuses symlinks (and any other path) resolving outside it.
	fh, err := f.root.Open(rel)
	if err != nil {
		return nil, fileErr(uri, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fileErr(uri, err)
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{Permanent, "not_found", uri, "not a regular file"}
	}
	if st.Size() > f.cfg.MaxBytes {
		return nil, &Error{Permanent, "too_large", uri, fmt.Sprintf("%d bytes, limit %d", st.Size(), f.cfg.MaxBytes)}
	}
	return readCapped(uri, fh, f.cfg.MaxBytes, Transient)
}

func fileErr(uri string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &Error{Permanent, "not_found", uri, err.Error()}
	case errors.Is(err, fs.ErrPermission):
		return &Error{Permanent, "forbidden", uri, err.Error()}
	case strings.Contains(err.Error(), "escapes from parent"), strings.Contains(err.Error(), "path escapes"):
		return &Error{Permanent, "outside_root", uri, err.Error()}
	case errors.Is(err, syscall.ELOOP):
		return &Error{Permanent, "outside_root", uri, err.Error()}
	default:
		return &Error{Transient, "io", uri, err.Error()}
	}
}

func readCapped(uri string, r io.Reader, limit int64, ioClass Class) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		if isTimeout(err) {
			return nil, &Error{Transient, "timeout", uri, err.Error()}
		}
		return nil, &Error{ioClass, "io", uri, err.Error()}
	}
	if n > limit {
		return nil, &Error{Permanent, "too_large", uri, fmt.Sprintf("more than %d bytes", limit)}
	}
	return buf.Bytes(), nil
}

func (f *Fetcher) checkURL(u *url.URL) error {
	switch u.Scheme {
	case "https":
	case "http":
		if !f.cfg.AllowHTTP {
			return &Error{Permanent, "scheme_not_allowed", u.String(), "plain http is disabled"}
		}
	default:
		return &Error{Permanent, "scheme_not_allowed", u.String(), "scheme " + u.Scheme}
	}
	if u.Host == "" {
		return &Error{Permanent, "bad_uri", u.String(), "no host"}
	}
	if len(f.cfg.AllowedHosts) == 0 {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	for _, a := range f.cfg.AllowedHosts {
		a = strings.ToLower(a)
		if host == a || (strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:])) {
			return nil
		}
	}
	return &Error{Permanent, "host_not_allowed", u.String(), "host " + host + " is not in allowed_hosts"}
}

func (f *Fetcher) http(ctx context.Context, uri string) ([]byte, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, &Error{Permanent, "bad_uri", uri, err.Error()}
	}
	if err := f.checkURL(u); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &Error{Permanent, "bad_uri", uri, err.Error()}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			fe.URI = uri
			return nil, fe // redirect refused
		}
		if isTimeout(err) {
			return nil, &Error{Transient, "timeout", uri, err.Error()}
		}
		if strings.Contains(err.Error(), "too many redirects") {
			return nil, &Error{Permanent, "http_status", uri, err.Error()}
		}
		return nil, &Error{Transient, "network", uri, err.Error()}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, &Error{Permanent, "not_found", uri, resp.Status}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, &Error{Permanent, "forbidden", uri, resp.Status}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return nil, &Error{Transient, "http_status", uri, resp.Status}
	default:
		return nil, &Error{Permanent, "http_status", uri, resp.Status}
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return nil, &Error{Permanent, "too_large", uri, fmt.Sprintf("Content-Length %d, limit %d", resp.ContentLength, f.cfg.MaxBytes)}
	}
	// A body cut short by the network is transient.
	return readCapped(uri, resp.Body, f.cfg.MaxBytes, Transient)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Result is one document of FetchAll.
type Result struct {
	Data []byte
	Err  error
}

// FetchAll fetches uris concurrently (within the Fetcher's bound) and
// returns the results in the order of uris.
func (f *Fetcher) FetchAll(ctx context.Context, uris []string) []Result {
	out := make([]Result, len(uris))
	done := make(chan struct{}, len(uris))
	for i, u := range uris {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i].Data, out[i].Err = f.Fetch(ctx, u)
		}()
	}
	for range uris {
		<-done
	}
	return out
}
