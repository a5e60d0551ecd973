package fetch

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newFetcher(t *testing.T, mod func(*Config)) *Fetcher {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Backoff = time.Millisecond
	cfg.Timeout = 2 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	f, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		f.client.CloseIdleConnections()
	})
	return f
}

func check(t *testing.T, err error, class Class, reason string) {
	t.Helper()
	var e *Error
	if reason == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want *Error %s/%s", err, class, reason)
	}
	if e.Class != class || e.Reason != reason {
		t.Fatalf("got %s/%s (%v), want %s/%s", e.Class, e.Reason, err, class, reason)
	}
}

func TestFile(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(root, "R1"), 0o755)
	os.WriteFile(filepath.Join(root, "R1", "ktp.jpg"), []byte("KTP"), 0o644)
	os.WriteFile(filepath.Join(root, "big.jpg"), make([]byte, 100), 0o644)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("S"), 0o644)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "R1", "link.jpg"))
	os.Symlink(outside, filepath.Join(root, "dirlink"))
	os.Symlink("R1/ktp.jpg", filepath.Join(root, "inside-link.jpg"))
	// os.Root refuses absolute symlinks even when they point inside: fine.
	os.Symlink(filepath.Join(root, "R1", "ktp.jpg"), filepath.Join(root, "abs-link.jpg"))
	f := newFetcher(t, func(c *Config) { c.Root = root; c.MaxBytes = 50 })
	for _, tc := range []struct {
		uri, want string
		class     Class
		reason    string
	}{
		{"file://" + root + "/R1/ktp.jpg", "KTP", 0, ""},
		{"file://localhost" + root + "/R1/ktp.jpg", "KTP", 0, ""},
		{"file://" + root + "/inside-link.jpg", "KTP", 0, ""},
		{"file://" + root + "/abs-link.jpg", "", Permanent, "outside_root"},
		{"file://" + root + "/R1/missing.jpg", "", Permanent, "not_found"},
		{"file://" + root + "/big.jpg", "", Permanent, "too_large"},
		{"file://" + root + "/R1/../R1/ktp.jpg", "", Permanent, "outside_root"},
		{"file://" + root + "/../" + filepath.Base(outside) + "/secret", "", Permanent, "outside_root"},
		{"file://" + outside + "/secret", "", Permanent, "outside_root"},
		{"file://" + root + "/R1/link.jpg", "", Permanent, "outside_root"},
		{"file://" + root + "/dirlink/secret", "", Permanent, "outside_root"},
		{"file://" + root + "/R1", "", Permanent, "not_found"},
		{"file://evil.example/etc/passwd", "", Permanent, "bad_uri"},
		{"ftp://x/y", "", Permanent, "scheme_not_allowed"},
		{"nonsense", "", Permanent, "bad_uri"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			b, err := f.Fetch(context.Background(), tc.uri)
			check(t, err, tc.class, tc.reason)
			if err == nil && string(b) != tc.want {
				t.Errorf("got %q", b)
			}
		})
	}
	noRoot := newFetcher(t, nil)
	_, err := noRoot.Fetch(context.Background(), "file://"+root+"/R1/ktp.jpg")
	check(t, err, Permanent, "scheme_not_allowed")
}

func TestData(t *testing.T) {
	f := newFetcher(t, func(c *Config) { c.MaxBytes = 10 })
	enc := base64.StdEncoding.EncodeToString([]byte("hello"))
	for _, tc := range []struct {
		uri, want, reason string
	}{
		{"data:image/jpeg;base64," + enc, "hello", ""},
		{"data:image/jpeg;base64," + strings.TrimRight(enc, "="), "hello", ""},
		{"data:,a%20b", "a b", ""},
		{"data:image/jpeg;base64,!!!!", "", "bad_uri"},
		{"data:image/jpeg;base64", "", "bad_uri"},
		{"data:;base64," + base64.StdEncoding.EncodeToString(make([]byte, 11)), "", "too_large"},
		{"data:;base64," + base64.StdEncoding.EncodeToString(make([]byte, 1000)), "", "too_large"},
	} {
		b, err := f.Fetch(context.Background(), tc.uri)
		check(t, err, Permanent, tc.reason)
		if err == nil && string(b) != tc.want {
			t.Errorf("%s: got %q", tc.uri, b)
		}
	}
	off := newFetcher(t, func(c *Config) { c.AllowData = false })
	_, err := off.Fetch(context.Background(), "data:,x")
	check(t, err, Permanent, "scheme_not_allowed")
}

func TestHTTP(t *testing.T) {
	var flaky atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("OK")) })
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) })
	mux.HandleFunc("/teapot", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(418) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) <= 2 {
			w.WriteHeader(502)
			return
		}
		w.Write([]byte("finally"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 100)) })
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 10; i++ {
			w.Write(make([]byte, 10))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/redirect-out", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://evil.example/x", http.StatusFound)
	})
	mux.HandleFunc("/redirect-in", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	f := newFetcher(t, func(c *Config) {
		c.MaxBytes = 50
		c.Timeout = 200 * time.Millisecond
		c.AllowedHosts = []string{"127.0.0.1"}
	})
	for _, tc := range []struct {
		path, want string
		class      Class
		reason     string
	}{
		{"/ok", "OK", 0, ""},
		{"/redirect-in", "OK", 0, ""},
		{"/flaky", "finally", 0, ""}, // 2 failures, 2 retries
		{"/missing", "", Permanent, "not_found"},
		{"/forbidden", "", Permanent, "forbidden"},
		{"/teapot", "", Permanent, "http_status"},
		{"/down", "", Transient, "http_status"},
		{"/big", "", Permanent, "too_large"},
		{"/big-chunked", "", Permanent, "too_large"},
		{"/slow", "", Transient, "timeout"},
		{"/redirect-out", "", Permanent, "host_not_allowed"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			b, err := f.Fetch(context.Background(), srv.URL+tc.path)
			check(t, err, tc.class, tc.reason)
			if err == nil && string(b) != tc.want {
				t.Errorf("got %q", b)
			}
		})
	}
	_, err := f.Fetch(context.Background(), strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/ok")
	check(t, err, Permanent, "host_not_allowed")
	noHTTP := newFetcher(t, func(c *Config) { c.AllowHTTP = false })
	_, err = noHTTP.Fetch(context.Background(), srv.URL+"/ok")
	check(t, err, Permanent, "scheme_not_allowed")

	// Nothing listening: transient.
	closed := httptest.NewServer(http.NotFoundHandler())
	addr := closed.URL
	closed.Close()
	_, err = newFetcher(t, func(c *Config) { c.Retries = 0 }).Fetch(context.Background(), addr+"/x")
	check(t, err, Transient, "network")
}

func TestConcurrencyBound(t *testing.T) {
	var inFlight, peak atomic.Int32
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		mu.Lock()
		if n > peak.Load() {
			peak.Store(n)
		}
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		fmt.Fprint(w, r.URL.Path)
	}))
	defer srv.Close()
	f := newFetcher(t, func(c *Config) { c.Concurrency = 2 })
	var uris []string
	for i := 0; i < 8; i++ {
		uris = append(uris, fmt.Sprintf("%s/%d", srv.URL, i))
	}
	res := f.FetchAll(context.Background(), uris)
	for i, r := range res {
		if r.Err != nil || string(r.Data) != fmt.Sprintf("/%d", i) {
			t.Errorf("result %d: %q %v", i, r.Data, r.Err)
		}
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("peak in flight %d, bound 2", p)
	}
}

func TestValidate(t *testing.T) {
	c := Config{Root: "relative", AllowedHosts: []string{"a/b", "*."}, Retries: 1}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"max_bytes", "timeout", "concurrency", "backoff", "root", `"a/b"`, `"*."`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}
