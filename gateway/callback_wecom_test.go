package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWeComTencentVectorThroughRoute(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(time.Unix(1409659589, 0))
	r := h.do(http.MethodGet, "/callbacks/wecom?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr="+
		"P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D", nil)
	if r.Status != http.StatusOK || r.Body != "1616140317555161061" {
		t.Fatalf("URL check = %d %q, want 200 1616140317555161061", r.Status, r.Body)
	}
	// The same request an hour later is stale.
	h.clock.Set(time.Unix(1409659589+3600, 0))
	r = h.do(http.MethodGet, "/callbacks/wecom?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr="+
		"P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D", nil)
	if r.Status != http.StatusUnauthorized || r.code(t) != KindStale.Code {
		t.Fatalf("stale URL check = %d %s, want 401 code %d", r.Status, r.Body, KindStale.Code)
	}
}

const addContactXML = `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[rep.li]]></UserID><ExternalUserID><![CDATA[wmEXT001]]></ExternalUserID><State><![CDATA[expo2026]]></State><WelcomeCode><![CDATA[WELCOME1]]></WelcomeCode></xml>`

func TestWeComContactAddedOnceAcrossRetries(t *testing.T) {
	h := newHarness(t)
	plain := strings.Replace(addContactXML, "%d", fmtUnix(h.clock.Now()), 1)
	for i := 0; i < 3; i++ { // WeCom retries the same event
		if r := h.wecomPost(plain); r.Status != http.StatusOK {
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	c := h.contact("wecom", "wmEXT001")
	got := map[string]any{"owner": c["owner"], "consent": c["consent"], "stage": c["stage"], "activity": c["activity"], "tags": c["tags"]}
	want := map[string]any{
		"owner":    "rep.li",
		"consent":  map[string]any{"wecom": "opted_in", "officialaccount": "unknown", "sms": "unknown", "email": "unknown"},
		"stage":    "prospect",
		"activity": "active",
		"tags":     []any{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contact (-want +got):\n%s", diff)
	}
	var types []any
	for _, e := range h.timeline(c["id"].(string)) {
		types = append(types, e["type"])
	}
	if diff := cmp.Diff([]any{"consent", "contact_added"}, types); diff != "" {
		t.Errorf("timeline types after three deliveries (-want +got):\n%s", diff)
	}
}

func TestWeComContactLeftChurnsAndOptsOut(t *testing.T) {
	h := newHarness(t)
	h.wecomPost(strings.Replace(addContactXML, "%d", fmtUnix(h.clock.Now()), 1))
	h.clock.Set(h.clock.Now().Add(time.Hour))
	left := strings.NewReplacer("add_external_contact", "del_follow_user", "%d", fmtUnix(h.clock.Now())).Replace(addContactXML)
	if r := h.wecomPost(left); r.Status != http.StatusOK {
		t.Fatalf("del_follow_user: %d %s", r.Status, r.Body)
	}
	c := h.contact("wecom", "wmEXT001")
	if c["activity"] != "churned" || c["consent"].(map[string]any)["wecom"] != "opted_out" {
		t.Errorf("after del_follow_user: activity %v, wecom consent %v; want churned, opted_out", c["activity"], c["consent"])
	}
}

func TestWeComMemberMessageGoesToInbox(t *testing.T) {
	h := newHarness(t)
	msg := `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[rep.li]]></FromUserName><CreateTime>` + fmtUnix(h.clock.Now()) +
		`</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[已跟进]]></Content><MsgId>7001</MsgId><AgentID>1000002</AgentID></xml>`
	for i := 0; i < 2; i++ {
		if r := h.wecomPost(msg); r.Status != http.StatusOK {
			t.Fatalf("member message: %d %s", r.Status, r.Body)
		}
	}
	got, err := h.srv.inbox.latest(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Event.Member != "rep.li" || got[0].Event.Text != "已跟进" || got[0].Event.ID != "wecom:msg:7001" {
		t.Fatalf("inbox = %+v, want one member message from rep.li", got)
	}
}

func TestWeComRejectsBadInputAndStoresNothing(t *testing.T) {
	h := newHarness(t)
	plain := strings.Replace(addContactXML, "%d", fmtUnix(h.clock.Now()), 1)
	ts := fmtUnix(h.clock.Now())
	body, sig, err := h.wecom.Seal([]byte(plain), ts, "n")
	if err != nil {
		t.Fatal(err)
	}
	tamperedSig := strings.Repeat("0", len(sig))
	tests := []struct {
		name   string
		target string
		body   string
		status int
		code   int
	}{
		{"forged signature", "/callbacks/wecom?msg_signature=" + tamperedSig + "&timestamp=" + ts + "&nonce=n", string(body), 401, KindSignature.Code},
		{"missing signature", "/callbacks/wecom?timestamp=" + ts + "&nonce=n", string(body), 401, KindSignature.Code},
		{"not XML", "/callbacks/wecom?msg_signature=" + sig + "&timestamp=" + ts + "&nonce=n", "{}", 400, KindMalformed.Code},
		{"oversized body", "/callbacks/wecom?msg_signature=" + sig + "&timestamp=" + ts + "&nonce=n", strings.Repeat("x", 2<<20), 413, KindBodyTooLarge.Code},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPost, tt.target, strings.NewReader(tt.body))
			if r.Status != tt.status || r.code(t) != tt.code {
				t.Errorf("got %d %s, want %d code %d", r.Status, r.Body, tt.status, tt.code)
			}
		})
	}
	if n := h.dbsize(); n != 0 {
		t.Errorf("rejected callbacks left %d keys in Redis", n)
	}
}

func TestUnhandledButSignedEventsAreAcknowledged(t *testing.T) {
	h := newHarness(t)
	// change_external_chat (customer groups) is signed and valid, but not handled.
	chat := `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>` + fmtUnix(h.clock.Now()) +
		`</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrOg]]></ChatId><ChangeType><![CDATA[create]]></ChangeType></xml>`
	if r := h.wecomPost(chat); r.Status != http.StatusOK || r.Body != "success" {
		t.Errorf("WeCom: %d %q, want 200 success", r.Status, r.Body)
	}
	if r := h.oaPost(oaEventXML("oX", "VIEW_MINIPROGRAM", "pages/index", h.clock.Now())); r.Status != http.StatusOK || r.Body != "success" {
		t.Errorf("official account: %d %q, want 200 success", r.Status, r.Body)
	}
	if n := h.dbsize(); n != 0 {
		t.Errorf("ignored events stored %d keys", n)
	}
	if m := h.do(http.MethodGet, "/metrics", nil); !strings.Contains(m.Body, `gateway_callbacks_total{outcome="ignored",source="wecom"} 1`) {
		t.Error("ignored callbacks are not counted")
	}
}
