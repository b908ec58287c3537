package sms

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func newTestSender(t testing.TB, a *aliyunStandIn, change func(*SenderConfig)) *Sender {
	t.Helper()
	cfg := SenderConfig{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret, SignName: testSignName,
		Endpoint: a.endpoint(), Timeout: 2 * time.Second}
	if change != nil {
		change(&cfg)
	}
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func smsMessage(to string) *channels.Outbound {
	return &channels.Outbound{ID: "msg-1", Channel: channels.SMS, Purpose: channels.Marketing, Kind: channels.KindSMS,
		To: to, TemplateCode: "SMS_123456", Params: map[string]string{"name": "王小明", "code": "1234"}}
}

// sendError unpacks what the pipeline reads from a failed send.
type sendErrorView struct {
	Kind channels.ErrorKind
	Code string
}

func viewSendError(t *testing.T, err error) sendErrorView {
	t.Helper()
	var se *channels.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *channels.SendError", err, err)
	}
	return sendErrorView{se.Kind, se.Code}
}

func TestSendRequestIsWhatAliyunExpects(t *testing.T) {
	tests := []struct {
		name  string
		msg   func(*channels.Outbound)
		query map[string]string
	}{
		{"mainland mobile goes as bare 11 digits, params sorted JSON",
			func(m *channels.Outbound) {},
			map[string]string{"PhoneNumbers": "13800138000", "SignName": testSignName, "TemplateCode": "SMS_123456",
				"TemplateParam": `{"code":"1234","name":"王小明"}`, "OutId": "msg-1"}},
		{"Hong Kong number gets 00 and its country code",
			func(m *channels.Outbound) { m.To = "+85291234567" },
			map[string]string{"PhoneNumbers": "0085291234567", "SignName": testSignName, "TemplateCode": "SMS_123456",
				"TemplateParam": `{"code":"1234","name":"王小明"}`, "OutId": "msg-1"}},
		{"North American number cannot pass for a mainland 14x mobile",
			func(m *channels.Outbound) { m.To = "+14155550123" },
			map[string]string{"PhoneNumbers": "0014155550123", "SignName": testSignName, "TemplateCode": "SMS_123456",
				"TemplateParam": `{"code":"1234","name":"王小明"}`, "OutId": "msg-1"}},
		{"params keep <, & and spaces as written",
			func(m *channels.Outbound) { m.Params = map[string]string{"z": "a & b", "a": "<1+1=2>", "m": "100%"} },
			map[string]string{"PhoneNumbers": "13800138000", "SignName": testSignName, "TemplateCode": "SMS_123456",
				"TemplateParam": `{"a":"<1+1=2>","m":"100%","z":"a & b"}`, "OutId": "msg-1"}},
		{"template without variables and message without id send neither",
			func(m *channels.Outbound) { m.Params, m.ID = nil, "" },
			map[string]string{"PhoneNumbers": "13800138000", "SignName": testSignName, "TemplateCode": "SMS_123456"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newStandIn(t, answerOK("9006197469364984^0"))
			s := newTestSender(t, a, nil)
			m := smsMessage("+8613800138000")
			tt.msg(m)
			got, err := s.Send(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(channels.Receipt{PlatformID: "9006197469364984^0", Kind: channels.KindSMS}, got); diff != "" {
				t.Errorf("receipt (-want +got):\n%s", diff)
			}
			want := []sentRequest{{Method: http.MethodPost, Path: "/", Query: tt.query, Action: "SendSms",
				Version: "2017-05-25", Accept: "application/json", ContentSHA256: emptySHA256, BodyLen: 0}}
			if diff := cmp.Diff(want, a.requests()); diff != "" {
				t.Errorf("requests Aliyun received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendRefusesBadMessagesWithoutCalling(t *testing.T) {
	tests := []struct {
		name   string
		msg    func(*channels.Outbound) *channels.Outbound
		target error
	}{
		{"nil message", func(m *channels.Outbound) *channels.Outbound { return nil }, ErrNotSMS},
		{"another kind", func(m *channels.Outbound) *channels.Outbound { m.Kind = channels.KindWeComText; return m }, ErrNotSMS},
		{"another channel", func(m *channels.Outbound) *channels.Outbound { m.Channel = channels.Email; return m }, ErrNotSMS},
		{"no template code", func(m *channels.Outbound) *channels.Outbound { m.TemplateCode = " "; return m }, ErrNoTemplate},
		{"landline", func(m *channels.Outbound) *channels.Outbound { m.To = "+86 10 6552 9988"; return m }, ErrBadPhone},
		{"no number", func(m *channels.Outbound) *channels.Outbound { m.To = ""; return m }, ErrBadPhone},
	}
	a := newStandIn(t, nil)
	s := newTestSender(t, a, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Send(context.Background(), tt.msg(smsMessage("+8613800138000")))
			if diff := cmp.Diff(sendErrorView{Kind: channels.Permanent}, viewSendError(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !errors.Is(err, tt.target) {
				t.Errorf("error %v is not %v", err, tt.target)
			}
		})
	}
	if n := len(a.requests()); n != 0 {
		t.Errorf("Aliyun received %d requests for messages that cannot be sent", n)
	}
}

func TestNewSenderChecksConfig(t *testing.T) {
	good := SenderConfig{AccessKeyID: "id", AccessKeySecret: "secret", SignName: "sign"}
	tests := []struct {
		name   string
		change func(*SenderConfig)
		ok     bool
	}{
		{"real endpoint by default", func(c *SenderConfig) {}, true},
		{"sandbox host:port", func(c *SenderConfig) { c.Endpoint = "127.0.0.1:9001" }, true},
		{"no key id", func(c *SenderConfig) { c.AccessKeyID = "" }, false},
		{"blank secret", func(c *SenderConfig) { c.AccessKeySecret = "  " }, false},
		{"no sign name", func(c *SenderConfig) { c.SignName = "" }, false},
		{"endpoint with scheme", func(c *SenderConfig) { c.Endpoint = "http://127.0.0.1:9001" }, false},
		{"endpoint without port", func(c *SenderConfig) { c.Endpoint = "127.0.0.1" }, false},
		{"endpoint with path", func(c *SenderConfig) { c.Endpoint = "127.0.0.1:9001/sms" }, false},
		{"negative timeout", func(c *SenderConfig) { c.Timeout = -time.Second }, false},
	}
	got, want := map[string]bool{}, map[string]bool{}
	for _, tt := range tests {
		cfg := good
		tt.change(&cfg)
		s, err := NewSender(cfg)
		if err != nil && !errors.Is(err, ErrSenderConfig) {
			t.Errorf("%s: error %v is not ErrSenderConfig", tt.name, err)
		}
		if (s != nil) != (err == nil) {
			t.Errorf("%s: sender %v with error %v", tt.name, s, err)
		}
		got[tt.name], want[tt.name] = err == nil, tt.ok
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accepted (-want +got):\n%s", diff)
	}
}

func TestVerifierMatchesAliyunPublishedExample(t *testing.T) {
	// The worked example in Aliyun's "V3 request structure and signature"
	// document (RunInstances on ECS with key YourAccessKeyId).
	headers := map[string]string{
		"host":                  "ecs.cn-shanghai.aliyuncs.com",
		"x-acs-action":          "RunInstances",
		"x-acs-content-sha256":  emptySHA256,
		"x-acs-date":            "2023-10-26T09:01:01Z",
		"x-acs-signature-nonce": "d410180a5abf7fe235dd9b74aca91fc0",
		"x-acs-version":         "2014-05-26",
	}
	signed := []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
	query := url.Values{"ImageId": {"win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"}, "RegionId": {"cn-shanghai"}}
	got := acs3Signature("POST", "/", query, headers, signed, emptySHA256, "YourAccessKeySecret")
	if want := "e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"; got != want {
		t.Errorf("signature %s, want Aliyun's %s", got, want)
	}
}

func TestStandInRejectsWhatAliyunRejects(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(a *aliyunStandIn, cfg *SenderConfig)
		status sendErrorView
	}{
		{"wrong secret", func(a *aliyunStandIn, c *SenderConfig) { c.AccessKeySecret = "not-the-secret" },
			sendErrorView{channels.Permanent, "SignatureDoesNotMatch"}},
		{"unknown key id", func(a *aliyunStandIn, c *SenderConfig) { c.AccessKeyID = "LTAI5tNobody" },
			sendErrorView{channels.Permanent, "InvalidAccessKeyId.NotFound"}},
		{"a query parameter changed on the way", func(a *aliyunStandIn, c *SenderConfig) {
			a.tamper = func(r *http.Request) {
				q := r.URL.Query()
				q.Set("PhoneNumbers", "13900139000")
				r.URL.RawQuery = q.Encode()
			}
		}, sendErrorView{channels.Permanent, "SignatureDoesNotMatch"}},
		{"a signed header changed on the way", func(a *aliyunStandIn, c *SenderConfig) {
			a.tamper = func(r *http.Request) { r.Header.Set("x-acs-action", "SendBatchSms") }
		}, sendErrorView{channels.Permanent, "SignatureDoesNotMatch"}},
		{"an x-acs header left out of the signature", func(a *aliyunStandIn, c *SenderConfig) {
			a.tamper = func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";x-acs-version", "", 1))
			}
		}, sendErrorView{channels.Permanent, "IncompleteSignature"}},
		{"this host's clock is 20 minutes off", func(a *aliyunStandIn, c *SenderConfig) {
			a.now = func() time.Time { return time.Now().Add(20 * time.Minute) }
		}, sendErrorView{channels.Permanent, "InvalidTimeStamp.Expired"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newStandIn(t, nil)
			s := newTestSender(t, a, func(c *SenderConfig) { tt.setup(a, c) })
			_, err := s.Send(context.Background(), smsMessage("+8613800138000"))
			if diff := cmp.Diff(tt.status, viewSendError(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !errors.Is(err, ErrRefused) {
				t.Errorf("error %v is not ErrRefused", err)
			}
		})
	}
}

// hangingStandIn accepts requests and never answers until the test ends;
// arrivals counts the requests that reached it.
func hangingStandIn(t *testing.T) (a *aliyunStandIn, arrivals *atomic.Int32) {
	stop := make(chan struct{})
	a, arrivals = newStandIn(t, nil), new(atomic.Int32)
	a.tamper = func(r *http.Request) {
		arrivals.Add(1)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}
	t.Cleanup(func() { close(stop); a.srv.CloseClientConnections() })
	return a, arrivals
}

func TestSendTimesOutOnAHungPlatform(t *testing.T) {
	a, arrivals := hangingStandIn(t)
	s := newTestSender(t, a, func(c *SenderConfig) { c.Timeout = 300 * time.Millisecond })
	start := time.Now()
	_, err := s.Send(context.Background(), smsMessage("+8613800138000"))
	took := time.Since(start)
	time.Sleep(100 * time.Millisecond) // room for a retry, which must not come
	if n := arrivals.Load(); n != 1 {
		t.Errorf("Aliyun received %d requests, want exactly 1: a timed-out SendSms may have been sent", n)
	}
	if took < 250*time.Millisecond || took > 3*time.Second {
		t.Errorf("gave up after %v, want about the 300ms timeout", took)
	}
	if diff := cmp.Diff(sendErrorView{Kind: channels.Transient}, viewSendError(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("error %v is not ErrOutcomeUnknown", err)
	}
	if strings.Contains(err.Error(), "13800138000") || strings.Contains(err.Error(), "王小明") {
		t.Errorf("error leaks the phone number or params: %v", err)
	}
}

func TestSendHonoursContext(t *testing.T) {
	a, arrivals := hangingStandIn(t)
	s := newTestSender(t, a, func(c *SenderConfig) { c.Timeout = 10 * time.Second })

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Send(ctx, smsMessage("+8613800138000"))
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("returned %v after the context ended, want at once", took)
	}
	if diff := cmp.Diff(sendErrorView{Kind: channels.Transient}, viewSendError(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v should be ErrOutcomeUnknown and context.DeadlineExceeded", err)
	}

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	before := arrivals.Load()
	_, err = s.Send(done, smsMessage("+8613800138000"))
	if diff := cmp.Diff(sendErrorView{Kind: channels.Transient}, viewSendError(t, err)); diff != "" {
		t.Errorf("cancelled before the call (-want +got):\n%s", diff)
	}
	if errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) {
		t.Errorf("a send cancelled before the call should be context.Canceled with a known outcome: %v", err)
	}
	if after := arrivals.Load(); after != before {
		t.Errorf("a cancelled send still reached Aliyun")
	}
}

func TestServerErrorsAreTransientAndNeverRetried(t *testing.T) {
	tests := []struct {
		name   string
		answer http.HandlerFunc
		want   sendErrorView
	}{
		{"503 ServiceUnavailable", answerCode(http.StatusServiceUnavailable, "ServiceUnavailable",
			"The request has failed due to a temporary failure of the server."),
			sendErrorView{channels.Transient, "ServiceUnavailable"}},
		{"500 InternalError", answerCode(http.StatusInternalServerError, "InternalError",
			"The request processing has failed due to some unknown error, exception or failure."),
			sendErrorView{channels.Transient, "InternalError"}},
		{"504 with a code nobody knows", answerCode(http.StatusGatewayTimeout, "Gateway.Timeout", "upstream timed out"),
			sendErrorView{channels.Transient, "Gateway.Timeout"}},
		{"502 from a proxy, HTML body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><body>502 Bad Gateway</body></html>")
		}, sendErrorView{Kind: channels.Transient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newStandIn(t, tt.answer)
			s := newTestSender(t, a, nil)
			_, err := s.Send(context.Background(), smsMessage("+8613800138000"))
			if diff := cmp.Diff(tt.want, viewSendError(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Errorf("error %v is not ErrOutcomeUnknown", err)
			}
			if n := len(a.requests()); n != 1 {
				t.Errorf("Aliyun received %d requests, want exactly 1: SendSms is not idempotent", n)
			}
		})
	}
}

func TestSendToAClosedPortIsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := NewSender(SenderConfig{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret, SignName: testSignName,
		Endpoint: addr, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), smsMessage("+8613800138000"))
	if diff := cmp.Diff(sendErrorView{Kind: channels.Transient}, viewSendError(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("error %v is not ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), "13800138000") {
		t.Errorf("error leaks the phone number: %v", err)
	}
}

func TestSendConcurrently(t *testing.T) {
	a := newStandIn(t, nil)
	s := newTestSender(t, a, nil)
	const workers, each = 16, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m := smsMessage("+8613800138000")
				m.ID = fmt.Sprintf("msg-%d-%d", w, i)
				if _, err := s.Send(context.Background(), m); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ids := map[string]bool{}
	for _, r := range a.requests() {
		ids[r.Query["OutId"]] = true
	}
	if len(ids) != workers*each {
		t.Errorf("Aliyun saw %d distinct OutIds, want %d", len(ids), workers*each)
	}
}

func TestAliyunPhone(t *testing.T) {
	in := []string{"+8613800138000", "13800138000", "0086 138-0013-8000", "+85291234567", "+447911123456", "+14155550123", "+86 10 6552 9988"}
	want := map[string]string{
		"+8613800138000": "13800138000", "13800138000": "13800138000", "0086 138-0013-8000": "13800138000",
		"+85291234567": "0085291234567", "+447911123456": "00447911123456", "+14155550123": "0014155550123",
		"+86 10 6552 9988": "error",
	}
	got := map[string]string{}
	for _, s := range in {
		p, err := aliyunPhone(s)
		if err != nil {
			p = "error"
		}
		got[s] = p
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
