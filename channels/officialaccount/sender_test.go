package officialaccount

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

var sendNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// outcome is what a test compares after a Send.
type outcome struct {
	Receipt channels.Receipt
	Kind    string // SendError kind, "" on success
	Code    string
	Calls   []apiCall
}

func outcomeOf(t *testing.T, w *wechat, rec channels.Receipt, err error) outcome {
	t.Helper()
	o := outcome{Receipt: rec, Calls: w.recorded()}
	if err != nil {
		var se *channels.SendError
		if !errors.As(err, &se) {
			t.Fatalf("Send returned %T %q, want a *channels.SendError", err, err)
		}
		o.Kind, o.Code = se.Kind.String(), se.Code
	}
	return o
}

func TestSendCustomerServiceInsideWindow(t *testing.T) {
	tests := []struct {
		name string
		msg  channels.Outbound
		body string
	}{
		{
			name: "text",
			msg:  channels.Outbound{Kind: channels.KindOAText, Text: "你好，<研讨会> & 报名 https://e.cn/?a=1&b=2"},
			body: `{"touser":"oFollower","msgtype":"text","text":{"content":"你好，<研讨会> & 报名 https://e.cn/?a=1&b=2"}}`,
		},
		{
			name: "news",
			msg:  channels.Outbound{Kind: channels.KindOANews, Title: "白皮书", Description: "2026 营销趋势", URL: "https://e.cn/wp", PicURL: "https://e.cn/wp.jpg"},
			body: `{"touser":"oFollower","msgtype":"news","news":{"articles":[{"title":"白皮书","description":"2026 营销趋势","url":"https://e.cn/wp","picurl":"https://e.cn/wp.jpg"}]}}`,
		},
		{
			name: "image",
			msg:  channels.Outbound{Kind: channels.KindOAImage, MediaID: "MEDIA_abc"},
			body: `{"touser":"oFollower","msgtype":"image","image":{"media_id":"MEDIA_abc"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &wechat{}
			s := newSender(t, standUp(t, w, time.Second), sendNow)
			m := tt.msg
			m.Channel, m.To, m.ID = channels.OfficialAccount, "oFollower", "msg-1"
			m.LastInbound = sendNow.Add(-CustomerServiceWindow + time.Minute)
			m.TemplateID = "TPL_unused_inside_the_window"
			rec, err := s.Send(t.Context(), &m)
			want := outcome{
				Receipt: channels.Receipt{Kind: m.Kind},
				Calls:   []apiCall{tokenCall(), sendCall("custom", "TOKEN_1", tt.body)},
			}
			if diff := cmp.Diff(want, outcomeOf(t, w, rec, err)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func templateMsg(last time.Time) *channels.Outbound {
	return &channels.Outbound{
		ID: "msg-42", Channel: channels.OfficialAccount, Purpose: channels.Marketing, Kind: channels.KindOAText,
		To: "oFollower", Text: "only for the window", LastInbound: last,
		TemplateID: "TPL_webinar", URL: "https://e.cn/webinar?c=spring",
		Fields: map[string]string{"first": "王先生，您好", "keyword1": "增长研讨会", "keyword2": "3月3日 14:00", "remark": "点击查看详情"},
	}
}

const templateBody = `{"touser":"oFollower","template_id":"TPL_webinar","url":"https://e.cn/webinar?c=spring",` +
	`"data":{"first":{"value":"王先生，您好"},"keyword1":{"value":"增长研讨会"},"keyword2":{"value":"3月3日 14:00"},"remark":{"value":"点击查看详情"}},` +
	`"client_msg_id":"msg-42","miniprogram":{"appid":"","pagepath":""}}`

// A msgid above 2^53 would lose digits in a float64.
const templateOK = `{"errcode":0,"errmsg":"ok","msgid":2939502563093512196}`

func TestSendOutsideWindowGoesAsTemplate(t *testing.T) {
	tests := []struct {
		name string
		last time.Time
		kind string
	}{
		{"window closed exactly 48h after", sendNow.Add(-CustomerServiceWindow), channels.KindOAText},
		{"no inbound known", time.Time{}, channels.KindOANews},
		{"template asked for inside the window", sendNow.Add(-time.Minute), channels.KindOATemplate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &wechat{answer: func(apiCall) (int, string) { return http.StatusOK, templateOK }}
			s := newSender(t, standUp(t, w, time.Second), sendNow)
			m := templateMsg(tt.last)
			m.Kind = tt.kind
			rec, err := s.Send(t.Context(), m)
			want := outcome{
				Receipt: channels.Receipt{PlatformID: "2939502563093512196", Kind: channels.KindOATemplate},
				Calls:   []apiCall{tokenCall(), sendCall("template", "TOKEN_1", templateBody)},
			}
			if diff := cmp.Diff(want, outcomeOf(t, w, rec, err)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestSendOutsideWindowWithoutTemplateAsksNobody(t *testing.T) {
	for _, last := range []time.Time{{}, sendNow.Add(-CustomerServiceWindow), sendNow.Add(-30 * 24 * time.Hour)} {
		w := &wechat{}
		s := newSender(t, standUp(t, w, time.Second), sendNow)
		m := templateMsg(last)
		m.TemplateID = ""
		rec, err := s.Send(t.Context(), m)
		if diff := cmp.Diff(outcome{Kind: "outside_window"}, outcomeOf(t, w, rec, err)); diff != "" {
			t.Errorf("last inbound %v: (-want +got)\n%s", last, diff)
		}
		if !errors.Is(err, ErrOutsideWindow) {
			t.Errorf("error %q does not wrap ErrOutsideWindow", err)
		}
	}
}

func TestWeChatSaysWindowClosed(t *testing.T) {
	inside := sendNow.Add(-time.Hour)
	custom := `{"touser":"oFollower","msgtype":"text","text":{"content":"only for the window"}}`
	t.Run("45015 without template", func(t *testing.T) {
		w := &wechat{answer: errAnswer(45015, "response out of time limit or subscription is canceled")}
		s := newSender(t, standUp(t, w, time.Second), sendNow)
		m := templateMsg(inside)
		m.TemplateID = ""
		rec, err := s.Send(t.Context(), m)
		want := outcome{Kind: "outside_window", Code: "45015", Calls: []apiCall{tokenCall(), sendCall("custom", "TOKEN_1", custom)}}
		if diff := cmp.Diff(want, outcomeOf(t, w, rec, err)); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "response out of time limit") {
			t.Errorf("error %q should wrap ErrRefused and carry WeChat's errmsg", err)
		}
	})
	t.Run("45047 with template falls back", func(t *testing.T) {
		w := &wechat{answer: func(c apiCall) (int, string) {
			if strings.Contains(c.Path, "custom") {
				return errAnswer(45047, "out of response count limit")(c)
			}
			return http.StatusOK, templateOK
		}}
		s := newSender(t, standUp(t, w, time.Second), sendNow)
		rec, err := s.Send(t.Context(), templateMsg(inside))
		want := outcome{
			Receipt: channels.Receipt{PlatformID: "2939502563093512196", Kind: channels.KindOATemplate},
			Calls:   []apiCall{tokenCall(), sendCall("custom", "TOKEN_1", custom), sendCall("template", "TOKEN_1", templateBody)},
		}
		if diff := cmp.Diff(want, outcomeOf(t, w, rec, err)); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	})
}

func TestUnfollowedIsNoConsent(t *testing.T) {
	w := &wechat{answer: errAnswer(43004, "require subscribe")}
	s := newSender(t, standUp(t, w, time.Second), sendNow)
	_, err := s.Send(t.Context(), templateMsg(time.Time{}))
	var se *channels.SendError
	if !errors.As(err, &se) || se.Kind != channels.NoConsent || se.Code != "43004" {
		t.Fatalf("Send = %v, want a no_consent SendError with code 43004", err)
	}
}

// TestErrcodeTable runs every classified answer through the SDK, so a
// change in how the SDK words its errors shows up here.
func TestErrcodeTable(t *testing.T) {
	type row = errcodeCase
	tests := []row{
		{Answer: `{"errcode":-1,"errmsg":"system error"}`, Kind: "transient", Code: "-1", Calls: 1},
		{Answer: `{"errcode":45009,"errmsg":"reach max api daily quota limit"}`, Kind: "transient", Code: "45009", Calls: 1},
		{Answer: `{"errcode":45011,"errmsg":"api minute-quota reach limit"}`, Kind: "transient", Code: "45011", Calls: 1},
		{Answer: `{"errcode":40001,"errmsg":"invalid credential"}`, Kind: "transient", Code: "40001", Calls: 2},
		{Answer: `{"errcode":40014,"errmsg":"invalid access_token"}`, Kind: "transient", Code: "40014", Calls: 2},
		{Answer: `{"errcode":42001,"errmsg":"access_token expired"}`, Kind: "transient", Code: "42001", Calls: 2},
		{Answer: `{"errcode":43004,"errmsg":"require subscribe"}`, Kind: "no_consent", Code: "43004", Calls: 1},
		{Answer: `{"errcode":48002,"errmsg":"api blocked by user"}`, Kind: "no_consent", Code: "48002", Calls: 1},
		{Answer: `{"errcode":45015,"errmsg":"response out of time limit"}`, Kind: "outside_window", Code: "45015", Calls: 1},
		{Answer: `{"errcode":45047,"errmsg":"out of response count limit"}`, Kind: "outside_window", Code: "45047", Calls: 1},
		{Answer: `{"errcode":40003,"errmsg":"invalid openid"}`, Kind: "permanent", Code: "40003", Calls: 1},
		{Answer: `{"errcode":40037,"errmsg":"invalid template_id"}`, Kind: "permanent", Code: "40037", Calls: 1},
		{Answer: `{"errcode":47003,"errmsg":"argument invalid! data.keyword1.value invalid"}`, Kind: "permanent", Code: "47003", Calls: 1},
		{Answer: `{"errcode":40008,"errmsg":"invalid message type"}`, Kind: "permanent", Code: "40008", Calls: 1},
		{Answer: `{"errcode":99999,"errmsg":"something new"}`, Kind: "permanent", Code: "99999", Calls: 1},
		{Status: http.StatusBadGateway, Answer: `<html>502 Bad Gateway</html>`, Kind: "transient", Code: "http_502", Calls: 1},
		{Status: http.StatusServiceUnavailable, Answer: ``, Kind: "transient", Code: "http_503", Calls: 1},
		{Status: http.StatusNotFound, Answer: `not found`, Kind: "permanent", Code: "http_404", Calls: 1},
		{Answer: `<html>captive portal</html>`, Kind: "transient", Calls: 1},
	}
	for _, api := range []string{"custom", "template"} {
		got := make([]row, len(tests))
		for i, tt := range tests {
			t.Run(api+"/"+tt.Answer, func(t *testing.T) {
				got[i] = errcodeRow(t, api, tt)
			})
		}
		if diff := cmp.Diff(tests, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", api, diff)
		}
	}
}

type errcodeCase struct {
	Answer string
	Status int
	Kind   string
	Code   string
	Calls  int // sends made, 2 when the token was refreshed and the call retried
}

// errcodeRow sends one message against a stand-in that answers tt and
// reports what came of it in tt's shape.
func errcodeRow(t *testing.T, api string, tt errcodeCase) errcodeCase {
	w := &wechat{tokens: []string{"TOKEN_1", "TOKEN_2"}, answer: func(apiCall) (int, string) {
		return max(tt.Status, http.StatusOK), tt.Answer
	}}
	s := newSender(t, standUp(t, w, time.Second), sendNow)
	m := templateMsg(sendNow.Add(-time.Hour))
	if api == "template" {
		m.Kind = channels.KindOATemplate
	} else {
		m.TemplateID = "" // keep an OutsideWindow answer from falling back
	}
	_, err := s.Send(t.Context(), m)
	r := errcodeCase{Answer: tt.Answer, Status: tt.Status}
	var se *channels.SendError
	if errors.As(err, &se) {
		r.Kind, r.Code = se.Kind.String(), se.Code
	}
	for _, c := range w.recorded() {
		if c.Method == http.MethodPost {
			r.Calls++
		}
	}
	for _, tok := range w.tokens {
		if err != nil && strings.Contains(err.Error(), tok) {
			t.Errorf("the error leaks the access token: %q", err)
		}
	}
	if err != nil && !errors.Is(err, ErrRefused) && !errors.Is(err, ErrUnreachable) {
		t.Errorf("error %q wraps neither ErrRefused nor ErrUnreachable", err)
	}
	return r
}

func TestRejectedTokenIsRefreshedOnce(t *testing.T) {
	w := &wechat{tokens: []string{"TOKEN_1", "TOKEN_2"}, answer: func(c apiCall) (int, string) {
		if strings.HasSuffix(c.Query, "TOKEN_1") {
			return errAnswer(40001, "invalid credential, access_token is invalid or not latest")(c)
		}
		return http.StatusOK, `{"errcode":0,"errmsg":"ok"}`
	}}
	rdb := standUp(t, w, time.Second)
	s := newSender(t, rdb, sendNow)
	m := templateMsg(sendNow.Add(-time.Hour))
	rec, err := s.Send(t.Context(), m)
	body := `{"touser":"oFollower","msgtype":"text","text":{"content":"only for the window"}}`
	want := outcome{
		Receipt: channels.Receipt{Kind: channels.KindOAText},
		Calls:   []apiCall{tokenCall(), sendCall("custom", "TOKEN_1", body), tokenCall(), sendCall("custom", "TOKEN_2", body)},
	}
	if diff := cmp.Diff(want, outcomeOf(t, w, rec, err)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	// The fresh token is the shared one now: the next send uses it directly.
	if _, err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if n := w.fetches(); n != 2 {
		t.Errorf("%d token fetches, want 2", n)
	}
}

func TestTokenFetchedOnceAcrossSendsAndProcesses(t *testing.T) {
	w := &wechat{}
	rdb := standUp(t, w, 2*time.Second)
	// Two Senders on one Redis stand for two gateway processes.
	senders := []*Sender{newSender(t, rdb, sendNow), newSender(t, rdb, sendNow)}
	// One send first: concurrent first fetches can race inside the token
	// source (it does not look for the token again after taking its lock).
	if _, err := senders[0].Send(t.Context(), templateMsg(sendNow.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = senders[i%2].Send(t.Context(), templateMsg(sendNow.Add(-time.Hour)))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.fetches(); n != 1 {
		t.Errorf("%d token fetches for 41 sends from two processes, want 1", n)
	}
	if n := len(w.recorded()); n != 42 {
		t.Errorf("%d requests, want 1 token fetch and 41 sends", n)
	}
}

func TestHungWeChatIsTransient(t *testing.T) {
	tests := []struct {
		name          string
		clientTimeout time.Duration
		ctxTimeout    time.Duration
	}{
		{"client timeout", 300 * time.Millisecond, 0},
		{"caller's deadline", 30 * time.Second, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hang := make(chan struct{})
			w := &wechat{hang: hang}
			s := newSender(t, standUp(t, w, tt.clientTimeout), sendNow)
			t.Cleanup(func() { close(hang) })
			ctx := t.Context()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			_, err := s.Send(ctx, templateMsg(sendNow.Add(-time.Hour)))
			took := time.Since(start)
			if k := channels.KindOfError(err); k != channels.Transient || !errors.Is(err, ErrUnreachable) {
				t.Fatalf("Send = %v (%s), want a transient ErrUnreachable", err, k)
			}
			if took > 3*time.Second {
				t.Errorf("Send returned after %v, want about 300ms", took)
			}
		})
	}
}

func TestSenderRefusesWithoutAsking(t *testing.T) {
	inside := sendNow.Add(-time.Hour)
	tests := []struct {
		name     string
		edit     func(m *channels.Outbound)
		sentinel error
	}{
		{"no openid", func(m *channels.Outbound) { m.To = "" }, ErrIncomplete},
		{"another channel", func(m *channels.Outbound) { m.Channel = channels.SMS }, ErrUnsupportedKind},
		{"unknown kind", func(m *channels.Outbound) { m.Kind = "voice" }, ErrUnsupportedKind},
		{"empty text", func(m *channels.Outbound) { m.Text = "" }, ErrIncomplete},
		{"image without media", func(m *channels.Outbound) { m.Kind = channels.KindOAImage }, ErrIncomplete},
		{"news without url", func(m *channels.Outbound) { m.Kind, m.Title, m.URL = channels.KindOANews, "t", "" }, ErrIncomplete},
		{"template without id", func(m *channels.Outbound) { m.Kind, m.TemplateID = channels.KindOATemplate, "" }, ErrIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &wechat{}
			s := newSender(t, standUp(t, w, time.Second), sendNow)
			m := templateMsg(inside)
			tt.edit(m)
			rec, err := s.Send(t.Context(), m)
			if diff := cmp.Diff(outcome{Kind: "permanent"}, outcomeOf(t, w, rec, err)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tt.sentinel)
			}
		})
	}
	w := &wechat{}
	s := newSender(t, standUp(t, w, time.Second), sendNow)
	if _, err := s.Send(t.Context(), nil); channels.KindOfError(err) != channels.Permanent || len(w.recorded()) != 0 {
		t.Errorf("nil message: %v", err)
	}
}

func TestTokenFetchFailures(t *testing.T) {
	type row struct{ Answer, Kind, Code string }
	tests := []row{
		{Answer: `{"errcode":40125,"errmsg":"invalid appsecret"}`, Kind: "permanent", Code: "40125"},
		{Answer: `{"errcode":40164,"errmsg":"invalid ip 1.2.3.4, not in whitelist"}`, Kind: "permanent", Code: "40164"},
		{Answer: `{"errcode":-1,"errmsg":"system error"}`, Kind: "transient", Code: "-1"},
		{Answer: `not json`, Kind: "transient"},
	}
	var got []row
	for _, tt := range tests {
		w := &wechat{}
		srv := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/cgi-bin/token" {
				_, _ = rw.Write([]byte(tt.Answer))
				return
			}
			w.ServeHTTP(rw, r)
		})
		rdb := standUpHandler(t, srv, time.Second)
		s := newSender(t, rdb, sendNow)
		_, err := s.Send(t.Context(), templateMsg(time.Time{}))
		r := row{Answer: tt.Answer}
		var se *channels.SendError
		if errors.As(err, &se) && errors.Is(err, ErrToken) {
			r.Kind, r.Code = se.Kind.String(), se.Code
		}
		if n := len(w.recorded()); n != 0 {
			t.Errorf("%q: %d sends without a token", tt.Answer, n)
		}
		got = append(got, r)
	}
	if diff := cmp.Diff(tests, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestNewSenderChecksConfig(t *testing.T) {
	rdb := standUp(t, &wechat{}, time.Second)
	for _, cfg := range []SenderConfig{
		{AppSecret: "s", Redis: rdb},
		{AppID: "wx1", Redis: rdb},
		{AppID: "wx1", AppSecret: "s"},
	} {
		if _, err := NewSender(cfg); !errors.Is(err, ErrSenderConfig) {
			t.Errorf("NewSender(%+v) = %v, want ErrSenderConfig", cfg, err)
		}
	}
	s, err := NewSender(SenderConfig{AppID: "wx1", AppSecret: "s", Redis: rdb})
	if err != nil || s.Channel() != channels.OfficialAccount {
		t.Fatalf("NewSender = %v, %v", s, err)
	}
}

func TestClientMsgIDFitsWeChat(t *testing.T) {
	long := strings.Repeat("x", 65)
	got := []string{clientMsgID("msg-42"), clientMsgID(strings.Repeat("y", 64)), clientMsgID(long), clientMsgID(long)}
	if got[0] != "msg-42" || got[1] != strings.Repeat("y", 64) || len(got[2]) != 32 || got[2] != got[3] {
		t.Errorf("clientMsgID = %q", got)
	}
}
