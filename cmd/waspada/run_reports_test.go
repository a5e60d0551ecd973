package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/waspada/waspada/detectors/email"
	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline"
)

func TestReportsFlags(t *testing.T) {
	t.Setenv("WASPADA_REPORTS_GATEWAY_TOKEN", "gw")
	var pf pipelineFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	args := []string{"--reports-secrets", "k2=/etc/k2, k1=/etc/k1", "--reports-domain", "laporan.example",
		"--reports-dns-zone", "z.zone", "--address-released-topic", "x.released"}
	if err := pf.bind(fs, args); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := pf.finish(); err != nil {
		t.Fatal(err)
	}
	r := pf.cfg.Reports
	want := []pipeline.TokenSecret{{ID: "k2", File: "/etc/k2"}, {ID: "k1", File: "/etc/k1"}}
	if len(r.TokenSecrets) != 2 || r.TokenSecrets[0] != want[0] || r.TokenSecrets[1] != want[1] || r.Domain != "laporan.example" ||
		r.DNSZoneFile != "z.zone" || r.GatewayToken != "gw" || pf.cfg.Kafka.AddressReleasedTopic != "x.released" {
		t.Fatalf("%+v %q", r, pf.cfg.Kafka.AddressReleasedTopic)
	}
	for _, bad := range []string{"k1", "=/x", "k1="} {
		if _, err := parseSecrets(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestStartReportsOffAndMisconfigured(t *testing.T) {
	cfg := pipeline.DefaultConfig()
	var out bytes.Buffer
	s, err := startReports(&cfg, nil, nil, nil, &out)
	if s != nil || err != nil || !strings.Contains(out.String(), "misuse reports: off (no token secret") {
		t.Fatalf("%v %v %q", s, err, out.String())
	}
	cfg.Reports.TokenSecrets = []pipeline.TokenSecret{{ID: "k1", File: "/nonexistent"}}
	if _, err := startReports(&cfg, nil, nil, nil, &out); err == nil || !strings.Contains(err.Error(), "need ClickHouse") {
		t.Fatalf("without ClickHouse: %v", err)
	}
}

// The pipeline marks the keys of reports received before this process
// started (stored or still in the topic), and leaves the ones received
// since to the intake, whose own mark they would otherwise race.
func TestObserveMarksOnlyEarlierReports(t *testing.T) {
	start := time.Date(2026, 4, 11, 10, 0, 0, 0, time.UTC)
	s := &reportsService{used: report.NewMemoryStore(), started: start}
	s.used.Now = func() time.Time { return start }
	old := report.Report{ID: "MR1", Channel: report.ChannelEmail, RegistrationID: "R1", Address: "a@x.example",
		ReceivedAt: start.Add(-time.Hour), MessageID: "<m1@x.example>"}
	link := report.Report{ID: "MR2", Channel: report.ChannelLink, RegistrationID: "R2", Address: "b@x.example",
		ReceivedAt: start.Add(-48 * time.Hour), TokenID: "t2"}
	fresh := report.Report{ID: "MR3", Channel: report.ChannelEmail, RegistrationID: "R3", Address: "c@x.example",
		ReceivedAt: start.Add(time.Second), MessageID: "<m3@x.example>"}
	for _, r := range []report.Report{old, link, fresh, old} {
		s.observe(email.ReportEvent(r))
	}
	if n := s.marked.Load(); n != 2 {
		t.Errorf("marked %d, want 2", n)
	}
	ctx := context.Background()
	for _, c := range []struct {
		r     report.Report
		first bool
	}{{old, false}, {link, false}, {fresh, true}} {
		if first, _ := s.used.MarkUsed(ctx, c.r.UsedKey(), start.Add(time.Hour)); first != c.first {
			t.Errorf("%s: MarkUsed first=%v, want %v", c.r.ID, first, c.first)
		}
	}
}
