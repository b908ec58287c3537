package email

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/journeygate/gateway/channels"
)

// campaignSize is the number of mails in one BenchmarkCampaign iteration.
const campaignSize = 10_000

var (
	benchNames  = []string{"张伟", "李娜", "王芳", "刘洋", "陈静", "Zhang Wei", "Li Na", "Wang Fang"}
	benchCities = []string{"上海", "北京", "深圳", "杭州", "成都", "广州"}
)

// campaignMessages renders n distinct personalised marketing mails of about
// 6 KB (HTML and text), as the templates package would hand them over: the
// name, the links and one paragraph vary per recipient.
func campaignMessages(n int) []*channels.Outbound {
	msgs := make([]*channels.Outbound, n)
	for i := range msgs {
		name := benchNames[i%len(benchNames)]
		city := benchCities[i%len(benchCities)]
		var h strings.Builder
		fmt.Fprintf(&h, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Webinar</title></head>
<body style="margin:0;padding:0;background:#f4f4f4;font-family:Helvetica,Arial,sans-serif">
<table role="presentation" width="100%%" cellpadding="0" cellspacing="0"><tr><td align="center">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="background:#ffffff">
<tr><td style="padding:24px"><a href="https://www.example.com/?utm_source=email&amp;utm_campaign=webinar-2611&amp;r=%d"><img src="https://cdn.example.com/logo.png" width="120" alt="Example"></a></td></tr>
<tr><td style="padding:0 24px 12px 24px;font-size:18px;color:#222">%s，您好！</td></tr>
`, i, name)
		for p := 0; p < 4; p++ {
			fmt.Fprintf(&h, `<tr><td style="padding:0 24px 12px 24px;font-size:14px;line-height:22px;color:#444">
We are hosting a live session on customer journeys in %s on 11 November. Paragraph %d explains what you will learn: how to
connect WeCom, the official account, SMS and email into one journey, and how to measure it. 我们将分享真实案例。
<a href="https://www.example.com/webinar/2611/agenda?p=%d&amp;u=%d" style="color:#0a66c2">See the agenda</a></td></tr>
`, city, p+1, p, i)
		}
		fmt.Fprintf(&h, `<tr><td style="padding:12px 24px"><a href="https://www.example.com/webinar/2611/register?c=%d" style="display:inline-block;padding:12px 24px;background:#0a66c2;color:#fff;text-decoration:none;border-radius:4px">立即报名 Register</a></td></tr>
<tr><td style="padding:12px 24px;font-size:12px;color:#888">Personal note for recipient %d: seats in %s are limited to 200.
<a href="mailto:events@example.com">events@example.com</a> · <a href="tel:+864001234567">400-123-4567</a> ·
<a href="%s">退订 Unsubscribe</a></td></tr>
</table></td></tr></table></body></html>
`, i, i, city, UnsubscribeURLPlaceholder)
		text := fmt.Sprintf("%s，您好！\n\nWe are hosting a live session on customer journeys in %s on 11 November.\n"+
			"Register: https://www.example.com/webinar/2611/register?c=%d\nAgenda: https://www.example.com/webinar/2611/agenda\n\n"+
			"Unsubscribe: %s\n", name, city, i, UnsubscribeURLPlaceholder)
		msgs[i] = &channels.Outbound{
			ID: fmt.Sprintf("01JBQ7Z3W9F7K2M4N%06d", i), Channel: channels.Email, Purpose: channels.Marketing, Kind: channels.KindEmail,
			To: fmt.Sprintf("user%06d@example.com", i), ContactID: fmt.Sprintf("c_%08d", i), Campaign: "webinar-2611",
			Subject: fmt.Sprintf("%s，11月11日研讨会邀请 – Webinar invitation", name), HTML: h.String(), Text: text,
		}
	}
	return msgs
}

// startSink serves SMTP on loopback and only counts: the cheapest possible
// relay, so the benchmark measures the sender (they share the CPU).
func startSink(b *testing.B) (addr string, msgs, bytes *atomic.Int64) {
	msgs, bytes = new(atomic.Int64), new(atomic.Int64)
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &sinkSession{msgs: msgs, bytes: bytes}, nil
	}))
	srv.Domain = "sink.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return l.Addr().String(), msgs, bytes
}

type sinkSession struct{ msgs, bytes *atomic.Int64 }

func (s *sinkSession) Reset()                                 {}
func (s *sinkSession) Logout() error                          { return nil }
func (s *sinkSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *sinkSession) Data(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	s.bytes.Add(n)
	s.msgs.Add(1)
	return err
}

// BenchmarkCampaign sends 10,000 personalised ~6 KB mails per iteration to
// a local go-smtp sink and reports msgs/s. Run it as
//
//	go test -run '^$' -bench BenchmarkCampaign -benchtime 3x -count 3 ./channels/email
//
// pooled is the Sender (PoolSize 8, pipelining); naive is one net/smtp
// connection per message (smtp.SendMail) with the same rendering and the
// same 16 sending goroutines.
func BenchmarkCampaign(b *testing.B) {
	msgs := campaignMessages(campaignSize)
	addr, got, gotBytes := startSink(b)
	const workers = 16

	newSender := func(b *testing.B) *Sender {
		s := newTestSender(b, addr, func(c *SenderConfig) { c.PoolSize = 8 })
		return s
	}
	run := func(b *testing.B, send func(ctx context.Context, m *channels.Outbound) error) {
		got.Store(0)
		gotBytes.Store(0)
		b.ResetTimer()
		cpu0 := cpuTime()
		start := time.Now()
		for range b.N {
			sendAll(b, msgs, workers, send)
		}
		elapsed := time.Since(start)
		cpu := cpuTime() - cpu0
		b.StopTimer()
		sent := int64(len(msgs) * b.N)
		if got.Load() != sent {
			b.Fatalf("the sink got %d messages, want %d", got.Load(), sent)
		}
		b.ReportMetric(float64(sent)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64(gotBytes.Load())/float64(sent), "B/msg")
		// CPU per message (sender and sink together) does not depend on
		// what else the machine runs; 2 cores / this = the ceiling.
		b.ReportMetric(float64(cpu.Microseconds())/float64(sent), "cpu-µs/msg")
	}

	b.Run("pooled", func(b *testing.B) {
		s := newSender(b)
		run(b, func(ctx context.Context, m *channels.Outbound) error {
			_, err := s.Send(ctx, m)
			return err
		})
	})
	b.Run("naive", func(b *testing.B) {
		s := newSender(b)
		run(b, func(ctx context.Context, m *channels.Outbound) error {
			msg, err := s.render(m)
			if err != nil {
				return err
			}
			return smtp.SendMail(addr, nil, s.fromAddr, []string{m.To}, msg)
		})
	})
}

// cpuTime is the CPU the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sendAll sends msgs from workers goroutines and fails on the first error.
func sendAll(b *testing.B, msgs []*channels.Outbound, workers int, send func(context.Context, *channels.Outbound) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	ctx := context.Background()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(msgs)) || failed.Load() != nil {
					return
				}
				if err := send(ctx, msgs[i]); err != nil {
					failed.Store(&err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// BenchmarkRender is the CPU cost of building one tracked mail: link
// rewriting and signing, then jordan-wright/email's Bytes().
func BenchmarkRender(b *testing.B) {
	msgs := campaignMessages(64)
	s := newTestSender(b, "127.0.0.1:25", nil)
	var msg []byte
	b.ReportAllocs()
	for i := range b.N {
		var err error
		if msg, err = s.render(msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(msg)), "B/msg")
}
