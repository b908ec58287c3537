package gateway

import (
	"net/http"
	"testing"
)

// FuzzCreateCouponBatch sends arbitrary bodies to POST
// /api/v1/coupons/batches, reminder settings included, through the real
// route and Redis: every answer is 201 or a 4xx carrying a catalogue code,
// never a 5xx, and a refused body writes nothing.
func FuzzCreateCouponBatch(f *testing.F) {
	for _, seed := range []string{
		`{"id":"d11","name":"双11","expires_at":"2026-12-31T00:00:00Z","remind_template":"coupon_expiring"}`,
		`{"id":"d12","name":"双12","expires_at":"2026-12-31T00:00:00Z","remind_template":"coupon_expiring","remind_before":"24h"}`,
		`{"id":"d13","name":"x","expires_at":"2026-12-31T00:00:00Z","remind_before":"0"}`,
		`{"id":"d14","name":"x","expires_at":"2026-12-31T00:00:00Z","remind_before":"-5m","remind_template":"coupon_expiring"}`,
		`{"id":"d15","name":"x","expires_at":"2026-11-23T00:00:00Z","remind_before":"9999999h","remind_template":"nope"}`,
		`{"id":"d16","name":"x","expires_at":"2026-12-31T00:00:00Z","remind_before":7,"remind_template":["a"]}`,
		`{`, `null`, `[]`,
	} {
		f.Add(seed)
	}
	h := newHarness(f)
	h.withOutreach()
	if r := h.api(http.MethodPut, "/api/v1/templates/coupon_expiring", `{"name":"coupon expiring","purpose":"marketing","channels":{"sms":{"template_code":"SMS_900","params":{"code":"{{.coupon}}"}}}}`); r.Status != http.StatusOK {
		f.Fatalf("template: %d %s", r.Status, r.Body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		h.checkRefusalOrStatus(t, "/api/v1/coupons/batches", body, http.StatusCreated)
	})
}
