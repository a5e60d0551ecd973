package intake

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/emersion/go-smtp"
)

// SMTPServer builds the optional SMTP listener for the report mailbox. It
// accepts mail only for the verifier's report domain, at most
// MaxMessageBytes per message and MaxRecipients per transaction. Answers:
// 250 accepted, 550 5.7.1 rejected (with the reason classes), 451 4.4.3
// temporary (DNS or storage: the sending MTA retries), 552 too large.
// Run it with Serve(listener); Close is idempotent.
func (in *Intake) SMTPServer() *smtp.Server {
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{in: in}, nil
	}))
	c := in.cfg.SMTP
	s.Addr, s.Domain = c.Addr, c.Domain
	s.MaxMessageBytes, s.MaxRecipients = c.MaxMessageBytes, c.MaxRecipients
	s.ReadTimeout, s.WriteTimeout = c.ReadTimeout, c.WriteTimeout
	s.ErrorLog = discardLogger{}
	return s
}

// ServeSMTP listens on cfg.SMTP.Addr and serves until Close. It returns the
// server and the bound address (useful with port 0).
func (in *Intake) ServeSMTP() (*smtp.Server, net.Addr, error) {
	if in.cfg.SMTP.Addr == "" {
		return nil, nil, errors.New("intake: smtp.addr is empty")
	}
	ln, err := net.Listen("tcp", in.cfg.SMTP.Addr)
	if err != nil {
		return nil, nil, err
	}
	s := in.SMTPServer()
	go s.Serve(ln)
	return s, ln.Addr(), nil
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

type session struct {
	in   *Intake
	rcpt bool
}

func (s *session) Reset()        { s.rcpt = false }
func (s *session) Logout() error { return nil }

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	_, domain, ok := strings.Cut(to, "@")
	if !ok || !strings.EqualFold(strings.TrimSuffix(domain, "."), s.in.deps.Verifier.Config().ReportDomain) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox here"}
	}
	s.rcpt = true
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // ErrDataTooLarge is already an SMTP 552
	}
	res, code := s.in.handleMessage(contextBackground(), raw)
	switch code {
	case http.StatusAccepted:
		return nil
	case http.StatusServiceUnavailable:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 3}, Message: "temporary failure, try again later"}
	case http.StatusUnprocessableEntity:
		var classes []string
		for _, c := range res.Verdict.Classes() {
			classes = append(classes, string(c))
		}
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "report rejected: " + strings.Join(classes, ", ")}
	}
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "message not accepted"}
}

// contextBackground: go-smtp gives sessions no context; the read and write
// timeouts bound the transaction.
func contextBackground() context.Context { return context.Background() }
