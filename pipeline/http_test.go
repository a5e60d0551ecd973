package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/waspada/waspada/pipeline/chstore"
)

// memLookup is an in-memory score store.
type memLookup struct {
	scores map[string]chstore.LatestScore
	err    error
}

func (m memLookup) Latest(_ context.Context, id string) (chstore.LatestScore, bool, error) {
	s, ok := m.scores[id]
	return s, ok, m.err
}

func TestHTTP(t *testing.T) {
	ready := false
	lookup := memLookup{scores: map[string]chstore.LatestScore{"R1": {RegistrationID: "R1", ScoreVersion: 2, Score: 70,
		Band: "review", Reasons: json.RawMessage(`[]`)}}}
	srv := httptest.NewServer(Handler(NewMetrics(), func() bool { return ready }, lookup, "s3cret"))
	defer srv.Close()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		path, token string
		code        int
		body        string
	}{
		{"/healthz", "", 200, "ok"},
		{"/readyz", "", 503, "not ready"},
		{"/metrics", "", 200, "waspada_consumer_lag"},
		{"/v1/scores/R1", "", 401, "bearer token"},
		{"/v1/scores/R1", "wrong", 401, "bearer token"},
		{"/v1/scores/R1", "s3cret", 200, `"score":70`},
		{"/v1/scores/R9", "s3cret", 404, "no score"},
		{"/v1/scores/R1%27%20OR%201=1", "s3cret", 400, "registration id"},
	}
	for _, c := range cases {
		code, body := get(c.path, c.token)
		if code != c.code || !strings.Contains(body, c.body) {
			t.Errorf("GET %s: %d %q, want %d containing %q", c.path, code, body, c.code, c.body)
		}
	}
	ready = true
	if code, _ := get("/readyz", ""); code != 200 {
		t.Errorf("readyz %d after ready", code)
	}
	down := httptest.NewServer(Handler(NewMetrics(), func() bool { return true }, memLookup{err: errors.New("connection refused")}, "s3cret"))
	defer down.Close()
	req, _ := http.NewRequest("GET", down.URL+"/v1/scores/R1", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("store down: %d, want 503", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}
