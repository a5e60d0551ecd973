package pipeline

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/waspada/waspada/pipeline/chstore"
)

// ScoreLookup reads a registration's current score.
type ScoreLookup interface {
	Latest(ctx context.Context, registrationID string) (chstore.LatestScore, bool, error)
}

// HTTPServer serves health, readiness, Prometheus metrics and the score
// lookup.
type HTTPServer struct {
	srv *http.Server
	ln  net.Listener
}

// Handler builds the HTTP routes. ready says whether the pipeline is
// consuming and writing; lookup may be nil (no ClickHouse), and the lookup
// needs a bearer token because it reveals data.
func Handler(m *Metrics, ready func() bool, lookup ScoreLookup, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/scores/{id}", func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			jsonError(w, http.StatusNotFound, "score lookup is disabled: set http.api_token")
			return
		}
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			jsonError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		if lookup == nil {
			jsonError(w, http.StatusServiceUnavailable, "no ClickHouse configured; scores are on the risk-scores topic")
			return
		}
		id := r.PathValue("id")
		if !registrationIDRe.MatchString(id) {
			jsonError(w, http.StatusBadRequest, "registration id must be 1-64 letters, digits, '-', '_', '.' or ':'")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		sc, ok, err := lookup.Latest(ctx, id)
		switch {
		case err != nil:
			jsonError(w, http.StatusServiceUnavailable, "score store unavailable: "+err.Error())
		case !ok:
			jsonError(w, http.StatusNotFound, "no score for registration "+id)
		default:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(sc)
		}
	})
	return mux
}

var registrationIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// ListenHTTP starts serving h on addr in the background.
func ListenHTTP(addr string, h http.Handler) (*HTTPServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &HTTPServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is the address actually listened on.
func (s *HTTPServer) Addr() string { return s.ln.Addr().String() }

// Close stops the server, waiting up to 5 s for requests in flight.
func (s *HTTPServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
