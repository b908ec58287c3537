package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/outreach"
)

// TestCouponBatchExpiryReminders: a batch names its reminder template and
// lead time (default outreach.coupon_remind_before, "0" for none); issuing
// a code queues its reminder once, and bad settings are refused before
// anything is stored.
func TestCouponBatchExpiryReminders(t *testing.T) {
	h := newHarness(t)
	h.withOutreach()
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/coupon_expiring", `{"name":"coupon expiring","purpose":"marketing","channels":{"sms":{"template_code":"SMS_900","params":{"code":"{{.coupon}}"}}}}`), http.StatusOK)

	before := h.redisSnapshot()
	for _, tt := range []struct {
		name, body   string
		status, code int
	}{
		{"bad duration", `{"id":"x","name":"x","expires_at":"2026-12-31T00:00:00Z","remind_before":"soon","remind_template":"coupon_expiring"}`, 400, KindInvalidField.Code},
		{"negative", `{"id":"x","name":"x","expires_at":"2026-12-31T00:00:00Z","remind_before":"-1h","remind_template":"coupon_expiring"}`, 400, KindInvalidField.Code},
		{"no template", `{"id":"x","name":"x","expires_at":"2026-12-31T00:00:00Z","remind_before":"72h"}`, 400, KindInvalidField.Code},
		{"unknown template", `{"id":"x","name":"x","expires_at":"2026-12-31T00:00:00Z","remind_template":"nope"}`, 404, KindNoTemplate.Code},
		{"before now", `{"id":"x","name":"x","expires_at":"2026-11-23T00:00:00Z","remind_template":"coupon_expiring"}`, 400, KindInvalidField.Code},
	} {
		if r := h.api(http.MethodPost, "/api/v1/coupons/batches", tt.body); r.Status != tt.status || r.code(t) != tt.code {
			t.Errorf("%s: %d %s; want %d code %d", tt.name, r.Status, r.Body, tt.status, tt.code)
		}
	}
	if diff := cmp.Diff(before, h.redisSnapshot()); diff != "" {
		t.Errorf("refused batches wrote to Redis (-before +after):\n%s", diff)
	}

	views := map[string]string{}
	for id, extra := range map[string]string{
		"dflt": `,"remind_template":"coupon_expiring"`,
		"day":  `,"remind_template":"coupon_expiring","remind_before":"24h"`,
		"off":  `,"remind_template":"coupon_expiring","remind_before":"0"`,
		"none": ``,
	} {
		b := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches", `{"id":"`+id+`","name":"双12","expires_at":"2026-12-12T16:00:00Z"`+extra+`}`), http.StatusCreated)
		views[id] = b["remind_before"].(string)
		h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/"+id+"/codes", `{"generate":2}`), http.StatusOK)
	}
	if diff := cmp.Diff(map[string]string{"dflt": "72h0m0s", "day": "24h0m0s", "off": "0s", "none": "0s"}, views); diff != "" {
		t.Errorf("remind_before per batch (-want +got):\n%s", diff)
	}

	type reminder struct {
		ID, SendAt string
	}
	got := map[string]*reminder{}
	for _, id := range []string{"dflt", "day", "off", "none"} {
		r := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/"+id+"/issue", `{"contact":{"phone":"13800000001"}}`), http.StatusOK)
		again := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/"+id+"/issue", `{"contact":{"phone":"13800000001"}}`), http.StatusOK)
		if diff := cmp.Diff(r["reminder"], again["reminder"]); diff != "" {
			t.Errorf("%s: issuing again changed the reminder (-first +again):\n%s", id, diff)
		}
		rem, ok := r["reminder"].(map[string]any)
		if !ok {
			got[id] = nil
			continue
		}
		got[id] = &reminder{ID: rem["id"].(string), SendAt: rem["send_at"].(string)}
		code := r["code"].(string)
		if want := outreach.CouponReminderID(id, code); got[id].ID != want {
			t.Errorf("%s: reminder id %s, want %s", id, got[id].ID, want)
		}
		m := h.mustStatus(h.api(http.MethodGet, "/api/v1/messages/"+got[id].ID, ""), http.StatusOK)
		want := map[string]any{"status": "scheduled", "purpose": "marketing", "template": "coupon_expiring", "contact_id": r["contact_id"],
			"reminds": map[string]any{"batch": id, "code": code, "auto": true}}
		have := map[string]any{"status": m["status"], "purpose": m["purpose"], "template": m["template"], "contact_id": m["contact_id"], "reminds": m["reminds"]}
		if diff := cmp.Diff(want, have); diff != "" {
			t.Errorf("%s: reminder message (-want +got):\n%s", id, diff)
		}
	}
	want := map[string]*reminder{
		"dflt": {SendAt: "2026-12-09T16:00:00Z"},
		"day":  {SendAt: "2026-12-11T16:00:00Z"},
		"off":  nil,
		"none": nil,
	}
	for id, w := range want {
		if w != nil && got[id] != nil {
			w.ID = got[id].ID
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reminders (-want +got):\n%s", diff)
	}
}

func TestCapsListsBuiltinAndConfiguredRules(t *testing.T) {
	h := newHarness(t)
	caps, err := outreach.NewCaps(h.rdb, append(outreach.PlatformRules(), outreach.CapRule{Name: "sms-daily", Purpose: "marketing", Channel: "sms", Max: 1, Window: 24 * time.Hour}), h.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := outreach.New(h.rdb, h.store, outreach.TemplateRenderer{Store: h.srv.tpls, Renderer: h.srv.renderer}, nil, outreach.Options{Now: h.clock.Now, Caps: caps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	h.srv.outreach = p
	got := h.mustStatus(h.api(http.MethodGet, "/api/v1/caps", ""), http.StatusOK)
	var names []string
	for _, r := range got["rules"].([]any) {
		rule := r.(map[string]any)
		names = append(names, rule["name"].(string)+" "+rule["window"].(string)+map[bool]string{true: " builtin", false: ""}[rule["builtin"].(bool)])
	}
	want := []string{"wecom-groupsend-daily 24h0m0s builtin", "sms-daily 24h0m0s", "oa-service-window 48h0m0s builtin"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}
