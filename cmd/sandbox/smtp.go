package main

import (
	"bufio"
	"errors"
	"io"
	"mime"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTP catcher: accepts mail like a relay would and keeps the envelope, the
// headers and the first 4 KB of each body, so memory stays bounded under load.

const smtpBodyKept = 4096

// emailBody is what the catcher keeps of one message.
type emailBody struct {
	From                string              `json:"from"`
	Recipients          []string            `json:"recipients"`
	Subject             string              `json:"subject"`
	ListUnsubscribe     string              `json:"list_unsubscribe,omitempty"`
	ListUnsubscribePost string              `json:"list_unsubscribe_post,omitempty"`
	Headers             map[string][]string `json:"headers"`
	Size                int64               `json:"size"`
	Body                string              `json:"body"`
	Truncated           bool                `json:"truncated"`
}

// smtpServer builds the catcher. AUTH PLAIN without TLS is allowed only when
// addr is a loopback address, where no password crosses a network.
func (s *sandbox) smtpServer(addr string) *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{s: s}, nil
	}))
	srv.Addr = addr
	srv.Domain = "sandbox.localhost"
	srv.MaxMessageBytes = 25 << 20
	srv.MaxRecipients = 1000
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.AllowInsecureAuth = isLoopback(addr)
	return srv
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type smtpSession struct {
	s      *sandbox
	authed bool
	from   string
	to     []string
}

var errAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}

func (ss *smtpSession) AuthMechanisms() []string {
	if ss.s.cfg.SMTPUsername == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.s.cfg.SMTPUsername == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) || username != ss.s.cfg.SMTPUsername || password != ss.s.cfg.SMTPPassword {
			return errAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.cfg.SMTPUsername != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	switch ss.s.faults.take(chEmail) {
	case fault5xx:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary server failure, try again later"}
	case faultFlowControl:
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Too many messages, slow down"}
	case faultHang:
		t := time.NewTimer(5 * time.Minute)
		defer t.Stop()
		select {
		case <-ss.s.ctx.Done():
		case <-t.C:
		}
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Timed out"}
	}
	ss.from = from
	ss.to = nil
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (ss *smtpSession) Data(r io.Reader) error {
	cr := &countingReader{r: r}
	br := bufio.NewReader(cr)
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		// Keep what was readable; a relay would not refuse a message for a
		// sloppy header either, and the gateway's author sees it in the UI.
		hdr = textproto.MIMEHeader{"X-Sandbox-Header-Error": {err.Error()}}
	}
	kept := make([]byte, smtpBodyKept)
	n, _ := io.ReadFull(br, kept)
	rest, err := io.Copy(io.Discard, br)
	if err != nil {
		return err
	}
	subject := hdr.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = dec
	}
	typ := "text/plain"
	if mt, _, err := mime.ParseMediaType(hdr.Get("Content-Type")); err == nil {
		typ = mt
	}
	body := emailBody{
		From: ss.from, Recipients: ss.to, Subject: subject,
		ListUnsubscribe: hdr.Get("List-Unsubscribe"), ListUnsubscribePost: hdr.Get("List-Unsubscribe-Post"),
		Headers: hdr, Size: cr.n, Body: string(kept[:n]), Truncated: rest > 0,
	}
	ss.s.store.add(message{Channel: chEmail, API: "SMTP", To: strings.Join(ss.to, ","), Type: typ, Body: body, Time: ss.s.now()})
	return nil
}

func (ss *smtpSession) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *smtpSession) Logout() error { return nil }
