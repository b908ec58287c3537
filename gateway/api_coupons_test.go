package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/outreach"
)

// form posts a form-encoded body with the admin token, as a shop system does.
func (h *harness) form(path string, v url.Values) response {
	h.t.Helper()
	return h.do(http.MethodPost, path, strings.NewReader(v.Encode()),
		"Authorization", "Bearer "+adminToken, "Content-Type", "application/x-www-form-urlencoded")
}

// withOutreach gives the server a send pipeline over the harness's Redis,
// contacts and templates (no senders: messages stay scheduled).
func (h *harness) withOutreach() {
	h.t.Helper()
	p, err := outreach.New(h.rdb, h.store, outreach.TemplateRenderer{Store: h.srv.tpls, Renderer: h.srv.renderer}, nil, outreach.Options{Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = p.Close() })
	h.srv.outreach = p
}

// redisSnapshot is every key with its type and serialized value, to prove a
// refused request wrote nothing.
func (h *harness) redisSnapshot() map[string]string {
	h.t.Helper()
	return redistest.Snapshot(h.t, h.rdb, "*")
}

func (h *harness) mustStatus(r response, status int) map[string]any {
	h.t.Helper()
	if r.Status != status {
		h.t.Fatalf("got %d %s, want %d", r.Status, r.Body, status)
	}
	return r.json(h.t)
}

func entriesOfType(entries []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, e := range entries {
		if e["type"] == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestCouponLifecycleOverHTTP(t *testing.T) {
	h := newHarness(t)
	created := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches",
		`{"id":"d11","name":"双11 满200减20","expires_at":"2026-12-01T00:00:00+08:00","value_cents":2000}`), http.StatusCreated)
	want := map[string]any{"id": "d11", "name": "双11 满200减20", "value_cents": float64(2000), "expires_at": "2026-11-30T16:00:00Z",
		"created_at": "2026-11-22T10:00:00Z", "total": float64(0), "issued": float64(0), "redeemed": float64(0), "available": float64(0), "remind_before": "0s"}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created batch (-want +got):\n%s", diff)
	}
	added := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/d11/codes", `{"codes":["D11-AAAA","d11-aaaa","D11-BBBB"]}`), http.StatusOK)
	if added["added"] != float64(2) {
		t.Errorf("import added %v, want 2 (case variants are one code)", added["added"])
	}
	added = h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/d11/codes", `{"generate":3,"prefix":"g-"}`), http.StatusOK)
	if added["added"] != float64(3) {
		t.Errorf("generate added %v, want 3", added["added"])
	}

	issue := `{"contact":{"phone":"138 0013 8000"}}`
	first := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/d11/issue", issue), http.StatusOK)
	again := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/d11/issue", issue), http.StatusOK)
	code, contactID := first["code"].(string), first["contact_id"].(string)
	if first["fresh"] != true || again["fresh"] != false || again["code"] != code || again["contact_id"] != contactID {
		t.Fatalf("issue twice: %v then %v; want one code, fresh once", first, again)
	}
	if h.contact("sms", "+8613800138000")["id"] != contactID {
		t.Errorf("issue did not answer with the contact's id %s", contactID)
	}
	counts := h.mustStatus(h.api(http.MethodGet, "/api/v1/coupons/batches/d11", ""), http.StatusOK)
	if diff := cmp.Diff([]any{float64(5), float64(1), float64(0), float64(4)}, []any{counts["total"], counts["issued"], counts["redeemed"], counts["available"]}); diff != "" {
		t.Errorf("total, issued, redeemed, available (-want +got):\n%s", diff)
	}
	issued := entriesOfType(h.timeline(contactID), "coupon_issued")
	if len(issued) != 1 {
		t.Fatalf("%d coupon_issued entries, want 1", len(issued))
	}
	if diff := cmp.Diff(map[string]any{"batch": "d11", "code": code}, issued[0]["props"]); diff != "" {
		t.Errorf("coupon_issued props (-want +got):\n%s", diff)
	}

	// A template shows the contact's code with {{.coupon}}.
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/coupon", `{"name":"coupon","purpose":"marketing","channels":{"wecom":{"text":"您的优惠码 {{.coupon}}（{{.coupon_batch}}）"}}}`), http.StatusOK)
	p := h.mustStatus(h.api(http.MethodPost, "/api/v1/templates/coupon/preview", `{"contact":{"phone":"13800138000"}}`), http.StatusOK)
	rendered := p["channels"].([]any)[0].(map[string]any)["rendered"].(map[string]any)["text"]
	if rendered != "您的优惠码 "+code+"（d11）" {
		t.Errorf("preview = %v, want the issued code %s", rendered, code)
	}

	h.clock.Set(h.clock.Now().Add(time.Hour))
	redeem := `{"code":"` + strings.ToLower(code) + `","order_id":"A1001"}`
	r := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/redeem", redeem), http.StatusOK)
	wantRedemption := map[string]any{"batch": "d11", "code": code, "contact_id": contactID, "order_id": "A1001",
		"redeemed_at": "2026-11-22T11:00:00Z", "duplicate": false}
	if diff := cmp.Diff(wantRedemption, r); diff != "" {
		t.Errorf("redemption (-want +got):\n%s", diff)
	}
	h.clock.Set(h.clock.Now().Add(time.Minute))
	r = h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/redeem", redeem), http.StatusOK)
	wantRedemption["duplicate"] = true
	if diff := cmp.Diff(wantRedemption, r); diff != "" {
		t.Errorf("repeated redemption (-want +got):\n%s", diff)
	}
	if r := h.api(http.MethodPost, "/api/v1/coupons/redeem", `{"code":"`+code+`","order_id":"A1002"}`); r.Status != http.StatusConflict || r.code(t) != KindCouponUsed.Code {
		t.Errorf("redeem in another order: %d %s", r.Status, r.Body)
	}

	ct := h.contact("sms", "+8613800138000")
	if ct["stage"] != "customer" || !slices.Contains(ct["tags"].([]any), any("customer")) || ct["score"] != float64(30) {
		t.Errorf("after redeeming: stage %v, tags %v, score %v; want customer, [customer], 30 (counted once)", ct["stage"], ct["tags"], ct["score"])
	}
	redeemed := entriesOfType(h.timeline(contactID), "coupon_redeemed")
	if len(redeemed) != 1 {
		t.Fatalf("%d coupon_redeemed entries, want 1", len(redeemed))
	}
	if diff := cmp.Diff(map[string]any{"batch": "d11", "code": code, "order": "A1001"}, redeemed[0]["props"]); diff != "" {
		t.Errorf("coupon_redeemed props (-want +got):\n%s", diff)
	}
	if counts := h.mustStatus(h.api(http.MethodGet, "/api/v1/coupons/batches/d11", ""), http.StatusOK); counts["redeemed"] != float64(1) {
		t.Errorf("redeemed count = %v, want 1", counts["redeemed"])
	}
}

func TestCouponRedeemFormFromAShop(t *testing.T) {
	h := newHarness(t)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches", `{"id":"shop","name":"shop","expires_at":"2026-12-31T00:00:00Z"}`), http.StatusCreated)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/shop/codes", `{"codes":["SHOP-0001","SHOP-0002"]}`), http.StatusOK)
	code := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/shop/issue", `{"contact":{"email":"Buyer@Example.com"}}`), http.StatusOK)["code"].(string)

	r := h.mustStatus(h.form("/api/v1/coupons/redeem", url.Values{"code": {code}, "order_id": {"T-778"}, "shop_sign": {"ignored"}}), http.StatusOK)
	if r["code"] != code || r["order_id"] != "T-778" || r["duplicate"] != false {
		t.Errorf("form redemption = %v", r)
	}
	ct := h.contact("email", "buyer@example.com")
	if ct["stage"] != "customer" || !slices.Contains(ct["tags"].([]any), any("customer")) {
		t.Errorf("after a form redemption: stage %v, tags %v", ct["stage"], ct["tags"])
	}
	if r := h.form("/api/v1/coupons/redeem", url.Values{"code": {code}, "order_id": {"T-778"}}); r.Status != http.StatusOK || r.json(t)["duplicate"] != true {
		t.Errorf("form retry: %d %s", r.Status, r.Body)
	}
	noAuth := h.do(http.MethodPost, "/api/v1/coupons/redeem", strings.NewReader("code="+code), "Content-Type", "application/x-www-form-urlencoded")
	if noAuth.Status != http.StatusUnauthorized || noAuth.code(t) != KindUnauthorized.Code {
		t.Errorf("form without a token: %d %s", noAuth.Status, noAuth.Body)
	}
}

func TestCouponAPIRejectsBadInputAndWritesNothing(t *testing.T) {
	h := newHarness(t)
	for _, b := range []string{
		`{"id":"live","name":"live","expires_at":"2026-12-31T00:00:00Z"}`,
		`{"id":"empty","name":"empty","expires_at":"2026-12-31T00:00:00Z"}`,
		`{"id":"old","name":"old","expires_at":"2026-11-22T11:00:00Z"}`,
	} {
		h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches", b), http.StatusCreated)
	}
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/live/codes", `{"codes":["LIVE-0001","LIVE-0002","LIVE-0003"]}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/old/codes", `{"codes":["OLD-0001"]}`), http.StatusOK)
	used := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/live/issue", `{"contact":{"phone":"13900139000"}}`), http.StatusOK)["code"].(string)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/redeem", `{"code":"`+used+`","order_id":"o1"}`), http.StatusOK)
	oldCode := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/old/issue", `{"contact":{"phone":"13900139000"}}`), http.StatusOK)["code"].(string)
	unissued := h.mustStatus(h.api(http.MethodGet, "/api/v1/coupons/batches/live", ""), http.StatusOK) // 2 codes left
	if unissued["available"] != float64(2) {
		t.Fatalf("setup: %v", unissued)
	}
	avail, err := h.rdb.SMembers(context.Background(), "{cpn:live}:avail").Result()
	if err != nil || len(avail) != 2 {
		t.Fatalf("setup: available codes %v %v", avail, err)
	}
	h.clock.Set(h.clock.Now().Add(2 * time.Hour)) // "old" has expired

	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, path, body, contentType string
		status, code                  int
		mentions                      string
	}{
		{"create: not JSON", "/batches", `{"id":`, "", 400, KindInvalidJSON.Code, "JSON"},
		{"create: bad id", "/batches", `{"id":"D11!","name":"x","expires_at":"2026-12-31T00:00:00Z"}`, "", 400, KindInvalidField.Code, "batch id"},
		{"create: no expiry", "/batches", `{"id":"x","name":"x"}`, "", 400, KindInvalidField.Code, "expires_at"},
		{"create: past expiry", "/batches", `{"id":"x","name":"x","expires_at":"2026-01-01T00:00:00Z"}`, "", 400, KindInvalidField.Code, "expires_at"},
		{"create: no name", "/batches", `{"id":"x","expires_at":"2026-12-31T00:00:00Z"}`, "", 400, KindInvalidField.Code, "name"},
		{"create: value as text", "/batches", `{"id":"x","name":"x","expires_at":"2026-12-31T00:00:00Z","value_cents":"20"}`, "", 400, KindInvalidField.Code, "value_cents"},
		{"create: unknown field", "/batches", `{"id":"x","name":"x","expires_at":"2026-12-31T00:00:00Z","colour":"red"}`, "", 400, KindInvalidField.Code, "colour"},
		{"create: taken id", "/batches", `{"id":"live","name":"x","expires_at":"2026-12-31T00:00:00Z"}`, "", 409, KindCouponBatchExists.Code, "live"},
		{"codes: both forms", "/batches/live/codes", `{"codes":["NEW-0001"],"generate":2}`, "", 400, KindInvalidField.Code, "not both"},
		{"codes: neither", "/batches/live/codes", `{}`, "", 400, KindInvalidField.Code, "generate"},
		{"codes: one bad code", "/batches/live/codes", `{"codes":["NEW-0001","NO"]}`, "", 400, KindInvalidField.Code, "codes[1]"},
		{"codes: too many to generate", "/batches/live/codes", `{"generate":100001}`, "", 400, KindInvalidField.Code, "generate"},
		{"codes: bad prefix", "/batches/live/codes", `{"generate":1,"prefix":"a b"}`, "", 400, KindInvalidField.Code, "prefix"},
		{"codes: unknown batch", "/batches/nope/codes", `{"codes":["NEW-0001"]}`, "", 404, KindCouponBatchUnknown.Code, "nope"},
		{"codes: expired batch", "/batches/old/codes", `{"codes":["NEW-0001"]}`, "", 410, KindCouponExpired.Code, "old"},
		{"issue: no contact", "/batches/live/issue", `{}`, "", 400, KindInvalidField.Code, "contact"},
		{"issue: bad phone", "/batches/live/issue", `{"contact":{"phone":"12"}}`, "", 400, KindInvalidField.Code, "phone"},
		{"issue: unknown batch", "/batches/nope/issue", `{"contact":{"phone":"13700137000"}}`, "", 404, KindCouponBatchUnknown.Code, "nope"},
		{"issue: bad batch id", "/batches/No!/issue", `{"contact":{"phone":"13700137000"}}`, "", 400, KindInvalidField.Code, "batch id"},
		{"issue: expired batch", "/batches/old/issue", `{"contact":{"phone":"13700137000"}}`, "", 410, KindCouponExpired.Code, "old"},
		{"issue: expired batch, holder", "/batches/old/issue", `{"contact":{"phone":"13900139000"}}`, "", 410, KindCouponExpired.Code, "old"},
		{"issue: no codes", "/batches/empty/issue", `{"contact":{"phone":"13700137000"}}`, "", 409, KindCouponsExhausted.Code, "empty"},
		{"redeem: not JSON", "/redeem", `{"code"`, "", 400, KindInvalidJSON.Code, "JSON"},
		{"redeem: no code", "/redeem", `{"order_id":"o9"}`, "", 400, KindInvalidField.Code, "code"},
		{"redeem: malformed code", "/redeem", `{"code":"x!","order_id":"o9"}`, "", 400, KindInvalidField.Code, "code"},
		{"redeem: unknown code", "/redeem", `{"code":"NOPE-0001","order_id":"o9"}`, "", 404, KindCouponUnknown.Code, "NOPE-0001"},
		{"redeem: code never issued", "/redeem", `{"code":"` + avail[0] + `","order_id":"o9"}`, "", 404, KindCouponUnknown.Code, "not been issued"},
		{"redeem: used code", "/redeem", `{"code":"` + used + `","order_id":"o9"}`, "", 409, KindCouponUsed.Code, "o1"},
		{"redeem: expired code", "/redeem", `{"code":"` + oldCode + `","order_id":"o9"}`, "", 410, KindCouponExpired.Code, "old"},
		{"redeem: form, code twice", "/redeem", "code=" + used + "&code=" + avail[0], form, 400, KindInvalidField.Code, "once"},
		{"redeem: form, no code", "/redeem", "order_id=o9", form, 400, KindInvalidField.Code, "code"},
		{"redeem: form, bad encoding", "/redeem", "code=%zz", form, 400, KindInvalidField.Code, "form"},
		{"remind: not configured", "/batches/live/remind", `{"template":"t","purpose":"service"}`, "", 503, KindNotConfigured.Code, "sending"},
	}
	before := h.redisSnapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			r := h.do(http.MethodPost, "/api/v1/coupons"+tt.path, strings.NewReader(tt.body), "Authorization", "Bearer "+adminToken, "Content-Type", ct)
			if r.Status != tt.status || r.code(t) != tt.code || !strings.Contains(r.json(t)["error"].(string), tt.mentions) {
				t.Errorf("got %d %s; want %d code %d mentioning %q", r.Status, r.Body, tt.status, tt.code, tt.mentions)
			}
		})
	}
	for _, tt := range []struct {
		path         string
		status, code int
	}{{"/api/v1/coupons/batches/nope", 404, KindCouponBatchUnknown.Code}, {"/api/v1/coupons/batches/No!", 400, KindInvalidField.Code}} {
		if r := h.api(http.MethodGet, tt.path, ""); r.Status != tt.status || r.code(t) != tt.code {
			t.Errorf("GET %s: %d %s", tt.path, r.Status, r.Body)
		}
	}
	if diff := cmp.Diff(before, h.redisSnapshot()); diff != "" {
		t.Errorf("refused requests changed Redis (-before +after):\n%s", diff)
	}
}

func TestCouponIssueRaceOverHTTP(t *testing.T) {
	h := newHarness(t)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches", `{"id":"race","name":"race","expires_at":"2026-12-31T00:00:00Z"}`), http.StatusCreated)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/race/codes", `{"generate":20}`), http.StatusOK)
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			r := h.api(http.MethodPost, "/api/v1/coupons/batches/race/issue", `{"contact":{"phone":"13600136000"}}`)
			mu.Lock()
			defer mu.Unlock()
			if r.Status != http.StatusOK {
				codes["status "+r.Body]++
				return
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
				codes["bad body"]++
				return
			}
			codes[body["code"].(string)]++
		})
	}
	wg.Wait()
	if len(codes) != 1 {
		t.Fatalf("16 concurrent issues for one phone gave %v; want one code", codes)
	}
	id := h.contact("sms", "+8613600136000")["id"].(string)
	if n := len(entriesOfType(h.timeline(id), "coupon_issued")); n != 1 {
		t.Errorf("%d coupon_issued entries, want 1", n)
	}
}

func TestCouponRemindQueuesOneMessagePerUnredeemedCode(t *testing.T) {
	h := newHarness(t)
	h.withOutreach()
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/coupon_expiring", `{"name":"coupon expiring","purpose":"service","channels":{"sms":{"template_code":"SMS_900","params":{"code":"{{.coupon}}"}}}}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches", `{"id":"rem","name":"rem","expires_at":"2026-12-31T00:00:00Z"}`), http.StatusCreated)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/rem/codes", `{"generate":5}`), http.StatusOK)
	codes := map[string]string{}
	for _, phone := range []string{"13800000001", "13800000002", "13800000003"} {
		r := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/rem/issue", `{"contact":{"phone":"`+phone+`"}}`), http.StatusOK)
		codes[r["contact_id"].(string)] = r["code"].(string)
	}
	var redeemedContact string
	for id, code := range codes {
		h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/redeem", `{"code":"`+code+`","order_id":"o1"}`), http.StatusOK)
		redeemedContact = id
		break
	}

	remind := `{"template":"coupon_expiring","purpose":"service","send_at":"2026-12-28T02:00:00Z"}`
	got := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/rem/remind", remind), http.StatusAccepted)
	if diff := cmp.Diff(map[string]any{"queued": float64(2), "duplicates": float64(0), "skipped": float64(0)}, got); diff != "" {
		t.Errorf("first remind (-want +got):\n%s", diff)
	}
	got = h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/rem/remind", remind), http.StatusAccepted)
	if diff := cmp.Diff(map[string]any{"queued": float64(0), "duplicates": float64(2), "skipped": float64(0)}, got); diff != "" {
		t.Errorf("repeated remind (-want +got):\n%s", diff)
	}
	sendAt := time.Date(2026, 12, 28, 2, 0, 0, 0, time.UTC)
	for id, code := range codes {
		r := h.api(http.MethodGet, "/api/v1/messages/"+reminderID("rem", id, "coupon_expiring", sendAt), "")
		if id == redeemedContact {
			if r.Status != http.StatusNotFound {
				t.Errorf("a reminder went to the contact who redeemed: %d %s", r.Status, r.Body)
			}
			continue
		}
		m := h.mustStatus(r, http.StatusOK)
		wantVars := map[string]any{"coupon": code, "coupon_batch": "rem", "coupon_expires_at": "2026-12-31T00:00:00Z"}
		if diff := cmp.Diff(wantVars, m["vars"]); diff != "" || m["status"] != "scheduled" || m["contact_id"] != id {
			t.Errorf("reminder for %s: status %v contact %v, vars (-want +got):\n%s", id, m["status"], m["contact_id"], diff)
		}
	}
	for _, tt := range []struct {
		name, body   string
		status, code int
	}{
		{"no template", `{"purpose":"service"}`, 400, KindInvalidField.Code},
		{"bad purpose", `{"template":"coupon_expiring","purpose":"spam"}`, 400, KindInvalidField.Code},
		{"send_at after expiry", `{"template":"coupon_expiring","purpose":"service","send_at":"2027-01-01T00:00:00Z"}`, 400, KindInvalidField.Code},
		{"unknown template", `{"template":"nope","purpose":"service"}`, 404, KindNoTemplate.Code},
	} {
		if r := h.api(http.MethodPost, "/api/v1/coupons/batches/rem/remind", tt.body); r.Status != tt.status || r.code(t) != tt.code {
			t.Errorf("%s: %d %s; want %d code %d", tt.name, r.Status, r.Body, tt.status, tt.code)
		}
	}
}
