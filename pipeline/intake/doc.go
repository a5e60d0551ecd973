// Package intake receives "not me" misuse reports and hands the accepted
// ones to a sink:
//
//   - POST {prefix}/email: a raw RFC 5322 message, as mail gateways post
//     them. 202 with the JSON verdict when accepted, 422 with the reasons
//     when rejected, 503 with Retry-After when DNS or a store failed
//     temporarily, 413 over the size cap, 401 without the gateway token
//     (when one is configured).
//   - GET {prefix}/not-me?t=TOKEN: the link in the verification email. It
//     only shows a confirmation page with a form (mail scanners fetch links,
//     so a GET must never record anything); POST {prefix}/not-me records the
//     report. The token is checked on both.
//   - An optional SMTP listener (github.com/emersion/go-smtp) so that the
//     report mailbox's MX can point at Waspada, with size, recipient and
//     timeout limits.
//
// Every channel calls the injected Sink with a report.Report whose ID is
// deterministic, before the report is marked as seen: a sink failure is
// answered "retry later" and the retry is not mistaken for a replay; the
// sink must therefore be idempotent on Report.ID. In `waspada run` the sink
// produces the report as an email.misuse_reported event onto the
// registrations topic (cmd/waspada/run_reports.go).
package intake
