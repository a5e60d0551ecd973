package chstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/waspada/waspada/pipeline/event"
)

// EachEvent streams the stored events in decision order (occurred_at,
// event_id) with what detectors prepared for them and where they were read
// from, for rebuilding detector state at start-up.
func (s *Store) EachEvent(ctx context.Context, fn func(raw, prepared []byte, source string) error) (int, error) {
	rows, err := s.conn.Query(ctx, "SELECT event, prepared, source FROM "+s.db+".registrations FINAL ORDER BY occurred_at, occurred_at_ns, event_id")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var raw, prepared, source string
		if err := rows.Scan(&raw, &prepared, &source); err != nil {
			return n, err
		}
		if err := fn([]byte(raw), []byte(prepared), source); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// RegisteredEmail returns the address a registration was made with: the
// email of its latest submission or verification email in decision order,
// as the misuse-report intake needs it to check a token (see
// report.RegistrationLookup). ok is false when no such event is stored.
func (s *Store) RegisteredEmail(ctx context.Context, registrationID string) (addr string, ok bool, err error) {
	rows, err := s.conn.Query(ctx, "SELECT email FROM "+s.db+".registrations WHERE registration_id = "+Quote(registrationID)+
		" AND type IN ('registration.submitted', 'email.verification_sent') AND email != ''"+
		" ORDER BY occurred_at DESC, occurred_at_ns DESC, event_id DESC LIMIT 1")
	if err != nil {
		return "", false, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&addr); err != nil {
			return "", false, err
		}
		return addr, true, rows.Err()
	}
	return "", false, rows.Err()
}

// Version is the last stored score version of a registration.
type Version struct {
	RegistrationID string
	Version        uint32
	ContentHash    uint64
}

// Versions returns the highest stored score version of every registration.
func (s *Store) Versions(ctx context.Context) ([]Version, error) {
	rows, err := s.conn.Query(ctx, "SELECT registration_id, max(score_version) AS v, argMax(content_hash, score_version) AS h FROM "+
		s.db+".risk_scores GROUP BY registration_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		if err := rows.Scan(&v.RegistrationID, &v.Version, &v.ContentHash); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// LatestScore is the selection service's view of one registration.
type LatestScore struct {
	RegistrationID string          `json:"registration_id"`
	ScoreVersion   uint32          `json:"score_version"`
	Score          uint8           `json:"score"`
	Band           string          `json:"band"`
	Reasons        json.RawMessage `json:"reasons"`
	RuleSet        string          `json:"rule_set"`
	AsOf           string          `json:"as_of"`
	EventID        string          `json:"event_id"`
}

// Latest reads one registration's current score; ok is false when the
// registration has none.
func (s *Store) Latest(ctx context.Context, registrationID string) (LatestScore, bool, error) {
	var l LatestScore
	var reasons string
	var asOf = new(timeScan)
	row := s.conn.QueryRow(ctx, fmt.Sprintf(`SELECT registration_id, score_version, score, toString(band), reasons, rule_set,
formatDateTime(as_of, '%%Y-%%m-%%dT%%H:%%M:%%SZ'), event_id
FROM %s.risk_scores FINAL WHERE registration_id = %s ORDER BY score_version DESC LIMIT 1`, s.db, Quote(registrationID)))
	err := row.Scan(&l.RegistrationID, &l.ScoreVersion, &l.Score, &l.Band, &reasons, &l.RuleSet, &asOf.s, &l.EventID)
	if err != nil {
		if err.Error() == "sql: no rows in result set" {
			return l, false, nil
		}
		return l, false, err
	}
	l.Reasons = json.RawMessage(reasons)
	l.AsOf = asOf.s
	return l, true, nil
}

type timeScan struct{ s string }

func documentsJSON(d []event.Document) string {
	if len(d) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(d)
	return string(b)
}
