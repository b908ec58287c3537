package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

// outcome is what a test checks about a failed send.
type outcome struct {
	Kind     channels.ErrorKind
	Code     string
	Sentinel string
}

var sentinels = []error{ErrInvalidMessage, ErrRejected, ErrTimeout, ErrConnection, ErrTLSRequired, ErrAuth, ErrClosed, context.Canceled}

func outcomeOf(err error) outcome {
	if err == nil {
		return outcome{}
	}
	o := outcome{Kind: channels.KindOfError(err), Sentinel: "none"}
	var se *channels.SendError
	if errors.As(err, &se) {
		o.Code = se.Code
	} else {
		o.Sentinel = "not a SendError"
		return o
	}
	var names []string
	for _, s := range sentinels {
		if errors.Is(err, s) {
			names = append(names, s.Error())
		}
	}
	if names != nil {
		o.Sentinel = strings.Join(names, " + ")
	}
	return o
}

func TestSendRejectsBadMessages(t *testing.T) {
	// Rendering fails before any connection, so no server is needed.
	s := newTestSender(t, "127.0.0.1:1", nil)
	long := strings.Repeat("x", 1000)
	tests := []struct {
		name   string
		modify func(m *channels.Outbound)
	}{
		{"wrong kind", func(m *channels.Outbound) { m.Kind = channels.KindSMS }},
		{"no body", func(m *channels.Outbound) { m.HTML, m.Text = "", "" }},
		{"no subject", func(m *channels.Outbound) { m.Subject = "" }},
		{"subject with a line break", func(m *channels.Outbound) { m.Subject = "hi\r\nBcc: all@example.com" }},
		{"recipient with a display name", func(m *channels.Outbound) { m.To = "张伟 <zw@example.com>" }},
		{"recipient not an address", func(m *channels.Outbound) { m.To = "zw.example.com" }},
		{"recipient with CRLF", func(m *channels.Outbound) { m.To = "zw@example.com>\r\nDATA" }},
		{"non-ASCII recipient", func(m *channels.Outbound) { m.To = "张伟@example.com" }},
		{"empty message id", func(m *channels.Outbound) { m.ID = "" }},
		{"message id with @", func(m *channels.Outbound) { m.ID = "a@b" }},
		{"message id with a space", func(m *channels.Outbound) { m.ID = "a b" }},
		{"reserved header", func(m *channels.Outbound) { m.Headers = map[string]string{"message-id": "<x@y>"} }},
		{"tracked header on marketing mail", func(m *channels.Outbound) { m.Headers = map[string]string{"List-Unsubscribe": "<mailto:x@y>"} }},
		{"header injection", func(m *channels.Outbound) { m.Headers = map[string]string{"X-A": "1\nBcc: all@example.com"} }},
		{"header name with a colon", func(m *channels.Outbound) { m.Headers = map[string]string{"X:A": "1"} }},
		{"header too long", func(m *channels.Outbound) { m.Headers = map[string]string{"X-A": long} }},
		{"campaign too long to sign", func(m *channels.Outbound) { m.Campaign = long }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := campaignMessage("m1")
			tt.modify(m)
			_, err := s.Send(t.Context(), m)
			want := outcome{Kind: channels.Permanent, Sentinel: ErrInvalidMessage.Error()}
			if diff := cmp.Diff(want, outcomeOf(err)); diff != "" {
				t.Errorf("Send: %v (-want +got):\n%s", err, diff)
			}
		})
	}
	if _, err := s.Send(t.Context(), nil); channels.KindOfError(err) != channels.Permanent {
		t.Errorf("Send(nil) = %v, want a permanent error", err)
	}
}

func TestSendMapsReplies(t *testing.T) {
	smtpErr := func(code int, enh smtp.EnhancedCode, msg string) error {
		return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
	}
	tests := []struct {
		name             string
		mail, rcpt       func(string) error
		data             func() error
		want             outcome
		wantReplyCommand string
		// wantSessions after a second, good send: 1 means the
		// connection survived the failure (RSET), 2 that it was dropped.
		wantSessions int32
	}{
		{"550 user unknown on RCPT", nil, func(string) error { return smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "no such user") }, nil,
			outcome{channels.Permanent, "550", ErrRejected.Error()}, "RCPT", 1},
		{"551 on RCPT", nil, func(string) error { return smtpErr(551, smtp.EnhancedCode{5, 1, 6}, "user not local") }, nil,
			outcome{channels.Permanent, "551", ErrRejected.Error()}, "RCPT", 1},
		{"553 mailbox name not allowed", nil, func(string) error { return smtpErr(553, smtp.EnhancedCode{5, 1, 3}, "bad mailbox") }, nil,
			outcome{channels.Permanent, "553", ErrRejected.Error()}, "RCPT", 1},
		{"451 greylisted on RCPT", nil, func(string) error { return smtpErr(451, smtp.EnhancedCode{4, 7, 1}, "try later") }, nil,
			outcome{channels.Transient, "451", ErrRejected.Error()}, "RCPT", 1},
		{"554 policy on MAIL", func(string) error { return smtpErr(554, smtp.EnhancedCode{5, 7, 1}, "sender blocked") }, nil, nil,
			outcome{channels.Permanent, "554", ErrRejected.Error()}, "MAIL", 1},
		{"421 on MAIL drops the connection", func(string) error { return smtpErr(421, smtp.EnhancedCode{4, 3, 2}, "shutting down") }, nil, nil,
			outcome{channels.Transient, "421", ErrRejected.Error()}, "MAIL", 2},
		{"552 after the data", nil, nil, func() error { return smtpErr(552, smtp.EnhancedCode{5, 3, 4}, "too big") },
			outcome{channels.Permanent, "552", ErrRejected.Error()}, "DATA", 1},
		{"452 after the data", nil, nil, func() error { return smtpErr(452, smtp.EnhancedCode{4, 3, 1}, "disk full") },
			outcome{channels.Transient, "452", ErrRejected.Error()}, "DATA", 1},
	}
	for _, pipelined := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/pipelining=%v", tt.name, pipelined), func(t *testing.T) {
				var fail sync.Map // the first message fails, the second goes through
				once := func(f func() error) func() error {
					if f == nil {
						return nil
					}
					return func() error {
						if _, done := fail.LoadOrStore("x", true); done {
							return nil
						}
						return f()
					}
				}
				one := func(f func(string) error) func(string) error {
					if f == nil {
						return nil
					}
					g := once(func() error { return f("") })
					return func(string) error { return g() }
				}
				var wrap func(net.Listener) net.Listener
				if !pipelined {
					wrap = func(l net.Listener) net.Listener { return dropLines{l, "PIPELINING"} }
				}
				srv := startServer(t, wrap, withHooks(one(tt.mail), one(tt.rcpt), once(tt.data)))
				s := newTestSender(t, srv.Addr, func(c *SenderConfig) { c.PoolSize = 1 })
				_, err := s.Send(t.Context(), campaignMessage("m1"))
				if diff := cmp.Diff(tt.want, outcomeOf(err)); diff != "" {
					t.Errorf("Send: %v (-want +got):\n%s", err, diff)
				}
				var re *ReplyError
				if !errors.As(err, &re) || re.Command != tt.wantReplyCommand {
					t.Errorf("Send: %v, want a ReplyError for %s", err, tt.wantReplyCommand)
				}
				if _, err := s.Send(t.Context(), campaignMessage("m2")); err != nil {
					t.Fatalf("the send after the failure: %v", err)
				}
				if got := srv.sessions.Load(); got != tt.wantSessions {
					t.Errorf("server saw %d sessions, want %d", got, tt.wantSessions)
				}
				if got := len(srv.messages()); got != 1 {
					t.Errorf("server stored %d messages, want 1", got)
				}
			})
		}
	}
}

func TestSendRedialsOnceAfterIdleClose(t *testing.T) {
	srv := startServer(t, nil, withReadTimeout(100*time.Millisecond))
	s := newTestSender(t, srv.Addr, func(c *SenderConfig) { c.PoolSize = 1 })
	if _, err := s.Send(t.Context(), campaignMessage("m1")); err != nil {
		t.Fatal(err)
	}
	// Wait until the server has said 421 and hung up.
	for deadline := time.Now().Add(5 * time.Second); srv.logouts.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not close the idle connection")
		}
	}
	if _, err := s.Send(t.Context(), campaignMessage("m2")); err != nil {
		t.Fatalf("the send after the server closed the idle connection: %v", err)
	}
	if got := srv.sessions.Load(); got != 2 {
		t.Errorf("server saw %d sessions, want 2", got)
	}
	if got := len(srv.messages()); got != 2 {
		t.Errorf("server stored %d messages, want 2", got)
	}
}

func TestSendRedialsOnlyOnce(t *testing.T) {
	// Every connection takes one message and then answers the next MAIL
	// with 421: the reused connection fails stale, the fresh one fails too,
	// and that second failure is returned, not retried.
	var mu sync.Mutex
	count := 0
	srv := startServer(t, nil, withHooks(func(string) error {
		mu.Lock()
		defer mu.Unlock()
		count++
		if count == 1 {
			return nil
		}
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "going away"}
	}, nil, nil))
	s := newTestSender(t, srv.Addr, func(c *SenderConfig) { c.PoolSize = 1 })
	if _, err := s.Send(t.Context(), campaignMessage("m1")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Send(t.Context(), campaignMessage("m2"))
	if diff := cmp.Diff(outcome{channels.Transient, "421", ErrRejected.Error()}, outcomeOf(err)); diff != "" {
		t.Errorf("Send: %v (-want +got):\n%s", err, diff)
	}
	if got := srv.sessions.Load(); got != 2 {
		t.Errorf("server saw %d sessions, want 2 (one redial)", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if count != 3 {
		t.Errorf("server saw %d MAIL commands, want 3", count)
	}
}

func TestSendTimesOut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name   string
		script func(c net.Conn)
	}{
		{"silent after connect", nil},
		{"silent after EHLO", func(c net.Conn) {
			fmt.Fprintf(c, "220 mx.test ESMTP\r\n")
			readLine(c)
		}},
		{"silent after the message", func(c net.Conn) {
			fmt.Fprintf(c, "220 mx.test ESMTP\r\n")
			readLine(c)
			fmt.Fprintf(c, "250-mx.test\r\n250 PIPELINING\r\n")
			for i := 0; i < 3; i++ {
				readLine(c)
			}
			fmt.Fprintf(c, "250 ok\r\n250 ok\r\n354 go on\r\n")
			for {
				l, err := readLine(c)
				if err != nil || l == "." {
					return
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := hangingServer(t, tt.script)
			s := newTestSender(t, addr, func(c *SenderConfig) { c.CommandTimeout = timeout })
			start := time.Now()
			_, err := s.Send(t.Context(), campaignMessage("m1"))
			elapsed := time.Since(start)
			if diff := cmp.Diff(outcome{Kind: channels.Transient, Sentinel: ErrTimeout.Error()}, outcomeOf(err)); diff != "" {
				t.Errorf("Send: %v (-want +got):\n%s", err, diff)
			}
			if elapsed > 3*timeout {
				t.Errorf("Send took %v with CommandTimeout %v", elapsed, timeout)
			}
		})
	}
}

// TestSendDoesNotRedialAHungServer: only a connection the server closed is
// retried; a pooled one that stops answering fails after CommandTimeout.
func TestSendDoesNotRedialAHungServer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	var conns atomic.Int32
	addr := hangingServer(t, func(c net.Conn) {
		conns.Add(1)
		fmt.Fprintf(c, "220 mx.test ESMTP\r\n")
		readLine(c)
		fmt.Fprintf(c, "250-mx.test\r\n250 PIPELINING\r\n")
		for i := 0; i < 3; i++ {
			readLine(c)
		}
		fmt.Fprintf(c, "250 ok\r\n250 ok\r\n354 go on\r\n")
		for {
			if l, err := readLine(c); err != nil || l == "." {
				break
			}
		}
		fmt.Fprintf(c, "250 2.0.0 Ok: queued as 7D3F2A\r\n")
	})
	s := newTestSender(t, addr, func(c *SenderConfig) { c.CommandTimeout, c.PoolSize = timeout, 1 })
	rc, err := s.Send(t.Context(), campaignMessage("m1"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(channels.Receipt{PlatformID: "7D3F2A", Kind: channels.KindEmail}, rc); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}
	start := time.Now()
	_, err = s.Send(t.Context(), campaignMessage("m2"))
	if diff := cmp.Diff(outcome{Kind: channels.Transient, Sentinel: ErrTimeout.Error()}, outcomeOf(err)); diff != "" {
		t.Errorf("Send: %v (-want +got):\n%s", err, diff)
	}
	if elapsed := time.Since(start); elapsed > 2*timeout {
		t.Errorf("Send took %v with CommandTimeout %v", elapsed, timeout)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the sender opened %d connections, want 1", n)
	}
}

func TestSendHonoursContext(t *testing.T) {
	addr := hangingServer(t, nil)
	s := newTestSender(t, addr, func(c *SenderConfig) { c.CommandTimeout = time.Minute })

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := s.Send(ctx, campaignMessage("m1"))
	if diff := cmp.Diff(outcome{Kind: channels.Transient, Sentinel: ErrConnection.Error() + " + " + context.Canceled.Error()}, outcomeOf(err)); diff != "" {
		t.Errorf("cancelled Send: %v (-want +got):\n%s", err, diff)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("cancelled Send took %v", elapsed)
	}

	ctx, stop := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer stop()
	_, err = s.Send(ctx, campaignMessage("m2"))
	if diff := cmp.Diff(outcome{Kind: channels.Transient, Sentinel: ErrTimeout.Error()}, outcomeOf(err)); diff != "" {
		t.Errorf("Send past its deadline: %v (-want +got):\n%s", err, diff)
	}
}

func TestSendAfterClose(t *testing.T) {
	srv := startServer(t, nil)
	s := newTestSender(t, srv.Addr, nil)
	if _, err := s.Send(t.Context(), campaignMessage("m1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Send(t.Context(), campaignMessage("m2"))
	if diff := cmp.Diff(outcome{Kind: channels.Transient, Sentinel: ErrClosed.Error()}, outcomeOf(err)); diff != "" {
		t.Errorf("Send after Close: %v (-want +got):\n%s", err, diff)
	}
}

func TestSendRefusedConnection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := newTestSender(t, addr, nil)
	_, err = s.Send(t.Context(), campaignMessage("m1"))
	if diff := cmp.Diff(outcome{Kind: channels.Transient, Sentinel: ErrConnection.Error()}, outcomeOf(err)); diff != "" {
		t.Errorf("Send: %v (-want +got):\n%s", err, diff)
	}
}
