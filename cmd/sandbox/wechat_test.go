package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2"
	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/officialaccount"
	offConfig "github.com/silenceper/wechat/v2/officialaccount/config"
	oaMessage "github.com/silenceper/wechat/v2/officialaccount/message"
)

func oaClient(e *testEnv, secret string, stable bool) *officialaccount.OfficialAccount {
	return wechat.NewWechat().GetOfficialAccount(&offConfig.Config{AppID: e.sb.cfg.WeChatAppID, AppSecret: secret,
		Token: e.sb.cfg.WeChatToken, EncodingAESKey: e.sb.cfg.WeChatAESKey, Cache: cache.NewMemory(), UseStableAK: stable})
}

// oaGateway is the gateway's official-account callback built on the SDK's
// own server, so played messages must pass the SDK's checks and decryption.
type oaGateway struct {
	mu   sync.Mutex
	msgs []*oaMessage.MixMessage
	errs []string
}

func newOAGateway(t *testing.T, e *testEnv, reply func(*oaMessage.MixMessage) *oaMessage.Reply) *oaGateway {
	g := &oaGateway{}
	oa := oaClient(e, e.sb.cfg.WeChatAppSecret, false)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := oa.GetServer(r, w)
		var answer *oaMessage.Reply
		s.SetMessageHandler(func(m *oaMessage.MixMessage) *oaMessage.Reply {
			g.mu.Lock()
			g.msgs = append(g.msgs, m)
			g.mu.Unlock()
			answer = reply(m)
			return answer
		})
		if err := s.Serve(); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err.Error())
			g.mu.Unlock()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("echostr") != "" {
			return
		}
		if answer == nil {
			if r.URL.Query().Get("encrypt_type") == "aes" { // plain mode: Serve already wrote success
				_, _ = w.Write([]byte("success"))
			}
			return
		}
		if err := s.Send(); err != nil {
			t.Errorf("SDK Send: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	e.sb.cfg.GatewayURL = srv.URL
	return g
}

func (g *oaGateway) received(t *testing.T) []*oaMessage.MixMessage {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.errs) > 0 {
		t.Fatalf("SDK server refused played callbacks: %v", g.errs)
	}
	return append([]*oaMessage.MixMessage{}, g.msgs...)
}

func noReply(*oaMessage.MixMessage) *oaMessage.Reply { return nil }

func TestOACustomSendWindow(t *testing.T) {
	for _, safe := range []bool{true, false} {
		t.Run(map[bool]string{true: "safe mode", false: "plain mode"}[safe], func(t *testing.T) {
			e := newTestEnv(t, func(c *config) {
				if !safe {
					c.WeChatAESKey = ""
				}
			})
			useSDKHosts(t, e)
			g := newOAGateway(t, e, noReply)
			cs := oaClient(e, "wechat-secret", false).GetCustomerMessageManager()
			err := cs.Send(oaMessage.NewCustomerTextMessage("o_user1", "hello"))
			if err == nil || !strings.Contains(err.Error(), "45015") {
				t.Fatalf("custom send before any interaction: %v, want errcode 45015", err)
			}
			status, out := callJSON(t, "POST", e.ui.URL+"/api/play/officialaccount", map[string]string{"openid": "o_user1", "text": "我想了解产品"})
			if status != 200 {
				t.Fatalf("play: %d %v", status, out)
			}
			got := g.received(t)
			if len(got) != 1 || got[0].Content != "我想了解产品" || string(got[0].FromUserName) != "o_user1" || got[0].MsgType != "text" {
				t.Fatalf("SDK server decoded %+v", got)
			}
			if err := cs.Send(oaMessage.NewCustomerTextMessage("o_user1", "您好")); err != nil {
				t.Fatalf("custom send inside the window: %v", err)
			}
			want := []message{{Channel: chOA, API: "message/custom/send", To: "o_user1", Type: "text", Body: map[string]any{"content": "您好"}}}
			if diff := cmp.Diff(want, messagesOf(t, e, chOA, "o_user1"), ignoreIDTime); diff != "" {
				t.Errorf("received (-want +got):\n%s", diff)
			}
			e.clock.Advance(customWindow + time.Minute)
			cs = oaClient(e, "wechat-secret", false).GetCustomerMessageManager() // the old token died with the clock
			if err := cs.Send(oaMessage.NewCustomerTextMessage("o_user1", "还在吗")); err == nil || !strings.Contains(err.Error(), "45015") {
				t.Errorf("custom send after 48 h: %v, want errcode 45015", err)
			}
		})
	}
}

func TestOAPassiveReplyRecorded(t *testing.T) {
	e := newTestEnv(t, nil)
	newOAGateway(t, e, func(m *oaMessage.MixMessage) *oaMessage.Reply {
		return &oaMessage.Reply{MsgType: oaMessage.MsgTypeText, MsgData: oaMessage.NewText("欢迎关注")}
	})
	status, out := callJSON(t, "POST", e.ui.URL+"/api/play/officialaccount", map[string]string{"openid": "o_u2", "event": "subscribe", "scene": "expo"})
	if status != 200 {
		t.Fatalf("play: %d %v", status, out)
	}
	got := messagesOf(t, e, chOA, "o_u2")
	if len(got) != 1 || got[0].API != "passive_reply" || got[0].Type != "text" {
		t.Fatalf("recorded %+v", got)
	}
	if body := got[0].Body.(map[string]any); body["content"] != "欢迎关注" || body["from"] != e.sb.cfg.WeChatOriginalID {
		t.Errorf("reply body = %v", body)
	}
}

// The SDK writes an encrypted empty string when a safe-mode handler returns
// nil and the caller still calls Send; WeChat shows that as an error, so must the sandbox.
func TestOAEncryptedEmptyReplyRejected(t *testing.T) {
	e := newTestEnv(t, nil)
	oa := oaClient(e, "wechat-secret", false)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := oa.GetServer(r, w)
		s.SetMessageHandler(noReply)
		if err := s.Serve(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		_ = s.Send()
	}))
	defer srv.Close()
	e.sb.cfg.GatewayURL = srv.URL
	status, out := callJSON(t, "POST", e.ui.URL+"/api/play/officialaccount", map[string]string{"openid": "o_u3", "text": "hi"})
	if status != http.StatusBadGateway || !strings.Contains(out["error"].(string), "encrypted reply is empty") {
		t.Errorf("play answered %d %v, want 502 naming the empty encrypted reply", status, out)
	}
}

func TestOAPlayEvents(t *testing.T) {
	e := newTestEnv(t, nil)
	g := newOAGateway(t, e, noReply)
	plays := []map[string]string{
		{"openid": "o_1", "event": "subscribe", "scene": "webinar"},
		{"openid": "o_1", "event": "SCAN", "scene": "booth"},
		{"openid": "o_1", "event": "CLICK", "key": "MENU_PRICE"},
		{"openid": "o_1", "event": "unsubscribe"},
	}
	for _, p := range plays {
		if status, out := callJSON(t, "POST", e.ui.URL+"/api/play/officialaccount", p); status != 200 {
			t.Fatalf("play %v: %d %v", p, status, out)
		}
	}
	var got [][2]string
	for _, m := range g.received(t) {
		got = append(got, [2]string{string(m.Event), m.EventKey})
	}
	want := [][2]string{{"subscribe", "qrscene_webinar"}, {"SCAN", "booth"}, {"CLICK", "MENU_PRICE"}, {"unsubscribe", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events seen by the SDK (-want +got):\n%s", diff)
	}
	// An unfollowed user can get neither customer-service nor template messages.
	tok := oaToken(t, e)
	_, out := callJSON(t, "POST", e.wechat.URL+"/cgi-bin/message/template/send?access_token="+tok,
		map[string]any{"touser": "o_1", "template_id": "T1", "data": map[string]any{"first": map[string]string{"value": "x"}}})
	if errcode(out) != 43004 {
		t.Errorf("template to an unfollowed user: errcode %d, want 43004", errcode(out))
	}
	for _, bad := range []map[string]string{{"openid": "o_1"}, {"text": "no openid"}, {"openid": "o", "event": "SCAN"}, {"openid": "o", "event": "dance"}} {
		if status, _ := callJSON(t, "POST", e.ui.URL+"/api/play/officialaccount", bad); status != http.StatusBadRequest {
			t.Errorf("play %v answered %d, want 400", bad, status)
		}
	}
}

func oaToken(t *testing.T, e *testEnv) string {
	t.Helper()
	_, out := callJSON(t, "GET", e.wechat.URL+"/cgi-bin/token?grant_type=client_credential&appid=wx_test_app&secret=wechat-secret", nil)
	tok, _ := out["access_token"].(string)
	if tok == "" {
		t.Fatalf("no token: %v", out)
	}
	return tok
}

func TestOATemplateSendAndFinishedEvent(t *testing.T) {
	e := newTestEnv(t, nil)
	useSDKHosts(t, e)
	g := newOAGateway(t, e, noReply)
	msgID, err := oaClient(e, "wechat-secret", true).GetTemplate().Send(&oaMessage.TemplateMessage{
		ToUser: "o_9", TemplateID: "TPL_webinar",
		Data: map[string]*oaMessage.TemplateDataItem{"first": {Value: "研讨会提醒"}, "keyword1": {Value: "明天"}},
	})
	if err != nil || msgID == 0 {
		t.Fatalf("template Send = %d, %v", msgID, err)
	}
	waitFor(t, "TEMPLATESENDJOBFINISH", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.msgs) == 1
	})
	ev := g.received(t)[0]
	if string(ev.Event) != "TEMPLATESENDJOBFINISH" || ev.Status != "success" || string(ev.FromUserName) != "o_9" {
		t.Errorf("finished event = %+v", ev)
	}
	got := messagesOf(t, e, chOA, "o_9")
	if len(got) != 1 || got[0].Type != "template" || got[0].Body.(map[string]any)["template_id"] != "TPL_webinar" {
		t.Errorf("recorded %+v", got)
	}
}

func TestOATokenAndAPIErrors(t *testing.T) {
	e := newTestEnv(t, nil)
	useSDKHosts(t, e)
	if _, err := oaClient(e, "wrong", false).GetAccessToken(); err == nil || !strings.Contains(err.Error(), "40125") {
		t.Errorf("SDK token with a wrong secret: %v, want errcode 40125", err)
	}
	if _, err := oaClient(e, "wrong", true).GetAccessToken(); err == nil || !strings.Contains(err.Error(), "40125") {
		t.Errorf("SDK stable token with a wrong secret: %v, want errcode 40125", err)
	}
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"grant_type=client_credential&appid=wx_test_app&secret=wechat-secret", 0},
		{"grant_type=password&appid=wx_test_app&secret=wechat-secret", 40002},
		{"grant_type=client_credential&appid=wx_other&secret=wechat-secret", 40013},
		{"grant_type=client_credential&secret=wechat-secret", 41002},
		{"grant_type=client_credential&appid=wx_test_app", 41004},
	} {
		if _, out := callJSON(t, "GET", e.wechat.URL+"/cgi-bin/token?"+tt.query, nil); errcode(out) != tt.want {
			t.Errorf("token %s: errcode %d, want %d", tt.query, errcode(out), tt.want)
		}
	}
	tok := oaToken(t, e)
	body := map[string]any{"touser": "o", "msgtype": "text", "text": map[string]string{"content": "x"}}
	for _, tt := range []struct {
		name, query string
		body        map[string]any
		want        int
	}{
		{"missing token", "", body, 41001},
		{"malformed token", "?access_token=abc", body, 40014},
		{"unknown token", "?access_token=" + strings.Repeat("A", wechatTokenLen), body, 40001},
		{"empty text", "?access_token=" + tok, map[string]any{"touser": "o", "msgtype": "text", "text": map[string]string{}}, 44004},
		{"two articles", "?access_token=" + tok, map[string]any{"touser": "o", "msgtype": "news", "news": map[string]any{"articles": []any{map[string]string{"title": "a"}, map[string]string{"title": "b"}}}}, 45008},
		{"no media", "?access_token=" + tok, map[string]any{"touser": "o", "msgtype": "image", "image": map[string]string{}}, 40007},
		{"bad type", "?access_token=" + tok, map[string]any{"touser": "o", "msgtype": "hologram"}, 40008},
	} {
		if _, out := callJSON(t, "POST", e.wechat.URL+"/cgi-bin/message/custom/send"+tt.query, tt.body); errcode(out) != tt.want {
			t.Errorf("%s: errcode %d (%v), want %d", tt.name, errcode(out), out["errmsg"], tt.want)
		}
	}
	tplURL := e.wechat.URL + "/cgi-bin/message/template/send?access_token=" + tok
	for _, tt := range []struct {
		body map[string]any
		want int
	}{
		{map[string]any{"template_id": "T", "data": map[string]any{"a": map[string]string{"value": "1"}}}, 40003},
		{map[string]any{"touser": "o", "data": map[string]any{"a": map[string]string{"value": "1"}}}, 40037},
		{map[string]any{"touser": "o", "template_id": "T"}, 47003},
		{map[string]any{"touser": "o", "template_id": "T", "data": map[string]any{"a": "bare"}}, 47003},
	} {
		if _, out := callJSON(t, "POST", tplURL, tt.body); errcode(out) != tt.want {
			t.Errorf("template %v: errcode %d, want %d", tt.body, errcode(out), tt.want)
		}
	}
	callJSON(t, "POST", e.ui.URL+"/api/tokens/expire", map[string]string{"channel": "officialaccount"})
	if _, out := callJSON(t, "POST", e.wechat.URL+"/cgi-bin/message/custom/send?access_token="+tok, body); errcode(out) != 42001 {
		t.Errorf("after /api/tokens/expire: errcode %d, want 42001", errcode(out))
	}
}

func TestOAStableTokenIsStable(t *testing.T) {
	e := newTestEnv(t, nil)
	req := map[string]any{"grant_type": "client_credential", "appid": "wx_test_app", "secret": "wechat-secret"}
	_, a := callJSON(t, "POST", e.wechat.URL+"/cgi-bin/stable_token", req)
	_, b := callJSON(t, "POST", e.wechat.URL+"/cgi-bin/stable_token", req)
	req["force_refresh"] = true
	_, c := callJSON(t, "POST", e.wechat.URL+"/cgi-bin/stable_token", req)
	if a["access_token"] == nil || a["access_token"] != b["access_token"] || c["access_token"] == a["access_token"] {
		t.Errorf("stable tokens a=%v b=%v forced=%v; want a == b != forced", a["access_token"], b["access_token"], c["access_token"])
	}
}

func TestOACustomReplyLimit(t *testing.T) {
	e := newTestEnv(t, nil)
	newOAGateway(t, e, noReply)
	callJSON(t, "POST", e.ui.URL+"/api/play/officialaccount", map[string]string{"openid": "o_5", "text": "hi"})
	url := e.wechat.URL + "/cgi-bin/message/custom/send?access_token=" + oaToken(t, e)
	body := map[string]any{"touser": "o_5", "msgtype": "text", "text": map[string]string{"content": "x"}}
	for i := 0; i < customMaxReplies; i++ {
		if _, out := callJSON(t, "POST", url, body); errcode(out) != 0 {
			t.Fatalf("reply %d: %v", i+1, out)
		}
	}
	if _, out := callJSON(t, "POST", url, body); errcode(out) != 45047 {
		t.Errorf("reply %d: errcode %d, want 45047", customMaxReplies+1, errcode(out))
	}
	callJSON(t, "POST", e.ui.URL+"/api/play/officialaccount", map[string]string{"openid": "o_5", "text": "again"})
	if _, out := callJSON(t, "POST", url, body); errcode(out) != 0 {
		t.Errorf("after a new interaction: %v", out)
	}
}
