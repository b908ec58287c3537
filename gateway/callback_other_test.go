package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels/email"
	"github.com/journeygate/gateway/configs"
)

func oaEventXML(openid, event, key string, at time.Time) string {
	return `<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[` + openid + `]]></FromUserName><CreateTime>` + fmtUnix(at) +
		`</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[` + event + `]]></Event><EventKey><![CDATA[` + key + `]]></EventKey></xml>`
}

func TestOfficialAccountFollowThenUnfollow(t *testing.T) {
	h := newHarness(t)
	r := h.oaPost(oaEventXML("oFollower1", "subscribe", "qrscene_expo", h.clock.Now()))
	if r.Status != http.StatusOK || r.Body != "success" {
		t.Fatalf("subscribe: %d %q, want 200 success", r.Status, r.Body)
	}
	c := h.contact("officialaccount", "oFollower1")
	if got := c["consent"].(map[string]any)["officialaccount"]; got != "opted_in" {
		t.Errorf("after subscribe consent = %v, want opted_in", got)
	}
	if src := c["consent_source"].(map[string]any)["officialaccount"]; !strings.Contains(src.(string), "expo") {
		t.Errorf("consent source %q does not name the QR scene", src)
	}
	h.clock.Set(h.clock.Now().Add(time.Minute))
	h.oaPost(oaEventXML("oFollower1", "unsubscribe", "", h.clock.Now()))
	c = h.contact("officialaccount", "oFollower1")
	if c["activity"] != "churned" || c["consent"].(map[string]any)["officialaccount"] != "opted_out" {
		t.Errorf("after unsubscribe: activity %v consent %v", c["activity"], c["consent"])
	}
}

func TestOfficialAccountPlainModeAndForgery(t *testing.T) {
	h := newHarness(t)
	body, q, err := h.oa.Seal([]byte(oaEventXML("oX", "subscribe", "", h.clock.Now())), fmtUnix(h.clock.Now()), "n")
	if err != nil {
		t.Fatal(err)
	}
	q.Set("msg_signature", strings.Repeat("a", 40))
	r := h.do(http.MethodPost, "/callbacks/officialaccount?"+q.Encode(), strings.NewReader(string(body)))
	if r.Status != http.StatusUnauthorized || r.code(t) != KindSignature.Code {
		t.Fatalf("forged safe-mode message: %d %s", r.Status, r.Body)
	}
	if n := h.dbsize(); n != 0 {
		t.Errorf("forged message left %d keys", n)
	}
}

func TestSMSRepliesAndReports(t *testing.T) {
	h := newHarness(t)
	up := `[{"phone_number":"13800138000","content":"TD","send_time":"2026-11-22 18:00:00","dest_code":"1234","sequence_id":1234567890123}]`
	r := h.do(http.MethodPost, "/callbacks/sms/up", strings.NewReader(up))
	if r.Status != http.StatusOK || r.Body != `{"code":0,"msg":"接收成功"}` {
		t.Fatalf("SmsUp: %d %s", r.Status, r.Body)
	}
	c := h.contact("sms", "+86 138 0013 8000")
	if got := c["consent"].(map[string]any)["sms"]; got != "opted_out" {
		t.Errorf("after TD, sms consent = %v, want opted_out", got)
	}
	report := `[{"phone_number":"13800138000","send_time":"2026-11-22 17:00:00","report_time":"2026-11-22 17:00:05","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1","biz_id":"biz1","out_id":"m1"}]`
	for i := 0; i < 2; i++ {
		if r := h.do(http.MethodPost, "/callbacks/sms/report", strings.NewReader(report)); r.Status != http.StatusOK {
			t.Fatalf("SmsReport: %d %s", r.Status, r.Body)
		}
	}
	var types []any
	for _, e := range h.timeline(c["id"].(string)) {
		types = append(types, e["type"])
	}
	if diff := cmp.Diff([]any{"sms_delivered", "consent", "sms_reply"}, types); diff != "" {
		t.Errorf("timeline types, newest first (-want +got):\n%s", diff)
	}
}

func TestSMSBadBatchChangesNothing(t *testing.T) {
	h := newHarness(t)
	bad := `[{"phone_number":"13800138000","content":"TD","send_time":"2026-11-22 18:00:00","sequence_id":1},{"content":"no phone"}]`
	r := h.do(http.MethodPost, "/callbacks/sms/up", strings.NewReader(bad))
	if r.Status != http.StatusBadRequest || r.code(t) != KindMalformed.Code {
		t.Fatalf("bad batch: %d %s", r.Status, r.Body)
	}
	if n := h.dbsize(); n != 0 {
		t.Errorf("a rejected batch left %d keys", n)
	}
}

func TestSMSCallbackToken(t *testing.T) {
	h := newHarness(t, func(c *configs.Config) { c.Aliyun.CallbackToken = "push-secret" })
	if r := h.do(http.MethodPost, "/callbacks/sms/up", strings.NewReader(`[]`)); r.Status != http.StatusUnauthorized {
		t.Errorf("without token: %d, want 401", r.Status)
	}
	if r := h.do(http.MethodPost, "/callbacks/sms/up?token=push-secret", strings.NewReader(`[]`)); r.Status != http.StatusOK {
		t.Errorf("with token: %d %s, want 200", r.Status, r.Body)
	}
}

func TestEmailTrackingAndUnsubscribe(t *testing.T) {
	h := newHarness(t)
	sign := func(kind byte, url string) string {
		tok, err := h.tokens.Sign(email.Claim{Kind: kind, MessageID: "m42", ContactID: "c1", Address: "Reader@Example.com", URL: url, Campaign: "nov"})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if r := h.do(http.MethodGet, "/t/o/"+sign('o', ""), nil); r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/gif" {
		t.Fatalf("open pixel: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	r := h.do(http.MethodGet, "/t/c/"+sign('c', "https://shop.example.com/p?id=1"), nil)
	if r.Status != http.StatusFound || r.Header.Get("Location") != "https://shop.example.com/p?id=1" {
		t.Fatalf("click: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	if r := h.do(http.MethodGet, "/t/c/"+sign('o', ""), nil); r.Status != http.StatusNotFound || r.code(t) != KindBadLinkToken.Code {
		t.Errorf("an open token used as a click: %d %s, want 404 code %d", r.Status, r.Body, KindBadLinkToken.Code)
	}
	unsub := sign('u', "")
	page := h.do(http.MethodGet, "/u/"+unsub, nil)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "<form") {
		t.Fatalf("unsubscribe page: %d", page.Status)
	}
	c := h.contact("email", "reader@example.com")
	if got := c["consent"].(map[string]any)["email"]; got != "unknown" {
		t.Fatalf("a GET of the unsubscribe page changed consent to %v", got)
	}
	r = h.do(http.MethodPost, "/u/"+unsub, strings.NewReader("List-Unsubscribe=One-Click"), "Content-Type", "application/x-www-form-urlencoded")
	if r.Status != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d %s", r.Status, r.Body)
	}
	c = h.contact("email", "reader@example.com")
	if got := c["consent"].(map[string]any)["email"]; got != "opted_out" {
		t.Errorf("after one-click unsubscribe email consent = %v", got)
	}
}

func TestEmailBounces(t *testing.T) {
	h := newHarness(t)
	body := `[{"id":"b1","type":"hard","email":"gone@example.com","reason":"550 5.1.1 user unknown"},{"id":"b2","type":"complaint","email":"angry@example.com"}]`
	if r := h.do(http.MethodPost, "/callbacks/email/bounce", strings.NewReader(body)); r.Status != http.StatusUnauthorized {
		t.Fatalf("without the webhook token: %d, want 401", r.Status)
	}
	r := h.do(http.MethodPost, "/callbacks/email/bounce", strings.NewReader(body), "Authorization", "Bearer "+webhookToken)
	if r.Status != http.StatusOK {
		t.Fatalf("bounces: %d %s", r.Status, r.Body)
	}
	if u := h.contact("email", "gone@example.com")["unreachable"]; u == nil || !strings.Contains(strings.Join(toStrings(u), ","), "email") {
		t.Errorf("hard bounce: unreachable = %v, want email", u)
	}
	if got := h.contact("email", "angry@example.com")["consent"].(map[string]any)["email"]; got != "opted_out" {
		t.Errorf("complaint: email consent = %v, want opted_out", got)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
