package wecom

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/internal/redistest"
)

func TestNewSenderValidates(t *testing.T) {
	rdb := redistest.Client(t)
	tests := []struct {
		name string
		cfg  SenderConfig
	}{
		{"no corp id", SenderConfig{AgentID: appAgentID, Secret: appSecret, Redis: rdb}},
		{"no secret", SenderConfig{CorpID: appCorpID, AgentID: appAgentID, Redis: rdb}},
		{"no redis", SenderConfig{CorpID: appCorpID, AgentID: appAgentID, Secret: appSecret}},
		{"agent id not a number", SenderConfig{CorpID: appCorpID, AgentID: "sales-app", Secret: appSecret, Redis: rdb}},
		{"no agent id", SenderConfig{CorpID: appCorpID, Secret: appSecret, Redis: rdb}},
		{"negative timeout", SenderConfig{CorpID: appCorpID, AgentID: appAgentID, Secret: appSecret, Redis: rdb, Timeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSender(tt.cfg); !errors.Is(err, ErrSenderConfig) {
				t.Fatalf("NewSender = %v, want ErrSenderConfig", err)
			}
		})
	}
	s := newTestSender(t, rdb)
	if s.Channel() != channels.WeCom {
		t.Errorf("Channel() = %q", s.Channel())
	}
}

func TestSendEachKind(t *testing.T) {
	appCommon := func(msgtype string) map[string]any {
		return map[string]any{
			"touser": "zhangsan", "toparty": "", "totag": "", "msgtype": msgtype, "agentid": appAgentID,
			"safe": 0.0, "enable_id_trans": 0.0, "enable_duplicate_check": 1.0, "duplicate_check_interval": 1800.0,
		}
	}
	with := func(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }
	tests := []struct {
		name     string
		msg      channels.Outbound
		wantPath string
		wantBody map[string]any
		want     channels.Receipt
	}{
		{
			name:     "app text",
			msg:      channels.Outbound{ID: "m1", Channel: channels.WeCom, Kind: channels.KindWeComText, To: "zhangsan", Text: "新线索：王女士，评分 85"},
			wantPath: "/cgi-bin/message/send",
			wantBody: with(appCommon("text"), "text", map[string]any{"content": "新线索：王女士，评分 85"}),
			want:     channels.Receipt{PlatformID: "xxxx-msgid-1", Kind: "text"},
		},
		{
			name: "app text card",
			msg: channels.Outbound{ID: "m2", Kind: channels.KindWeComTextCard, To: "zhangsan", Title: "线索转交",
				Description: "<div class=\"highlight\">王女士</div>", URL: "https://gw.example.com/console/contacts/c1"},
			wantPath: "/cgi-bin/message/send",
			wantBody: with(appCommon("textcard"), "textcard", map[string]any{
				"title": "线索转交", "description": "<div class=\"highlight\">王女士</div>", "url": "https://gw.example.com/console/contacts/c1"}),
			want: channels.Receipt{PlatformID: "xxxx-msgid-1", Kind: "textcard"},
		},
		{
			name:     "app text card takes Text when Description is empty",
			msg:      channels.Outbound{ID: "m3", Kind: channels.KindWeComTextCard, To: "zhangsan", Title: "T", Text: "desc", URL: "https://x.example/a"},
			wantPath: "/cgi-bin/message/send",
			wantBody: with(appCommon("textcard"), "textcard", map[string]any{"title": "T", "description": "desc", "url": "https://x.example/a"}),
			want:     channels.Receipt{PlatformID: "xxxx-msgid-1", Kind: "textcard"},
		},
		{
			name:     "app markdown",
			msg:      channels.Outbound{ID: "m4", Kind: channels.KindWeComMarkdown, To: "zhangsan", Text: "**王女士** 已到 <font color=\"info\">SQL</font>"},
			wantPath: "/cgi-bin/message/send",
			wantBody: with(appCommon("markdown"), "markdown", map[string]any{"content": "**王女士** 已到 <font color=\"info\">SQL</font>"}),
			want:     channels.Receipt{PlatformID: "xxxx-msgid-1", Kind: "markdown"},
		},
		{
			name:     "welcome",
			msg:      channels.Outbound{ID: "m5", Kind: channels.KindWeComWelcome, To: "wmAbCdEf", WelcomeCode: "CALLBACK_CODE", Text: "您好，我是小张 & 很高兴为您服务"},
			wantPath: "/cgi-bin/externalcontact/send_welcome_msg",
			wantBody: map[string]any{"welcome_code": "CALLBACK_CODE", "text": map[string]any{"content": "您好，我是小张 & 很高兴为您服务"}, "attachments": nil},
			want:     channels.Receipt{Kind: "welcome"},
		},
		{
			name:     "kf",
			msg:      channels.Outbound{ID: "m6", Kind: channels.KindWeComKF, To: "wmKfUser", OpenKFID: "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw", Text: "您好，请问有什么可以帮您？"},
			wantPath: "/cgi-bin/kf/send_msg",
			wantBody: map[string]any{"touser": "wmKfUser", "open_kfid": "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw", "msgtype": "text", "text": map[string]any{"content": "您好，请问有什么可以帮您？"}},
			want:     channels.Receipt{PlatformID: "kf-msgid-1", Kind: "kf"},
		},
		{
			name:     "group task",
			msg:      channels.Outbound{ID: "m7", Kind: channels.KindWeComGroupTask, To: "wmAbCdEf", Sender: "zhangsan", Text: "研讨会明天开始"},
			wantPath: "/cgi-bin/externalcontact/add_msg_template",
			wantBody: map[string]any{"chat_type": "single", "external_userid": []any{"wmAbCdEf"}, "sender": "zhangsan",
				"text": map[string]any{"content": "研讨会明天开始"}, "attachments": nil, "tag_filter": map[string]any{"group_list": nil}},
			want: channels.Receipt{PlatformID: "msgGCAAAXtWyujaWJHDDGi0mAAAA", Kind: "group_task"},
		},
	}
	s, st := senderAndStandIn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Send(t.Context(), &tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("receipt (-want +got):\n%s", diff)
			}
			calls, _ := st.taken()
			want := []apiCall{{Method: "POST", Path: tt.wantPath, Query: "access_token=TOKEN-1", Body: tt.wantBody}}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendRefusesBeforeCalling(t *testing.T) {
	tests := []struct {
		name string
		msg  *channels.Outbound
		want error
	}{
		{"nil message", nil, ErrIncomplete},
		{"official-account kind", &channels.Outbound{Kind: channels.KindOATemplate, To: "zhangsan", Text: "x"}, ErrKindNotCarried},
		{"another channel", &channels.Outbound{Channel: channels.SMS, Kind: channels.KindWeComText, To: "zhangsan", Text: "x"}, ErrKindNotCarried},
		{"no recipient", &channels.Outbound{Kind: channels.KindWeComText, Text: "x"}, ErrIncomplete},
		{"empty text", &channels.Outbound{Kind: channels.KindWeComMarkdown, To: "zhangsan", Text: "  "}, ErrIncomplete},
		{"card without url", &channels.Outbound{Kind: channels.KindWeComTextCard, To: "zhangsan", Title: "t", Text: "d"}, ErrIncomplete},
		{"welcome without code", &channels.Outbound{Kind: channels.KindWeComWelcome, To: "wm1", Text: "hi"}, ErrIncomplete},
		{"kf without account", &channels.Outbound{Kind: channels.KindWeComKF, To: "wm1", Text: "hi"}, ErrIncomplete},
		{"group task without sender", &channels.Outbound{Kind: channels.KindWeComGroupTask, To: "wm1", Text: "hi"}, ErrIncomplete},
	}
	s, st := senderAndStandIn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Send(t.Context(), tt.msg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Send = %v, want %v", err, tt.want)
			}
			if diff := cmp.Diff(sendErr{Kind: channels.Permanent}, asSendErr(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if calls, issued := st.taken(); len(calls) != 0 || issued != 0 {
		t.Errorf("refused messages still reached WeCom: %d calls, %d tokens", len(calls), issued)
	}
}

func TestOneTokenForManySendsAndProcesses(t *testing.T) {
	st := newStandIn(t, 5*time.Second)
	rdb := redistest.Client(t)
	a, b := newTestSender(t, rdb), newTestSender(t, rdb) // two gateway processes
	for i := 0; i < 10; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		if _, err := s.Send(t.Context(), &channels.Outbound{Kind: channels.KindWeComText, To: "zhangsan", Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	calls, issued := st.taken()
	if issued != 1 || len(calls) != 10 {
		t.Fatalf("%d gettoken calls for %d sends, want 1 for 10", issued, len(calls))
	}
	for _, c := range calls {
		if c.Query != "access_token=TOKEN-1" {
			t.Fatalf("a send used %q, want the shared TOKEN-1", c.Query)
		}
	}
}

func TestStaleTokenRefreshedOnce(t *testing.T) {
	text := &channels.Outbound{Kind: channels.KindWeComText, To: "zhangsan", Text: "hi"}

	t.Run("one refusal: one refresh, one retry", func(t *testing.T) {
		s, st := senderAndStandIn(t)
		st.answer("/cgi-bin/message/send", weComError(42001))
		got, err := s.Send(t.Context(), text)
		if err != nil {
			t.Fatal(err)
		}
		calls, issued := st.taken()
		if diff := cmp.Diff("access_token=TOKEN-1 access_token=TOKEN-2", tokensOf(calls)); diff != "" || issued != 2 {
			t.Errorf("tokens used (-want +got):\n%s\ngettoken calls: %d, want 2", diff, issued)
		}
		if got.PlatformID != "xxxx-msgid-1" {
			t.Errorf("receipt %+v", got)
		}
	})

	t.Run("two refusals: the send fails, no third try", func(t *testing.T) {
		s, st := senderAndStandIn(t)
		st.answer("/cgi-bin/message/send", weComError(42001), weComError(42001))
		_, err := s.Send(t.Context(), text)
		if diff := cmp.Diff(sendErr{channels.Transient, "42001"}, asSendErr(t, err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if !errors.Is(err, ErrRejected) {
			t.Errorf("%v does not wrap ErrRejected", err)
		}
		calls, issued := st.taken()
		if diff := cmp.Diff("access_token=TOKEN-1 access_token=TOKEN-2", tokensOf(calls)); diff != "" || issued != 2 {
			t.Errorf("tokens used (-want +got):\n%s\ngettoken calls: %d, want 2", diff, issued)
		}
		// The second refused token was dropped too: the next send fetches anew.
		if _, err := s.Send(t.Context(), text); err != nil {
			t.Fatal(err)
		}
		if calls, issued := st.taken(); tokensOf(calls) != "access_token=TOKEN-3" || issued != 3 {
			t.Errorf("next send used %q after %d fetches, want TOKEN-3 after 3", tokensOf(calls), issued)
		}
	})

	t.Run("each stale-token code", func(t *testing.T) {
		for _, code := range []int{40014, 42001, 40001, 41001} {
			s, st := senderAndStandIn(t)
			st.answer("/cgi-bin/kf/send_msg", weComError(code))
			if _, err := s.Send(t.Context(), &channels.Outbound{Kind: channels.KindWeComKF, To: "wm1", OpenKFID: "wk1", Text: "hi"}); err != nil {
				t.Fatalf("errcode %d: %v", code, err)
			}
			if calls, issued := st.taken(); len(calls) != 2 || issued != 2 {
				t.Errorf("errcode %d: %d calls, %d fetches, want 2 and 2", code, len(calls), issued)
			}
		}
	})
}

func TestHungPlatform(t *testing.T) {
	text := &channels.Outbound{Kind: channels.KindWeComText, To: "zhangsan", Text: "hi"}
	tests := []struct {
		name          string
		clientTimeout time.Duration
		senderTimeout time.Duration
		ctxTimeout    time.Duration
	}{
		{"the HTTP client's timeout", 300 * time.Millisecond, 0, 0},
		{"the caller's context", time.Minute, 0, 300 * time.Millisecond},
		{"the sender's own bound", time.Minute, 300 * time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStandIn(t, tt.clientTimeout)
			s := newTestSender(t, redistest.Client(t), func(c *SenderConfig) { c.Timeout = tt.senderTimeout })
			// Fetch the token first, so only the send itself hangs.
			if _, err := s.tokens.GetAccessTokenContext(t.Context()); err != nil {
				t.Fatal(err)
			}
			st.hangAPIs()
			ctx := t.Context()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			_, err := s.Send(ctx, text)
			took := time.Since(start)
			if diff := cmp.Diff(sendErr{Kind: channels.Transient}, asSendErr(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !errors.Is(err, ErrUnreachable) {
				t.Errorf("%v does not wrap ErrUnreachable", err)
			}
			if took > 2*time.Second {
				t.Errorf("a hung platform held the send for %v", took)
			}
		})
	}
}
