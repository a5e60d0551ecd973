package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/waspada/waspada/detectors/email"
	"github.com/waspada/waspada/detectors/email/dnszone"
	"github.com/waspada/waspada/detectors/email/report"
	"github.com/waspada/waspada/pipeline"
	"github.com/waspada/waspada/pipeline/chstore"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/intake"
)

// reportsPrefix is where the intake is mounted on the pipeline's HTTP server.
const reportsPrefix = "/v1/reports"

// usedHorizon is how long a stored report's single-use key is remembered
// after the report was received. Longer than any signature freshness window
// and any sensible not-me token lifetime (a stale reply or an expired token
// is refused anyway); memory is one map entry per report.
const usedHorizon = 366 * 24 * time.Hour

// reportsService is the misuse-report intake of `waspada run`: an accepted
// report becomes an email.misuse_reported event on the registrations topic
// (key = registration id) and the answer is 202 only after Kafka acked it.
// The pipeline then processes it like every other event (signals, score
// versions, misuse_reports row, address-released message), stores it, and
// replays it at start-up.
//
// Single use across restarts: the used-store is in memory, and it is
// rebuilt from the stored report events. Runner.OnReport hands it every
// report event the pipeline rebuilds from (ClickHouse, at start-up) or
// consumes, and the key of each report received before this process
// started is marked used. Reports received since were marked by this
// intake itself (after the ack); marking them again from the pipeline
// could race the intake's own mark and turn a first report into a
// "replay". A replay of a report still in flight (acked by Kafka but not
// yet consumed) when the process restarted is accepted once more as soon
// as it arrives and is consumed; it has no further effect, since the event
// id is the deterministic report id. Several instances behind one address
// share single use only through the stored events (each marks what it
// consumes).
type reportsService struct {
	in       *intake.Intake
	producer *pipeline.EventProducer
	used     *report.MemoryStore
	smtp     *smtp.Server
	smtpAddr string
	dns      string
	started  time.Time
	marked   atomic.Int64 // keys of earlier reports marked used
}

// startReports builds the intake when a token secret is configured, and
// hooks its used-store onto the runner. It returns nil, nil when reports
// are off; it says why on stdout either way.
func startReports(cfg *pipeline.Config, store *chstore.Store, runner *pipeline.Runner, metrics *pipeline.Metrics, stdout io.Writer) (*reportsService, error) {
	rc := cfg.Reports
	if !rc.Enabled() {
		fmt.Fprintln(stdout, "misuse reports: off (no token secret: set reports.token_secrets, --reports-secrets or WASPADA_REPORTS_SECRETS)")
		return nil, nil
	}
	if store == nil {
		return nil, errors.New("misuse reports need ClickHouse (registration lookup and single use across restarts); set --clickhouse or remove the token secrets")
	}
	if cfg.HTTP.Listen == "" && rc.SMTPListen == "" {
		return nil, errors.New("misuse reports need the HTTP server (--http) or an SMTP listener (--reports-smtp)")
	}
	keys := report.Keyring{Current: rc.TokenSecrets[0].ID, Keys: map[string][]byte{}}
	var errs []error
	for _, k := range rc.TokenSecrets {
		b, err := os.ReadFile(k.File)
		if err != nil {
			errs = append(errs, fmt.Errorf("reports: token secret %s: %w", k.ID, err))
			continue
		}
		keys.Keys[k.ID] = bytes.TrimRight(b, "\r\n")
	}
	if len(errs) == 0 {
		errs = append(errs, keys.Validate())
	}
	s := &reportsService{used: report.NewMemoryStore(), started: time.Now(), dns: "the system resolver"}
	var dns report.TXTResolver = report.NetResolver{}
	if rc.DNSZoneFile != "" {
		z, err := dnszone.ParseFile(rc.DNSZoneFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("reports: dns zone: %w", err))
		} else {
			dns, s.dns = z, fmt.Sprintf("zone file %s (%d names)", rc.DNSZoneFile, z.Len())
		}
	}
	vcfg := report.DefaultConfig()
	vcfg.ReportDomain, vcfg.ReportLocal = rc.Domain, rc.Local
	icfg := intake.DefaultConfig()
	icfg.GatewayToken = rc.GatewayToken
	icfg.SMTP.Addr = rc.SMTPListen
	icfg.SMTP.Domain = rc.Domain
	if err := errors.Join(append(errs, vcfg.Validate(), icfg.Validate())...); err != nil {
		return nil, err
	}
	lookup := report.RegistrationLookup(store.RegisteredEmail)
	v, err := report.New(vcfg, report.Deps{Keys: keys, DNS: dns, Registered: lookup, Seen: s.used})
	if err != nil {
		return nil, err
	}
	limits := event.DefaultLimits()
	limits.MaxBytes = cfg.Limits.MaxEventBytes
	s.producer = pipeline.NewEventProducer(cfg.Kafka, limits)
	s.in, err = intake.New(icfg, intake.Deps{Verifier: v, Keys: keys, Registered: lookup, Used: s.used,
		Sink: func(ctx context.Context, r report.Report) error { return s.producer.Produce(ctx, email.ReportEvent(r)) },
		Outcome: func(channel, outcome, class string) {
			if metrics != nil {
				metrics.Reports.WithLabelValues(channel, outcome, class).Inc()
			}
		}})
	if err != nil {
		s.producer.Close()
		return nil, err
	}
	runner.OnReport(s.observe)
	return s, nil
}

// observe is Runner.OnReport: mark the keys of reports received before
// this process started (see reportsService).
func (s *reportsService) observe(ev *event.Event) {
	if !ev.OccurredAt.Before(s.started) {
		return
	}
	r := email.ReportFromEvent(ev)
	if first, err := s.used.MarkUsed(context.Background(), r.UsedKey(), r.ReceivedAt.Add(usedHorizon)); err == nil && first {
		s.marked.Add(1)
	}
}

// mount adds the intake's routes under /v1/reports to the pipeline's
// handler.
func (s *reportsService) mount(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	s.in.Register(mux, reportsPrefix)
	return mux
}

// serveSMTP starts the optional SMTP listener.
func (s *reportsService) serveSMTP() error {
	srv, addr, err := s.in.ServeSMTP()
	if err != nil {
		return fmt.Errorf("reports smtp: %w", err)
	}
	s.smtp, s.smtpAddr = srv, addr.String()
	return nil
}

// summary says what is on, after the rebuild.
func (s *reportsService) summary(cfg pipeline.Config, httpAddr string, stdout io.Writer) {
	where := "no HTTP"
	if httpAddr != "" {
		where = fmt.Sprintf("POST http://%s%s/email, GET/POST http://%s%s/not-me", httpAddr, reportsPrefix, httpAddr, reportsPrefix)
	}
	fmt.Fprintf(stdout, "misuse reports: %s; replies to %s+TOKEN@%s; DKIM and DMARC from %s; %d earlier reports marked used; accepted reports go to %s, addresses released on %s\n",
		where, cfg.Reports.Local, cfg.Reports.Domain, s.dns, s.marked.Load(), cfg.Kafka.RegistrationsTopic, cfg.Kafka.AddressReleasedTopic)
	if s.smtp != nil {
		fmt.Fprintf(stdout, "misuse reports: SMTP on %s\n", s.smtpAddr)
	}
}

// Close stops the SMTP listener and the producer. Call it after the HTTP
// server is closed.
func (s *reportsService) Close() {
	if s.smtp != nil {
		s.smtp.Close()
	}
	s.producer.Close()
}
