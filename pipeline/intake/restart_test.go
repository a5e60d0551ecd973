package intake

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors/email/report"
)

// Single use across restarts: a restarted intake starts with an empty
// used-store; marking the UsedKey of every stored report (what `waspada
// run` does from the stored email.misuse_reported events) makes a replay
// of a reply or a link a replay again. Without the seeding it would be
// accepted a second time.
func TestUsedKeysSurviveRestart(t *testing.T) {
	first := newEnv(t, nil)
	srv, _ := first.server()
	tok := first.token(t, first.now.Add(time.Hour))
	msg := first.message(t, tok)
	if code, r, _ := post(t, srv.URL+"/v1/reports/email", msg); code != http.StatusAccepted {
		t.Fatalf("first reply: %d %+v", code, r)
	}
	resp, err := http.PostForm(srv.URL+"/v1/reports/not-me", url.Values{"t": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	srv.Close()
	stored := first.sink.reports()
	if len(stored) != 2 || stored[0].UsedKey() == stored[1].UsedKey() {
		t.Fatalf("stored %+v", stored)
	}

	for _, seeded := range []bool{false, true} {
		// The restarted process: same keys and DNS, a fresh store.
		again := newEnv(t, nil)
		again.keys, again.key, again.dns, again.now = first.keys, first.key, first.dns, first.now
		again = rebuildWith(t, again, first)
		if seeded {
			for _, r := range stored {
				if _, err := again.used.MarkUsed(context.Background(), r.UsedKey(), r.ReceivedAt.Add(365*24*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
		}
		srv, _ := again.server()
		code, r, _ := post(t, srv.URL+"/v1/reports/email", msg)
		resp, err := http.PostForm(srv.URL+"/v1/reports/not-me", url.Values{"t": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		already := strings.Contains(string(body), "already recorded")
		if seeded {
			if code != http.StatusUnprocessableEntity || r.Verdict == nil || r.Verdict.Reasons[0].Class != report.Replay {
				t.Errorf("seeded: reply replay answered %d %+v", code, r)
			}
			if !already {
				t.Errorf("seeded: link replay not recognised: %s", body)
			}
		} else if code != http.StatusAccepted || already {
			t.Errorf("unseeded store should not know the reports (the test would prove nothing): %d, already=%v", code, already)
		}
	}
}

// rebuildWith rebuilds e's verifier and intake over first's keys and DNS.
func rebuildWith(t *testing.T, e, first *env) *env {
	t.Helper()
	lookup := func(_ context.Context, id string) (string, bool, error) { return owner, id == "R1", nil }
	v, err := report.New(report.DefaultConfig(), report.Deps{Keys: first.keys, DNS: first.dns, Registered: lookup, Seen: e.used,
		Now: func() time.Time { return first.now }})
	if err != nil {
		t.Fatal(err)
	}
	e.in, err = New(DefaultConfig(), Deps{Verifier: v, Keys: first.keys, Registered: lookup, Used: e.used, Sink: e.sink.sink,
		Now: func() time.Time { return first.now }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
