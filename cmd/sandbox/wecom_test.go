package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/silenceper/wechat/v2"
	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work"
	workConfig "github.com/silenceper/wechat/v2/work/config"
	"github.com/silenceper/wechat/v2/work/externalcontact"
	"github.com/silenceper/wechat/v2/work/kf"
	"github.com/silenceper/wechat/v2/work/kf/sendmsg"
	workMessage "github.com/silenceper/wechat/v2/work/message"
)

var ignoreIDTime = cmpopts.IgnoreFields(message{}, "ID", "Time")

func workClient(e *testEnv, secret string) *work.Work {
	return wechat.NewWechat().GetWork(&workConfig.Config{CorpID: e.sb.cfg.WeComCorpID, CorpSecret: secret,
		AgentID: e.sb.cfg.WeComAgentID, Cache: cache.NewMemory()})
}

func wecomToken(t *testing.T, e *testEnv) string {
	t.Helper()
	_, out := callJSON(t, "GET", e.wecom.URL+"/cgi-bin/gettoken?corpid=ww_test_corp&corpsecret=wecom-secret", nil)
	tok, _ := out["access_token"].(string)
	if tok == "" {
		t.Fatalf("no token: %v", out)
	}
	return tok
}

func TestWeComSDKSendText(t *testing.T) {
	e := newTestEnv(t, nil)
	useSDKHosts(t, e)
	resp, err := workClient(e, "wecom-secret").GetMessage().SendText(workMessage.SendTextRequest{
		SendRequestCommon: &workMessage.SendRequestCommon{ToUser: "zhangsan|lisi", AgentID: "1000002"},
		Text:              workMessage.TextField{Content: "明天10点开会"},
	})
	if err != nil {
		t.Fatalf("SendText: %v", err)
	}
	if resp.MsgID == "" {
		t.Error("SendText answered no msgid")
	}
	want := []message{{Channel: chWeCom, API: "message/send", To: "zhangsan", Type: "text", Body: map[string]any{"content": "明天10点开会"}}}
	if diff := cmp.Diff(want, messagesOf(t, e, chWeCom, "zhangsan"), ignoreIDTime); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
	if n := len(messagesOf(t, e, chWeCom, "")); n != 2 {
		t.Errorf("recorded %d messages for two recipients, want 2", n)
	}
}

func TestWeComSDKWrongSecret(t *testing.T) {
	e := newTestEnv(t, nil)
	useSDKHosts(t, e)
	_, err := workClient(e, "wrong").GetMessage().SendText(workMessage.SendTextRequest{
		SendRequestCommon: &workMessage.SendRequestCommon{ToUser: "zhangsan", AgentID: "1000002"}, Text: workMessage.TextField{Content: "x"}})
	if err == nil || !strings.Contains(err.Error(), "40001") {
		t.Fatalf("SendText with a wrong secret: error %v, want errcode 40001", err)
	}
}

// textcard and markdown: the SDK has no helper, so embed SendRequestCommon as the gateway will.
func TestWeComSDKTextCardAndMarkdown(t *testing.T) {
	e := newTestEnv(t, nil)
	useSDKHosts(t, e)
	msg := workClient(e, "wecom-secret").GetMessage()
	type card struct {
		*workMessage.SendRequestCommon
		TextCard wecomTextCard `json:"textcard"`
	}
	type md struct {
		*workMessage.SendRequestCommon
		Markdown wecomContent `json:"markdown"`
	}
	if _, err := msg.Send("card", card{&workMessage.SendRequestCommon{ToUser: "rep1", MsgType: "textcard", AgentID: "1000002"},
		wecomTextCard{Title: "新线索", Description: "张三 80 分", URL: "https://example.com/c/1"}}); err != nil {
		t.Fatalf("textcard: %v", err)
	}
	if _, err := msg.Send("md", md{&workMessage.SendRequestCommon{ToUser: "rep1", MsgType: "markdown", AgentID: "1000002"},
		wecomContent{Content: "**hot lead**"}}); err != nil {
		t.Fatalf("markdown: %v", err)
	}
	_, err := msg.Send("card", card{&workMessage.SendRequestCommon{ToUser: "rep1", MsgType: "textcard", AgentID: "1000002"},
		wecomTextCard{Title: "t", URL: "https://example.com"}})
	if err == nil || !strings.Contains(err.Error(), "41033") {
		t.Errorf("textcard without description: %v, want errcode 41033", err)
	}
	got := messagesOf(t, e, chWeCom, "rep1")
	var types []string
	for _, m := range got {
		types = append(types, m.Type)
	}
	if diff := cmp.Diff([]string{"textcard", "markdown"}, types); diff != "" {
		t.Errorf("recorded types (-want +got):\n%s", diff)
	}
}

func TestWeComTokenErrors(t *testing.T) {
	e := newTestEnv(t, nil)
	tests := []struct {
		name, query string
		want        int
	}{
		{"ok", "corpid=ww_test_corp&corpsecret=wecom-secret", 0},
		{"no corpid", "corpsecret=wecom-secret", 41002},
		{"wrong corpid", "corpid=ww_other&corpsecret=wecom-secret", 40013},
		{"no secret", "corpid=ww_test_corp", 41004},
		{"wrong secret", "corpid=ww_test_corp&corpsecret=nope", 40001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out := callJSON(t, "GET", e.wecom.URL+"/cgi-bin/gettoken?"+tt.query, nil)
			if got := errcode(out); got != tt.want {
				t.Errorf("errcode = %d (%v), want %d", got, out["errmsg"], tt.want)
			}
			if tt.want == 0 && out["expires_in"] != float64(7200) {
				t.Errorf("expires_in = %v, want 7200", out["expires_in"])
			}
		})
	}
}

func TestWeComAccessTokenChecks(t *testing.T) {
	e := newTestEnv(t, nil)
	tok := wecomToken(t, e)
	body := map[string]any{"touser": "u1", "msgtype": "text", "agentid": 1000002, "text": map[string]string{"content": "hi"}}
	call := func(q string) int {
		_, out := callJSON(t, "POST", e.wecom.URL+"/cgi-bin/message/send"+q, body)
		return errcode(out)
	}
	if got := call("?access_token=" + tok); got != 0 {
		t.Fatalf("valid token: errcode %d", got)
	}
	if got := call(""); got != 41001 {
		t.Errorf("missing token: errcode %d, want 41001", got)
	}
	if got := call("?access_token=bogus"); got != 40014 {
		t.Errorf("unknown token: errcode %d, want 40014", got)
	}
	e.clock.Advance(tokenLife)
	if got := call("?access_token=" + tok); got != 42001 {
		t.Errorf("expired token: errcode %d, want 42001", got)
	}
}

func TestWeComMessageSendValidation(t *testing.T) {
	e := newTestEnv(t, nil)
	url := e.wecom.URL + "/cgi-bin/message/send?access_token=" + wecomToken(t, e)
	text := map[string]string{"content": "hi"}
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"agentid as string", map[string]any{"touser": "u", "msgtype": "text", "agentid": "1000002", "text": text}, 0},
		{"no agentid", map[string]any{"touser": "u", "msgtype": "text", "text": text}, 41011},
		{"wrong agentid", map[string]any{"touser": "u", "msgtype": "text", "agentid": 7, "text": text}, 40056},
		{"no recipient", map[string]any{"msgtype": "text", "agentid": 1000002, "text": text}, 82001},
		{"empty text", map[string]any{"touser": "u", "msgtype": "text", "agentid": 1000002, "text": map[string]string{}}, 44004},
		{"unknown type", map[string]any{"touser": "u", "msgtype": "mpnews", "agentid": 1000002}, 40008},
		{"card without title", map[string]any{"touser": "u", "msgtype": "textcard", "agentid": 1000002, "textcard": map[string]string{"description": "d", "url": "u"}}, 41016},
		{"card without url", map[string]any{"touser": "u", "msgtype": "textcard", "agentid": 1000002, "textcard": map[string]string{"title": "t", "description": "d"}}, 41010},
		{"long markdown", map[string]any{"touser": "u", "msgtype": "markdown", "agentid": 1000002, "markdown": map[string]string{"content": strings.Repeat("x", 2049)}}, 45002},
		{"party only", map[string]any{"toparty": "2", "msgtype": "text", "agentid": 1000002, "text": text}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out := callJSON(t, "POST", url, tt.body)
			if got := errcode(out); got != tt.want {
				t.Errorf("errcode = %d (%v), want %d", got, out["errmsg"], tt.want)
			}
		})
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader("{not json"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "47001") {
		t.Errorf("malformed JSON answered %s, want errcode 47001", b)
	}
}

// wecomGateway stands in for the gateway's WeCom callback: it checks the
// signature with the SDK's util, decrypts with util.DecryptMsg and keeps the XML.
type wecomGateway struct {
	mu     sync.Mutex
	events []map[string]string
	errs   []string
}

func (g *wecomGateway) handler(token, corpID, aesKey string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		body, _ := io.ReadAll(r.Body)
		var outer struct {
			Encrypt string `xml:"Encrypt"`
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if err := xml.Unmarshal(body, &outer); err != nil {
			g.errs = append(g.errs, err.Error())
			http.Error(w, "bad xml", 400)
			return
		}
		if util.Signature(token, q.Get("timestamp"), q.Get("nonce"), outer.Encrypt) != q.Get("msg_signature") {
			g.errs = append(g.errs, "signature")
			http.Error(w, "bad signature", 403)
			return
		}
		_, plain, err := util.DecryptMsg(corpID, outer.Encrypt, aesKey)
		if err != nil {
			g.errs = append(g.errs, err.Error())
			http.Error(w, "decrypt", 400)
			return
		}
		g.events = append(g.events, flatXML(plain))
		_, _ = io.WriteString(w, "success")
	}
}

// flatXML reads a flat platform XML document into a map.
func flatXML(b []byte) map[string]string {
	out := map[string]string{}
	dec := xml.NewDecoder(strings.NewReader(string(b)))
	var name string
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		switch v := tok.(type) {
		case xml.StartElement:
			name = v.Name.Local
		case xml.CharData:
			if name != "" && name != "xml" {
				out[name] += string(v)
			}
		case xml.EndElement:
			name = ""
		}
	}
}

func (g *wecomGateway) last(t *testing.T) map[string]string {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.errs) > 0 || len(g.events) == 0 {
		t.Fatalf("gateway saw errors %v and %d events", g.errs, len(g.events))
	}
	return g.events[len(g.events)-1]
}

func newWeComGateway(t *testing.T, e *testEnv) *wecomGateway {
	g := &wecomGateway{}
	mux := http.NewServeMux()
	mux.HandleFunc("/callbacks/wecom", g.handler(e.sb.cfg.WeComToken, e.sb.cfg.WeComCorpID, tencentAESKey))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.sb.cfg.GatewayURL = srv.URL
	return g
}

func TestWelcomeCodeFlow(t *testing.T) {
	e := newTestEnv(t, nil)
	useSDKHosts(t, e)
	g := newWeComGateway(t, e)
	play := func() string {
		status, out := callJSON(t, "POST", e.ui.URL+"/api/play/wecom", map[string]string{
			"external_userid": "wm_cust1", "user_id": "sales01", "event": "add_external_contact", "state": "expo2026"})
		if status != 200 {
			t.Fatalf("play: %d %v", status, out)
		}
		return g.last(t)["WelcomeCode"]
	}
	code := play()
	ev := g.last(t)
	want := map[string]string{"ToUserName": "ww_test_corp", "FromUserName": "sys", "MsgType": "event", "Event": "change_external_contact",
		"ChangeType": "add_external_contact", "UserID": "sales01", "ExternalUserID": "wm_cust1", "State": "expo2026", "WelcomeCode": code}
	if diff := cmp.Diff(want, ev, cmpopts.IgnoreMapEntries(func(k, _ string) bool { return k == "CreateTime" })); diff != "" {
		t.Errorf("decrypted event (-want +got):\n%s", diff)
	}
	ec := workClient(e, "wecom-secret").GetExternalContact()
	send := func(c string) error {
		return ec.SendWelcomeMsg(&externalcontact.SendWelcomeMsgRequest{WelcomeCode: c, Text: externalcontact.MsgText{Content: "欢迎"}})
	}
	if err := send(code); err != nil {
		t.Fatalf("first send_welcome_msg: %v", err)
	}
	if err := send(code); err == nil || !strings.Contains(err.Error(), "41051") {
		t.Errorf("second use: %v, want errcode 41051", err)
	}
	late := play()
	e.clock.Advance(21 * time.Second)
	if err := send(late); err == nil || !strings.Contains(err.Error(), "41051") {
		t.Errorf("after 21 s: %v, want errcode 41051", err)
	}
	if err := send("never-issued"); err == nil || !strings.Contains(err.Error(), "40035") {
		t.Errorf("unknown code: %v, want errcode 40035", err)
	}
	got := messagesOf(t, e, chWeCom, "wm_cust1")
	wantMsgs := []message{{Channel: chWeCom, API: "externalcontact/send_welcome_msg", To: "wm_cust1", Type: "welcome",
		Body: map[string]any{"user_id": "sales01", "text": "欢迎", "attachments": nil}}}
	if diff := cmp.Diff(wantMsgs, got, ignoreIDTime); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
}

func TestKFFlow(t *testing.T) {
	e := newTestEnv(t, nil)
	useSDKHosts(t, e)
	g := newWeComGateway(t, e)
	if status, out := callJSON(t, "POST", e.ui.URL+"/api/play/wecom", map[string]string{
		"external_userid": "wm_c1", "open_kfid": "wk_1", "text": "有优惠吗"}); status != 200 {
		t.Fatalf("play: %d %v", status, out)
	}
	ev := g.last(t)
	if ev["Event"] != "kf_msg_or_event" || ev["OpenKfId"] != "wk_1" || ev["Token"] == "" {
		t.Fatalf("kf event = %v", ev)
	}
	client, err := workClient(e, "wecom-secret").GetKF()
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.SyncMsg(kf.SyncMsgOptions{Token: ev["Token"], OpenKfID: "wk_1"})
	if err != nil {
		t.Fatalf("SyncMsg: %v", err)
	}
	if len(res.MsgList) != 1 || res.MsgList[0].ExternalUserID != "wm_c1" || res.MsgList[0].MsgType != "text" || res.HasMore != 0 {
		t.Fatalf("SyncMsg = %+v", res)
	}
	again, err := client.SyncMsg(kf.SyncMsgOptions{Cursor: res.NextCursor, Token: ev["Token"]})
	if err != nil || len(again.MsgList) != 0 {
		t.Fatalf("SyncMsg after cursor = %+v, %v; want nothing new", again, err)
	}
	reply := func(to, kfid string) error {
		m := sendmsg.Text{Message: sendmsg.Message{ToUser: to, OpenKFID: kfid}, MsgType: "text"}
		m.Text.Content = "有的"
		_, err := client.SendMsg(m)
		return err
	}
	for i := 0; i < kfMaxReplies; i++ {
		if err := reply("wm_c1", "wk_1"); err != nil {
			t.Fatalf("reply %d: %v", i+1, err)
		}
	}
	// The SDK turns kf error codes into its own words, so check the codes on the wire.
	sendURL := e.wecom.URL + "/cgi-bin/kf/send_msg?access_token=" + wecomToken(t, e)
	for name, tc := range map[string]struct {
		to, kfid string
		code     int
	}{
		"sixth reply":     {"wm_c1", "wk_1", 95001},
		"no session":      {"wm_other", "wk_1", 95018},
		"unknown account": {"wm_c1", "wk_nope", 95000},
	} {
		_, out := callJSON(t, "POST", sendURL, map[string]any{"touser": tc.to, "open_kfid": tc.kfid, "msgtype": "text", "text": map[string]string{"content": "x"}})
		if errcode(out) != tc.code {
			t.Errorf("%s: errcode %d (%v), want %d", name, errcode(out), out["errmsg"], tc.code)
		}
	}
	e.clock.Advance(kfTokenLife + time.Second)
	if _, err := client.SyncMsg(kf.SyncMsgOptions{Token: ev["Token"]}); err == nil {
		t.Error("SyncMsg with an expired token succeeded, want errcode 95007")
	}
	e.clock.Advance(sessionWindow)
	sendURL = e.wecom.URL + "/cgi-bin/kf/send_msg?access_token=" + wecomToken(t, e)
	_, out := callJSON(t, "POST", sendURL, map[string]any{"touser": "wm_c1", "open_kfid": "wk_1", "msgtype": "text", "text": map[string]string{"content": "x"}})
	if errcode(out) != 95018 {
		t.Errorf("after 48 h: errcode %d, want 95018", errcode(out))
	}
	if n := len(messagesOf(t, e, chWeCom, "wm_c1")); n != kfMaxReplies {
		t.Errorf("recorded %d replies, want %d", n, kfMaxReplies)
	}
}

func TestKFSyncPaging(t *testing.T) {
	e := newTestEnv(t, nil)
	newWeComGateway(t, e)
	for i := 0; i < 3; i++ {
		callJSON(t, "POST", e.ui.URL+"/api/play/wecom", map[string]string{"external_userid": "wm_c1", "open_kfid": "wk_1", "text": fmt.Sprint(i)})
	}
	url := e.wecom.URL + "/cgi-bin/kf/sync_msg?access_token=" + wecomToken(t, e)
	var cursor string
	var got []string
	for page := 0; page < 4; page++ {
		_, out := callJSON(t, "POST", url, map[string]any{"cursor": cursor, "limit": 2})
		for _, m := range out["msg_list"].([]any) {
			got = append(got, m.(map[string]any)["text"].(map[string]any)["content"].(string))
		}
		cursor = out["next_cursor"].(string)
		if out["has_more"] == float64(0) {
			break
		}
	}
	if diff := cmp.Diff([]string{"0", "1", "2"}, got); diff != "" {
		t.Errorf("paged messages (-want +got):\n%s", diff)
	}
	if _, out := callJSON(t, "POST", url, map[string]any{"cursor": "garbage"}); errcode(out) != 40035 {
		t.Errorf("bad cursor: errcode %d, want 40035", errcode(out))
	}
}

func TestAddMsgTemplateDailyLimit(t *testing.T) {
	e := newTestEnv(t, nil)
	useSDKHosts(t, e)
	ec := workClient(e, "wecom-secret").GetExternalContact()
	send := func(ids ...string) []string {
		t.Helper()
		resp, err := ec.AddMsgTemplate(&externalcontact.AddMsgTemplateRequest{ExternalUserID: ids, Sender: "sales01",
			Text: externalcontact.MsgText{Content: "双十一活动"}})
		if err != nil {
			t.Fatalf("AddMsgTemplate: %v", err)
		}
		if resp.MsgID == "" {
			t.Error("no msgid")
		}
		return resp.FailList
	}
	if diff := cmp.Diff([]string{}, send("wm_a", "wm_b")); diff != "" {
		t.Errorf("first fail_list (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"wm_a"}, send("wm_a", "wm_c")); diff != "" {
		t.Errorf("second fail_list (-want +got):\n%s", diff)
	}
	e.clock.Advance(24 * time.Hour) // past the token's life too, so take a fresh client
	ec = workClient(e, "wecom-secret").GetExternalContact()
	if diff := cmp.Diff([]string{}, send("wm_a")); diff != "" {
		t.Errorf("next day fail_list (-want +got):\n%s", diff)
	}
	if n := len(messagesOf(t, e, chWeCom, "wm_a")); n != 2 {
		t.Errorf("wm_a received %d group messages, want 2", n)
	}
}

func TestMarkTag(t *testing.T) {
	e := newTestEnv(t, nil)
	useSDKHosts(t, e)
	ec := workClient(e, "wecom-secret").GetExternalContact()
	if err := ec.MarkTag(externalcontact.MarkTagRequest{UserID: "sales01", ExternalUserID: "wm_a", AddTag: []string{"et1", "et2"}}); err != nil {
		t.Fatalf("MarkTag: %v", err)
	}
	if err := ec.MarkTag(externalcontact.MarkTagRequest{UserID: "sales01", ExternalUserID: "wm_a", RemoveTag: []string{"et1"}}); err != nil {
		t.Fatalf("MarkTag remove: %v", err)
	}
	resp, err := http.Get(e.ui.URL + "/api/wecom/tags?external_userid=wm_a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if diff := cmp.Diff(`["et2"]`, strings.TrimSpace(string(b))); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	url := e.wecom.URL + "/cgi-bin/externalcontact/mark_tag?access_token=" + wecomToken(t, e)
	for _, tt := range []struct {
		body map[string]any
		want int
	}{
		{map[string]any{"external_userid": "wm_a", "add_tag": []string{"x"}}, 41009},
		{map[string]any{"userid": "s", "add_tag": []string{"x"}}, 40096},
		{map[string]any{"userid": "s", "external_userid": "wm_a"}, 41017},
		{map[string]any{"userid": "s", "external_userid": "wm_a", "add_tag": []string{""}}, 40068},
	} {
		if _, out := callJSON(t, "POST", url, tt.body); errcode(out) != tt.want {
			t.Errorf("mark_tag %v: errcode %d, want %d", tt.body, errcode(out), tt.want)
		}
	}
}

func TestPlatformFaults(t *testing.T) {
	e := newTestEnv(t, nil)
	wecomURL := e.wecom.URL + "/cgi-bin/message/send?access_token=" + wecomToken(t, e)
	oaURL := e.wechat.URL + "/cgi-bin/message/template/send?access_token=" + oaToken(t, e)
	wecomBody := map[string]any{"touser": "u", "msgtype": "text", "agentid": 1000002, "text": map[string]string{"content": "x"}}
	oaBody := map[string]any{"touser": "o", "template_id": "T", "data": map[string]any{"a": map[string]string{"value": "1"}}}
	for _, tt := range []struct {
		channel, mode, url string
		body               map[string]any
		status, code       int
	}{
		{"wecom", "flow_control", wecomURL, wecomBody, 200, 45009},
		{"wecom", "5xx", wecomURL, wecomBody, 503, 0},
		{"officialaccount", "flow_control", oaURL, oaBody, 200, 45009},
		{"officialaccount", "5xx", oaURL, oaBody, 503, 0},
	} {
		callJSON(t, "POST", e.ui.URL+"/api/faults", map[string]any{"channel": tt.channel, "mode": tt.mode, "count": 1})
		status, out := callJSON(t, "POST", tt.url, tt.body)
		if status != tt.status || errcode(out) != tt.code {
			t.Errorf("%s %s: HTTP %d errcode %d, want %d %d", tt.channel, tt.mode, status, errcode(out), tt.status, tt.code)
		}
		if status, out := callJSON(t, "POST", tt.url, tt.body); status != 200 || errcode(out) != 0 {
			t.Errorf("%s after the fault: HTTP %d %v", tt.channel, status, out)
		}
	}
	callJSON(t, "POST", e.ui.URL+"/api/faults", map[string]any{"channel": "wecom", "mode": "hang", "count": 1})
	client := &http.Client{Timeout: 200 * time.Millisecond}
	if _, err := client.Post(wecomURL, "application/json", strings.NewReader(`{}`)); err == nil {
		t.Error("hang fault: the request returned, want a client timeout")
	}
}
