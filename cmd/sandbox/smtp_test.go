package main

import (
	"bufio"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jordan-wright/email"
)

func startSMTP(t *testing.T, e *testEnv) string {
	t.Helper()
	srv := e.sb.smtpServer("127.0.0.1:0")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func newsletter(to string) *email.Email {
	m := email.NewEmail()
	m.From = "Journey <news@example.com>"
	m.To = []string{to}
	m.Subject = "研讨会提醒"
	m.Text = []byte("明天见")
	m.HTML = []byte("<p>明天见</p>")
	m.Headers.Set("List-Unsubscribe", "<mailto:unsub@example.com>, <https://example.com/u/tok>")
	m.Headers.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	return m
}

func TestSMTPCapturesEmailWithAuth(t *testing.T) {
	e := newTestEnv(t, func(c *config) { c.SMTPUsername, c.SMTPPassword = "mailer", "pw" })
	addr := startSMTP(t, e)
	if err := newsletter("li@example.com").Send(addr, smtp.PlainAuth("", "mailer", "pw", "127.0.0.1")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := messagesOf(t, e, chEmail, "li@example.com")
	if len(got) != 1 {
		t.Fatalf("captured %d messages, want 1", len(got))
	}
	b := got[0].Body.(map[string]any)
	want := map[string]any{"from": "news@example.com", "recipients": []any{"li@example.com"}, "subject": "研讨会提醒",
		"list_unsubscribe": "<mailto:unsub@example.com>, <https://example.com/u/tok>", "list_unsubscribe_post": "List-Unsubscribe=One-Click",
		"truncated": false}
	for k := range b {
		if _, ok := want[k]; !ok {
			delete(b, k)
		}
	}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("captured (-want +got):\n%s", diff)
	}
	if got[0].Type != "multipart/alternative" {
		t.Errorf("type = %q, want multipart/alternative", got[0].Type)
	}
	for name, auth := range map[string]smtp.Auth{"wrong password": smtp.PlainAuth("", "mailer", "nope", "127.0.0.1"), "no auth": nil} {
		if err := newsletter("x@example.com").Send(addr, auth); err == nil {
			t.Errorf("%s: Send succeeded, want a refusal", name)
		}
	}
	if n := len(messagesOf(t, e, chEmail, "x@example.com")); n != 0 {
		t.Errorf("captured %d refused messages", n)
	}
}

func TestSMTPKeepsOnlyHeadOfBody(t *testing.T) {
	e := newTestEnv(t, nil)
	addr := startSMTP(t, e)
	m := newsletter("big@example.com")
	m.HTML = nil
	m.Text = []byte(strings.Repeat("0123456789\r\n", 1000))
	if err := m.Send(addr, nil); err != nil {
		t.Fatal(err)
	}
	b := messagesOf(t, e, chEmail, "big@example.com")[0].Body.(map[string]any)
	if len(b["body"].(string)) != smtpBodyKept || b["truncated"] != true || b["size"].(float64) < 12000 {
		t.Errorf("kept %d bytes, truncated=%v, size=%v; want %d, true, >= 12000", len(b["body"].(string)), b["truncated"], b["size"], smtpBodyKept)
	}
}

func TestSMTPFaults(t *testing.T) {
	e := newTestEnv(t, nil)
	addr := startSMTP(t, e)
	for _, tt := range []struct{ mode, code string }{{"5xx", "451"}, {"flow_control", "450"}} {
		callJSON(t, "POST", e.ui.URL+"/api/faults", map[string]any{"channel": "email", "mode": tt.mode, "count": 1})
		if err := newsletter("f@example.com").Send(addr, nil); err == nil || !strings.Contains(err.Error(), tt.code) {
			t.Errorf("%s: %v, want SMTP %s", tt.mode, err, tt.code)
		}
	}
	if err := newsletter("f@example.com").Send(addr, nil); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}

// pipelinedSend writes MAIL, RCPT and DATA in one go (RFC 2920) and only
// then reads the three answers, n times over one connection.
func pipelinedSend(addr string, conn, n int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	expect := func(prefix string) error {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if !strings.HasPrefix(line, prefix) {
				return fmt.Errorf("got %q, want %s", line, prefix)
			}
			if len(line) > 3 && line[3] == ' ' {
				return nil
			}
		}
	}
	if err := expect("220"); err != nil {
		return err
	}
	fmt.Fprintf(c, "EHLO client\r\n")
	if err := expect("250"); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(c, "MAIL FROM:<load@example.com>\r\nRCPT TO:<c%d-%d@example.com>\r\nDATA\r\n", conn, i)
		for _, want := range []string{"250", "250", "354"} {
			if err := expect(want); err != nil {
				return err
			}
		}
		fmt.Fprintf(c, "Subject: load %d\r\n\r\nhello\r\n.\r\n", i)
		if err := expect("250"); err != nil {
			return err
		}
	}
	fmt.Fprintf(c, "QUIT\r\n")
	return nil
}

func TestSMTPCountsUnderPipelinedLoad(t *testing.T) {
	e := newTestEnv(t, func(c *config) { c.Keep = 500 })
	addr := startSMTP(t, e)
	const conns, each = 8, 500
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pipelinedSend(addr, c, each)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d messages in %v", conns*each, time.Since(start))
	if diff := cmp.Diff(channelStats{Received: conns * each, Kept: 500}, e.sb.store.stats()[chEmail]); diff != "" {
		t.Errorf("email stats (-want +got):\n%s", diff)
	}
}
