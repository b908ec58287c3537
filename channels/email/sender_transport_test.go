package email

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"sync"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

// TestServerPipelines makes sure the tests exercise the pipelined path: the
// go-smtp server advertises PIPELINING and the connection uses it.
func TestServerPipelines(t *testing.T) {
	srv := startServer(t, nil)
	c, err := smtp.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("PIPELINING"); !ok {
		t.Fatal("the go-smtp test server does not advertise PIPELINING")
	}
	s := newTestSender(t, srv.Addr, nil)
	conn, err := dialConn(t.Context(), s.pool.cc)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.close()
	if !conn.ext.pipelining {
		t.Error("the connection did not pick up PIPELINING")
	}

	hidden := startServer(t, func(l net.Listener) net.Listener { return dropLines{l, "PIPELINING"} })
	conn2, err := dialConn(t.Context(), newTestSender(t, hidden.Addr, nil).pool.cc)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.close()
	if conn2.ext.pipelining {
		t.Error("the filtered server still looks like it pipelines")
	}
}

func TestSendAuth(t *testing.T) {
	users := map[string]string{"mkt": "s3cret"}
	tests := []struct {
		name      string
		plain     bool
		user, pwd string
		want      outcome
	}{
		{"PLAIN", true, "mkt", "s3cret", outcome{}},
		{"LOGIN when PLAIN is not offered", false, "mkt", "s3cret", outcome{}},
		{"wrong password", true, "mkt", "guess", outcome{channels.Permanent, "535", ErrRejected.Error() + " + " + ErrAuth.Error()}},
		{"no credentials", true, "", "", outcome{channels.Permanent, "502", ErrRejected.Error()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, nil, withAuth(users, tt.plain))
			s := newTestSender(t, srv.Addr, func(c *SenderConfig) { c.Username, c.Password = tt.user, tt.pwd })
			_, err := s.Send(t.Context(), campaignMessage("m1"))
			if diff := cmp.Diff(tt.want, outcomeOf(err)); diff != "" {
				t.Fatalf("Send: %v (-want +got):\n%s", err, diff)
			}
			if err == nil {
				if got := srv.messages()[0].User; got != tt.user {
					t.Errorf("the server saw user %q, want %q", got, tt.user)
				}
			}
		})
	}
}

func TestSendTLS(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	users := map[string]string{"mkt": "s3cret"}
	tests := []struct {
		name    string
		wrap    func(net.Listener) net.Listener
		opts    []serverOption
		mode    string
		want    outcome
		wantTLS bool
	}{
		{"STARTTLS when offered", nil, []serverOption{withTLS(serverTLS)}, "", outcome{}, true},
		{"STARTTLS required and offered, with AUTH", nil, []serverOption{withTLS(serverTLS), withAuth(users, true)}, "starttls", outcome{}, true},
		{"implicit TLS", func(l net.Listener) net.Listener { return tls.NewListener(l, serverTLS) }, []serverOption{withAuth(users, true)}, "implicit", outcome{}, true},
		{"STARTTLS required but not offered", nil, nil, "starttls", outcome{Kind: channels.Permanent, Sentinel: ErrTLSRequired.Error()}, false},
		{"clear text when asked", nil, []serverOption{withTLS(serverTLS)}, "none", outcome{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.wrap, tt.opts...)
			s := newTestSender(t, srv.Addr, func(c *SenderConfig) {
				c.TLS, c.TLSConfig = tt.mode, clientTLS
				if srv.users != nil {
					c.Username, c.Password = "mkt", "s3cret"
				}
			})
			_, err := s.Send(t.Context(), campaignMessage("m1"))
			if diff := cmp.Diff(tt.want, outcomeOf(err)); diff != "" {
				t.Fatalf("Send: %v (-want +got):\n%s", err, diff)
			}
			if err == nil {
				if got := srv.messages()[0].TLS; got != tt.wantTLS {
					t.Errorf("message went over TLS: %v, want %v", got, tt.wantTLS)
				}
			}
		})
	}
}

func TestSendConcurrently(t *testing.T) {
	srv := startServer(t, nil)
	const poolSize, workers, each = 4, 32, 8
	s := newTestSender(t, srv.Addr, func(c *SenderConfig) { c.PoolSize = poolSize })
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m := campaignMessage(fmt.Sprintf("m-%d-%d", w, i))
				m.To = fmt.Sprintf("user%d.%d@example.com", w, i)
				if _, err := s.Send(t.Context(), m); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := map[string]bool{}
	for _, m := range srv.messages() {
		p := parseMessage(t, m.Data)
		if p.Header.Get("To") != "<"+m.To[0]+">" {
			t.Errorf("envelope to %s carried a message for %s", m.To[0], p.Header.Get("To"))
		}
		got[m.To[0]] = true
	}
	if len(got) != workers*each {
		t.Errorf("server got %d distinct recipients, want %d", len(got), workers*each)
	}
	if n := srv.sessions.Load(); n > poolSize {
		t.Errorf("server saw %d sessions with PoolSize %d", n, poolSize)
	}
}

func TestSendRedialsAfterMaxPerConn(t *testing.T) {
	srv := startServer(t, nil)
	s := newTestSender(t, srv.Addr, func(c *SenderConfig) { c.PoolSize, c.MaxPerConn = 1, 3 })
	for i := range 7 {
		if _, err := s.Send(t.Context(), campaignMessage(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.sessions.Load(); got != 3 {
		t.Errorf("7 messages with MaxPerConn 3 used %d sessions, want 3", got)
	}
	// The two full connections said QUIT; the server ended them.
	for deadline := time.Now().Add(5 * time.Second); srv.logouts.Load() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server ended %d sessions, want 2", srv.logouts.Load())
		}
	}
}

func TestNewSenderRejects(t *testing.T) {
	tok := newTestTokens(t, testclock.New(testNow))
	good := func() SenderConfig {
		return SenderConfig{Addr: "smtp.example.com:587", From: testFrom, Tokens: tok, PublicBaseURL: testBase, Now: time.Now}
	}
	tests := []struct {
		name   string
		modify func(*SenderConfig)
	}{
		{"no port", func(c *SenderConfig) { c.Addr = "smtp.example.com" }},
		{"clear text to a remote host", func(c *SenderConfig) { c.TLS = "none" }},
		{"unknown TLS mode", func(c *SenderConfig) { c.TLS = "ssl" }},
		{"bad From", func(c *SenderConfig) { c.From = "marketing" }},
		{"non-ASCII From address", func(c *SenderConfig) { c.From = "市场部 <市场@example.com>" }},
		{"tokens without a base URL", func(c *SenderConfig) { c.PublicBaseURL = "" }},
		{"base URL with a query", func(c *SenderConfig) { c.PublicBaseURL = "https://t.example.com/?a=1" }},
		{"base URL not http", func(c *SenderConfig) { c.PublicBaseURL = "ftp://t.example.com" }},
		{"bad unsubscribe mailto", func(c *SenderConfig) { c.UnsubscribeMailto = "mailto:<x>" }},
		{"password without user", func(c *SenderConfig) { c.Password = "x" }},
		{"negative pool", func(c *SenderConfig) { c.PoolSize = -1 }},
		{"no clock", func(c *SenderConfig) { c.Now = nil }},
		{"EHLO name with a space", func(c *SenderConfig) { c.Hello = "a b" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.modify(&cfg)
			if _, err := NewSender(cfg); !errors.Is(err, ErrConfig) {
				t.Errorf("NewSender = %v, want ErrConfig", err)
			}
		})
	}
	s, err := NewSender(good())
	if err != nil {
		t.Fatalf("NewSender(good config) = %v", err)
	}
	if s.Channel() != channels.Email {
		t.Errorf("Channel() = %q", s.Channel())
	}
	s.Close()
}
