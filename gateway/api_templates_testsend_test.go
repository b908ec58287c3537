package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

const promoJSON = `{"name": "Promo", "purpose": "marketing",
  "vars": [{"name": "name", "sample": "王先生"}, {"name": "code", "sample": "SPRING"}],
  "channels": {
    "wecom": {"text": "{{.name}}，优惠码 {{.code}}"},
    "sms": {"template_code": "SMS_9", "text": "${name}，优惠码${code}", "params": {"name": "{{.name}}", "code": "{{.code}}"}}}}`

func TestTestSendGoesOutAsTransactional(t *testing.T) {
	h := newHarness(t)
	boxes := h.withSending()
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", promoJSON), http.StatusOK)
	draft := strings.Replace(strings.Replace(promoJSON, `"name": "Promo"`, `"draft": true, "name": "Promo"`, 1), "优惠码${code}", "新码${code}", 1)
	draft = strings.Replace(draft, `"SMS_9"`, `"SMS_10"`, 1)
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", draft), http.StatusOK)
	// The colleague opted out of SMS marketing: a test send still reaches them.
	h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13900139000"},"type":"signup"}`), http.StatusAccepted)
	id := h.contact("sms", "13900139000")["id"].(string)
	h.mustStatus(h.api(http.MethodPut, "/api/v1/contacts/"+id+"/consent", `{"channel":"sms","status":"opted_out","source":"test"}`), http.StatusOK)

	tests := []struct {
		name, body string
		wantCode   string
		wantParams map[string]string
		wantVer    float64
	}{
		{"the newest version (the draft), samples fill the vars", `{"to":{"phone":"13900139000"},"channel":"sms"}`,
			"SMS_10", map[string]string{"name": "王先生", "code": "SPRING"}, 2},
		{"a given version with vars", `{"to":{"phone":"13900139000"},"channel":"sms","version":1,"vars":{"code":"X1"}}`,
			"SMS_9", map[string]string{"name": "王先生", "code": "X1"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.mustStatus(h.api(http.MethodPost, "/api/v1/templates/promo/test-send", tt.body), http.StatusAccepted)
			msgID := r["id"].(string)
			m := h.waitSent(msgID)
			if m["status"] != "sent" || m["purpose"] != "transactional" || m["channel"] != "sms" || m["template_version"] != tt.wantVer {
				t.Errorf("message: %v", m)
			}
			out := boxes[channels.SMS].get(msgID)
			if out == nil {
				t.Fatal("nothing reached the SMS sender")
			}
			if diff := cmp.Diff([]any{tt.wantCode, tt.wantParams}, []any{out.TemplateCode, out.Params}); diff != "" {
				t.Errorf("sent (-want +got)\n%s", diff)
			}
		})
	}
	// Sends of the template still use the published version 1.
	if got := h.api(http.MethodGet, "/api/v1/templates/promo?version=published", "").json(t)["version"]; got != 1.0 {
		t.Errorf("published version after test sends: %v", got)
	}
	audit := h.api(http.MethodGet, "/api/v1/audit?action=template.test_send", "").json(t)
	if n := len(audit["entries"].([]any)); n != 2 {
		t.Errorf("%d test-send audit entries, want 2", n)
	}
}

func TestTestSendRefusals(t *testing.T) {
	h := newHarness(t)
	h.withOutreach()
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", promoJSON), http.StatusOK)
	tests := []struct {
		name, path, body string
		status, code     int
	}{
		{"no channel", "/api/v1/templates/promo/test-send", `{"to":{"phone":"13900139000"}}`, 400, KindInvalidField.Code},
		{"bad channel", "/api/v1/templates/promo/test-send", `{"to":{"phone":"13900139000"},"channel":"fax"}`, 400, KindInvalidField.Code},
		{"no recipient", "/api/v1/templates/promo/test-send", `{"channel":"sms"}`, 400, KindInvalidField.Code},
		{"a channel the template lacks", "/api/v1/templates/promo/test-send", `{"to":{"email":"a@b.cn"},"channel":"email"}`, 400, KindInvalidField.Code},
		{"unreachable on the channel", "/api/v1/templates/promo/test-send", `{"to":{"email":"a@b.cn"},"channel":"sms"}`, 422, KindUnreachable.Code},
		{"unknown version", "/api/v1/templates/promo/test-send", `{"to":{"phone":"13900139000"},"channel":"sms","version":4}`, 404, KindNoTemplate.Code},
		{"unknown template", "/api/v1/templates/nope/test-send", `{"to":{"phone":"13900139000"},"channel":"sms"}`, 404, KindNoTemplate.Code},
		{"a var the template cannot render", "/api/v1/templates/promo/test-send", `{"to":{"phone":"13900139000"},"channel":"sms","vars":{"code":"` + strings.Repeat("长", 40) + `"}}`, 422, KindRender.Code},
	}
	before := h.dbsize()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.api(http.MethodPost, tt.path, tt.body)
			if r.Status != tt.status || r.code(t) != tt.code {
				t.Errorf("got %d %s, want %d code %d", r.Status, r.Body, tt.status, tt.code)
			}
		})
	}
	if after := h.dbsize(); after != before {
		t.Errorf("refused test sends wrote %d keys", after-before)
	}
}
