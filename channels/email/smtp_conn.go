package email

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tlsMode is how a connection is protected.
type tlsMode int

const (
	tlsAuto     tlsMode = iota // STARTTLS when offered; required when credentials leave the host
	tlsStartTLS                // STARTTLS always
	tlsImplicit                // TLS from the first byte (port 465)
	tlsNone                    // clear text, loopback only
)

// connConfig is what every connection of a pool shares.
type connConfig struct {
	addr        string
	host        string
	mode        tlsMode
	tlsConfig   *tls.Config
	loopback    bool
	username    string
	password    string
	hello       string // EHLO name; empty: the local address literal
	dialTimeout time.Duration
	cmdTimeout  time.Duration
}

// Buffer sizes: replies and commands are small; a message body larger than
// the write buffer goes to the socket directly without a copy.
const (
	readBufSize  = 4096
	writeBufSize = 2048
)

// smtpConn is one SMTP session kept open across messages: EHLO, TLS and AUTH
// happen once, then each message costs two round trips when the server
// pipelines.
type smtpConn struct {
	nc      net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	ext     extensions
	timeout time.Duration
	used    int  // transactions started on this connection
	sent    int  // messages the server accepted on it
	broken  bool // the session is in an unknown state: close, never reuse
}

// dialConn opens and prepares a session. Every step runs under a deadline
// and the context; a failure closes the connection.
func dialConn(ctx context.Context, cc *connConfig) (*smtpConn, error) {
	d := net.Dialer{Timeout: cc.dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", cc.addr)
	if err != nil {
		return nil, ioError("connecting to "+cc.addr, err)
	}
	c := &smtpConn{nc: nc, timeout: cc.cmdTimeout}
	stop := c.watch(ctx)
	err = c.open(ctx, cc)
	if !stop() {
		err = ctxError("connecting to "+cc.addr, ctx)
	}
	if err != nil {
		c.nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *smtpConn) open(ctx context.Context, cc *connConfig) error {
	c.arm(ctx, cc.dialTimeout+cc.cmdTimeout)
	if cc.mode == tlsImplicit {
		tc := tls.Client(c.nc, cc.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return ioError("TLS handshake with "+cc.addr, err)
		}
		c.nc = tc
	}
	c.r = bufio.NewReaderSize(c.nc, readBufSize)
	c.w = bufio.NewWriterSize(c.nc, writeBufSize)
	c.arm(ctx, c.timeout)
	code, text, err := readReply(c.r, true)
	if err != nil {
		return c.fail("reading the greeting of "+cc.addr, err)
	}
	if code != 220 {
		return &ReplyError{Command: "connect", Code: code, Text: text}
	}
	hello := cc.hello
	if hello == "" {
		hello = addressLiteral(c.nc.LocalAddr())
	}
	if err := c.ehlo(ctx, hello); err != nil {
		return err
	}
	_, isTLS := c.nc.(*tls.Conn)
	wantTLS := cc.mode == tlsStartTLS || (cc.mode == tlsAuto && (c.ext.startTLS || (cc.username != "" && !cc.loopback)))
	if !isTLS && wantTLS {
		if !c.ext.startTLS {
			return fmt.Errorf("%w: %s does not offer STARTTLS; use a server that does, set TLS to \"implicit\" for port 465, or \"none\" for a loopback relay", ErrTLSRequired, cc.addr)
		}
		if err := c.startTLS(ctx, cc); err != nil {
			return err
		}
		if err := c.ehlo(ctx, hello); err != nil {
			return err
		}
		isTLS = true
	}
	if cc.username != "" {
		if !isTLS && !cc.loopback {
			return fmt.Errorf("%w: refusing to send the SMTP password to %s without TLS", ErrTLSRequired, cc.addr)
		}
		return c.auth(ctx, cc)
	}
	return nil
}

// addressLiteral names us in EHLO when no host name is configured; RFC 5321
// allows "[192.0.2.1]" for a client without a domain name.
func addressLiteral(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return "localhost"
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		return "[" + ip4.String() + "]"
	}
	return "[IPv6:" + ta.IP.String() + "]"
}

func (c *smtpConn) ehlo(ctx context.Context, hello string) error {
	code, text, err := c.cmd(ctx, true, "EHLO "+hello)
	if err != nil {
		return err
	}
	if code == 250 {
		c.ext = parseEHLO(text)
		return nil
	}
	if code != 500 && code != 502 {
		return &ReplyError{Command: "EHLO", Code: code, Text: text}
	}
	// A server from before ESMTP: plain HELO and no extensions.
	code, text, err = c.cmd(ctx, false, "HELO "+hello)
	if err != nil {
		return err
	}
	if code != 250 {
		return &ReplyError{Command: "HELO", Code: code, Text: text}
	}
	c.ext = extensions{}
	return nil
}

func (c *smtpConn) startTLS(ctx context.Context, cc *connConfig) error {
	code, text, err := c.cmd(ctx, false, "STARTTLS")
	if err != nil {
		return err
	}
	if code != 220 {
		return &ReplyError{Command: "STARTTLS", Code: code, Text: text}
	}
	// Bytes read ahead of the handshake would be a plain-text injection
	// into the encrypted session (the STARTTLS command injection attack).
	if c.r.Buffered() > 0 {
		return fmt.Errorf("%w: the server sent data after agreeing to STARTTLS", errProtocol)
	}
	tc := tls.Client(c.nc, cc.tlsConfig)
	c.arm(ctx, c.timeout)
	if err := tc.HandshakeContext(ctx); err != nil {
		return ioError("TLS handshake with "+cc.addr, err)
	}
	c.nc = tc
	c.r.Reset(tc)
	c.w.Reset(tc)
	return nil
}

func (c *smtpConn) auth(ctx context.Context, cc *connConfig) error {
	var plain, login bool
	for _, m := range c.ext.auth {
		plain = plain || m == "PLAIN"
		login = login || m == "LOGIN"
	}
	b64 := base64.StdEncoding.EncodeToString
	var code int
	var text string
	var err error
	switch {
	case plain:
		code, text, err = c.cmd(ctx, false, "AUTH PLAIN "+b64([]byte("\x00"+cc.username+"\x00"+cc.password)))
	case login:
		code, text, err = c.cmd(ctx, false, "AUTH LOGIN")
		for _, answer := range []string{cc.username, cc.password} {
			if err != nil || code != 334 {
				break
			}
			code, text, err = c.cmd(ctx, false, b64([]byte(answer)))
		}
	default:
		return fmt.Errorf("%w: %s offers AUTH %q; we speak PLAIN and LOGIN", ErrAuth, cc.addr, strings.Join(c.ext.auth, " "))
	}
	if err != nil {
		return err
	}
	if code != 235 {
		return fmt.Errorf("%w: check SMTP_USERNAME and SMTP_PASSWORD: %w", ErrAuth, &ReplyError{Command: "AUTH", Code: code, Text: text})
	}
	return nil
}

// cmd sends one command and reads its reply, under a fresh deadline.
func (c *smtpConn) cmd(ctx context.Context, keepText bool, line string) (int, string, error) {
	c.arm(ctx, c.timeout)
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return 0, "", c.fail("sending "+verb(line), err)
	}
	code, text, err := readReply(c.r, keepText)
	if err != nil {
		return 0, "", c.fail("reading the reply to "+verb(line), err)
	}
	return code, text, nil
}

// verb names a command in error messages without its arguments, and a
// bare SASL answer (a base64 user name or password) not at all.
func verb(line string) string {
	v, _, _ := strings.Cut(line, " ")
	if v == "." {
		return "the end of DATA"
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 'A' || v[i] > 'Z' {
			return "the AUTH exchange"
		}
	}
	if v == "" {
		return "the AUTH exchange"
	}
	return v
}

// fail marks the connection unusable and classifies err.
func (c *smtpConn) fail(op string, err error) error {
	c.broken = true
	if errors.Is(err, errProtocol) {
		return fmt.Errorf("%w: %s: %w", ErrConnection, op, err)
	}
	return ioError(op, err)
}

// ctxError reports an exchange the context cut short; running out of time
// is a timeout like any other.
func ctxError(op string, ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: %v", ErrTimeout, op, ctx.Err())
	}
	return fmt.Errorf("%w: %s: %v", ErrConnection, op, ctx.Err())
}

// arm sets the deadline for the next exchange: d from now, or the context's
// deadline if that comes first.
func (c *smtpConn) arm(ctx context.Context, d time.Duration) {
	t := time.Now().Add(d)
	if cd, ok := ctx.Deadline(); ok && cd.Before(t) {
		t = cd
	}
	c.nc.SetDeadline(t)
}

// watch closes the connection when ctx is cancelled, which unblocks any read
// or write at once. stop reports false if that happened.
func (c *smtpConn) watch(ctx context.Context) (stop func() bool) {
	if ctx.Done() == nil {
		return func() bool { return true }
	}
	nc := c.nc
	return context.AfterFunc(ctx, func() { nc.Close() })
}

// deliver runs one mail transaction for msg, a complete RFC 5322 message
// with CRLF line breaks. stale reports that a reused connection failed
// before the server said anything about this message (it had closed the idle
// connection), so a fresh connection may safely try again.
func (c *smtpConn) deliver(ctx context.Context, from, to string, msg []byte) (id string, stale bool, err error) {
	reused := c.used > 0
	c.used++
	stop := c.watch(ctx)
	defer func() {
		if !stop() {
			// The context closed the connection; a message the server
			// already accepted still counts as sent.
			c.broken = true
			if err != nil {
				stale = false
				err = ctxError("sending", ctx)
			}
		}
	}()
	c.arm(ctx, c.timeout)
	w := c.w
	w.WriteString("MAIL FROM:<")
	w.WriteString(from)
	w.WriteString(">")
	if c.ext.size > 0 {
		w.WriteString(" SIZE=")
		w.WriteString(strconv.Itoa(len(msg)))
	}
	w.WriteString("\r\n")
	if !c.ext.pipelining {
		return c.deliverStepwise(ctx, to, msg, reused)
	}
	w.WriteString("RCPT TO:<")
	w.WriteString(to)
	w.WriteString(">\r\nDATA\r\n")
	if err := w.Flush(); err != nil {
		return "", reused && hungUp(err), c.fail("sending MAIL FROM", err)
	}
	var codes [3]int
	var texts [3]string
	for i, cmd := range pipelinedCommands {
		code, text, err := readReply(c.r, false)
		if err != nil {
			return "", reused && i == 0 && hungUp(err), c.fail("reading the reply to "+cmd, err)
		}
		codes[i], texts[i] = code, text
		if code == 421 {
			c.broken = true
			return "", reused && i == 0, &ReplyError{Command: cmd, Code: code, Text: text}
		}
	}
	for i, cmd := range pipelinedCommands[:2] {
		if codes[i]/100 != 2 {
			refusal := &ReplyError{Command: cmd, Code: codes[i], Text: texts[i]}
			if codes[2] == 354 {
				// The server took DATA despite the refusal (RFC 2920
				// says it should not): end the empty message.
				if _, _, err := c.cmd(ctx, false, "."); err != nil {
					return "", false, err
				}
			}
			c.reset(ctx)
			return "", false, refusal
		}
	}
	if codes[2] != 354 {
		c.reset(ctx)
		return "", false, &ReplyError{Command: "DATA", Code: codes[2], Text: texts[2]}
	}
	return c.sendBody(ctx, msg)
}

// pipelinedCommands are the commands sent in one write, in order.
var pipelinedCommands = [...]string{"MAIL", "RCPT", "DATA"}

// hungUp tells a connection the server closed (while it sat in the pool)
// from one that is slow: only the first is worth a redial, since a hung
// server would just hang the retry too.
func hungUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// deliverStepwise is the transaction for servers without PIPELINING: one
// round trip per command. MAIL FROM is already buffered.
func (c *smtpConn) deliverStepwise(ctx context.Context, to string, msg []byte, reused bool) (string, bool, error) {
	if err := c.w.Flush(); err != nil {
		return "", reused && hungUp(err), c.fail("sending MAIL FROM", err)
	}
	code, text, err := readReply(c.r, false)
	if err != nil {
		return "", reused && hungUp(err), c.fail("reading the reply to MAIL", err)
	}
	if code == 421 {
		c.broken = true
		return "", reused, &ReplyError{Command: "MAIL", Code: code, Text: text}
	}
	if code/100 != 2 {
		c.reset(ctx)
		return "", false, &ReplyError{Command: "MAIL", Code: code, Text: text}
	}
	for _, line := range [...]string{"RCPT TO:<" + to + ">", "DATA"} {
		code, text, err := c.cmd(ctx, false, line)
		if err != nil {
			return "", false, err
		}
		want := 2
		if line == "DATA" {
			want = 3
		}
		if code/100 != want {
			if code == 421 {
				c.broken = true
			} else {
				c.reset(ctx)
			}
			return "", false, &ReplyError{Command: verb(line), Code: code, Text: text}
		}
	}
	return c.sendBody(ctx, msg)
}

// sendBody writes the message after a 354 and reads the verdict.
func (c *smtpConn) sendBody(ctx context.Context, msg []byte) (string, bool, error) {
	c.arm(ctx, c.timeout)
	writeData(c.w, msg)
	if err := c.w.Flush(); err != nil {
		return "", false, c.fail("sending the message", err)
	}
	code, text, err := readReply(c.r, true)
	if err != nil {
		return "", false, c.fail("reading the reply to the message", err)
	}
	if code/100 != 2 {
		if code == 421 {
			c.broken = true
		}
		return "", false, &ReplyError{Command: "DATA", Code: code, Text: text}
	}
	c.sent++
	return queueID(text), false, nil
}

// writeData writes msg for the DATA phase: each line starting with '.' gets
// a second one (RFC 5321 §4.5.2), then the terminating ".". The message goes
// to the writer in the chunks between such lines, never copied whole; a
// write error sticks in the writer and surfaces at Flush.
func writeData(w *bufio.Writer, msg []byte) {
	if len(msg) > 0 && msg[0] == '.' {
		w.WriteByte('.')
	}
	rest := msg
	for {
		i := bytes.Index(rest, dotLine)
		if i < 0 {
			break
		}
		w.Write(rest[:i+len(dotLine)])
		w.WriteByte('.')
		rest = rest[i+len(dotLine):]
	}
	w.Write(rest)
	if !bytes.HasSuffix(msg, crlf) {
		w.Write(crlf)
	}
	w.WriteString(".\r\n")
}

var (
	dotLine = []byte("\n.")
	crlf    = []byte("\r\n")
)

// reset ends a failed transaction so the connection stays usable; if even
// that fails, the connection is dropped.
func (c *smtpConn) reset(ctx context.Context) {
	if c.broken {
		return
	}
	code, _, err := c.cmd(ctx, false, "RSET")
	if err != nil || code != 250 {
		c.broken = true
	}
}

// close says QUIT when the session is healthy, then closes; a server that
// does not answer within a second is not waited for. Nothing useful can be
// done about a failure here, so none is reported.
func (c *smtpConn) close() {
	if !c.broken {
		ctx, cancel := context.WithTimeout(context.Background(), min(time.Second, c.timeout))
		_, _, _ = c.cmd(ctx, false, "QUIT")
		cancel()
	}
	c.nc.Close()
}
