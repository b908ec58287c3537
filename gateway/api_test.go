package gateway

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEventsAPIIsIdempotentAndLinksIdentities(t *testing.T) {
	h := newHarness(t)
	body := `{"contact":{"phone":"138 0013 8000","email":"Lead@Example.com"},"type":"whitepaper_download","props":{"title":"私域运营白皮书","pages":12},"id":"form-77"}`
	first := h.api(http.MethodPost, "/api/v1/events", body)
	if first.Status != http.StatusAccepted || first.json(t)["duplicate"] != false {
		t.Fatalf("first post: %d %s", first.Status, first.Body)
	}
	again := h.api(http.MethodPost, "/api/v1/events", body)
	if again.Status != http.StatusAccepted || again.json(t)["duplicate"] != true {
		t.Fatalf("repeat post: %d %s, want 202 duplicate", again.Status, again.Body)
	}
	byPhone, byEmail := h.contact("sms", "+8613800138000"), h.contact("email", "lead@example.com")
	if byPhone["id"] != byEmail["id"] || byPhone["id"] != first.json(t)["contact_id"] {
		t.Fatalf("phone and email resolve to %v and %v, want one contact %v", byPhone["id"], byEmail["id"], first.json(t)["contact_id"])
	}
	entries := h.timeline(byPhone["id"].(string))
	if len(entries) != 1 {
		t.Fatalf("timeline has %d entries, want 1", len(entries))
	}
	want := map[string]any{"title": "私域运营白皮书", "pages": "12"}
	if diff := cmp.Diff(want, entries[0]["props"]); diff != "" {
		t.Errorf("event props (-want +got):\n%s", diff)
	}
}

func TestEventsAPIRejectsBadInput(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name, body string
		status     int
		code       int
		mentions   string
	}{
		{"not JSON", `{"contact":`, 400, KindInvalidJSON.Code, "JSON"},
		{"empty body", ``, 400, KindInvalidJSON.Code, "empty"},
		{"no contact", `{"type":"x"}`, 400, KindInvalidField.Code, "contact"},
		{"unknown identity", `{"contact":{"qq":"1"},"type":"x"}`, 400, KindInvalidField.Code, "contact.qq"},
		{"bad phone", `{"contact":{"phone":"12"},"type":"x"}`, 400, KindInvalidField.Code, "phone"},
		{"bad email", `{"contact":{"email":"not-an-address"},"type":"x"}`, 400, KindInvalidField.Code, "email"},
		{"bad type", `{"contact":{"phone":"13800138000"},"type":"Has Spaces"}`, 400, KindInvalidField.Code, "type"},
		{"unknown field", `{"contact":{"phone":"13800138000"},"type":"x","colour":"red"}`, 400, KindInvalidField.Code, "colour"},
		{"wrong type", `{"contact":{"phone":13800138000},"type":"x"}`, 400, KindInvalidField.Code, "contact"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.api(http.MethodPost, "/api/v1/events", tt.body)
			if r.Status != tt.status || r.code(t) != tt.code || !strings.Contains(r.json(t)["error"].(string), tt.mentions) {
				t.Errorf("got %d %s; want %d code %d mentioning %q", r.Status, r.Body, tt.status, tt.code, tt.mentions)
			}
		})
	}
	if n := h.dbsize(); n != 0 {
		t.Errorf("rejected events left %d keys", n)
	}
}

func TestAuth(t *testing.T) {
	h := newHarness(t)
	if r := h.do(http.MethodGet, "/api/v1/contacts/x", nil); r.Status != 401 || r.code(t) != KindUnauthorized.Code {
		t.Errorf("no token: %d %s", r.Status, r.Body)
	}
	if r := h.do(http.MethodGet, "/api/v1/contacts/x", nil, "Authorization", "Bearer wrong"); r.Status != 401 {
		t.Errorf("wrong token: %d", r.Status)
	}
}

func TestConsentAndTagsAPI(t *testing.T) {
	h := newHarness(t)
	id := h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13900139000"},"type":"signup"}`).json(t)["contact_id"].(string)

	r := h.api(http.MethodPut, "/api/v1/contacts/"+id+"/consent", `{"channel":"sms","status":"opted_in","source":"web form 2026-11-01"}`)
	if r.Status != http.StatusOK || r.json(t)["consent"].(map[string]any)["sms"] != "opted_in" {
		t.Fatalf("consent: %d %s", r.Status, r.Body)
	}
	if r := h.api(http.MethodPut, "/api/v1/contacts/"+id+"/consent", `{"channel":"sms","status":"maybe","source":"x"}`); r.Status != 400 || r.code(t) != KindInvalidField.Code {
		t.Errorf("bad status: %d %s", r.Status, r.Body)
	}
	if r := h.api(http.MethodPut, "/api/v1/contacts/"+id+"/consent", `{"channel":"sms","status":"opted_out"}`); r.Status != 400 || !strings.Contains(r.Body, "source") {
		t.Errorf("missing source: %d %s", r.Status, r.Body)
	}
	entries := h.timeline(id)
	if entries[0]["type"] != "consent" || entries[0]["source"] != "web form 2026-11-01" {
		t.Errorf("newest timeline entry = %v, want the consent change with its source", entries[0])
	}

	r = h.api(http.MethodPost, "/api/v1/contacts/"+id+"/tags", `{"add":["webinar-nov","vip"]}`)
	if diff := cmp.Diff([]any{"vip", "webinar-nov"}, r.json(t)["tags"]); diff != "" {
		t.Errorf("tags after add (-want +got):\n%s", diff)
	}
	r = h.api(http.MethodPost, "/api/v1/contacts/"+id+"/tags", `{"remove":["vip"]}`)
	if diff := cmp.Diff([]any{"webinar-nov"}, r.json(t)["tags"]); diff != "" {
		t.Errorf("tags after remove (-want +got):\n%s", diff)
	}
	if r := h.api(http.MethodPost, "/api/v1/contacts/"+id+"/tags", `{"add":["a,b"]}`); r.Status != 400 {
		t.Errorf("tag with a comma: %d", r.Status)
	}
	if r := h.api(http.MethodGet, "/api/v1/contacts/nope", ""); r.Status != 404 || r.code(t) != KindNotFound.Code {
		t.Errorf("unknown contact: %d %s", r.Status, r.Body)
	}
	if r := h.api(http.MethodGet, "/api/v1/contacts/lookup?channel=fax&id=1", ""); r.Status != 400 {
		t.Errorf("unknown channel: %d", r.Status)
	}
}

func TestHealthReadyMetricsAndUnknownRoutes(t *testing.T) {
	h := newHarness(t)
	if r := h.do(http.MethodGet, "/healthz", nil); r.Status != 200 {
		t.Errorf("healthz: %d", r.Status)
	}
	if r := h.do(http.MethodGet, "/readyz", nil); r.Status != 200 {
		t.Errorf("readyz: %d %s", r.Status, r.Body)
	}
	h.do(http.MethodGet, "/nope", nil)
	if r := h.do(http.MethodGet, "/nope", nil); r.Status != 404 || r.code(t) != KindRouteNotFound.Code {
		t.Errorf("unknown route: %d %s", r.Status, r.Body)
	}
	if r := h.do(http.MethodDelete, "/healthz", nil); r.Status != 405 || r.code(t) != KindMethod.Code {
		t.Errorf("wrong method: %d %s", r.Status, r.Body)
	}
	m := h.do(http.MethodGet, "/metrics", nil)
	for _, want := range []string{`gateway_http_requests_total{method="GET",route="unmatched",status="404"} 2`, `gateway_errors_total{kind="route_not_found"} 2`, "gateway_redis_duration_seconds"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	h.srv.rdb.Close()
	if r := h.do(http.MethodGet, "/readyz", nil); r.Status != 503 || !strings.Contains(r.Body, "redis") {
		t.Errorf("readyz with Redis gone: %d %s", r.Status, r.Body)
	}
}

func TestCatalogueIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, k := range catalogue {
		if seen[k.Code] {
			t.Errorf("code %d is used twice", k.Code)
		}
		seen[k.Code] = true
		row := "| " + strconv.Itoa(k.Code) + " | " + strconv.Itoa(k.Status) + " | " + k.Name + " |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md lacks the row %q", row)
		}
	}
}

func TestArchivedRouteNeedsSending(t *testing.T) {
	h := newHarness(t)
	if r := h.api(http.MethodGet, "/api/v1/messages/archived", ""); r.Status != http.StatusServiceUnavailable || r.code(t) != KindNotConfigured.Code {
		t.Errorf("archived without a pipeline: %d %s", r.Status, r.Body)
	}
}

func TestHandoffDoneWithoutAHandoff(t *testing.T) {
	h := newHarness(t)
	id := h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13900139000"},"type":"signup"}`).json(t)["contact_id"].(string)
	if r := h.api(http.MethodPost, "/api/v1/contacts/"+id+"/handoff/done", ""); r.Status != http.StatusConflict || r.code(t) != KindNoHandoff.Code {
		t.Errorf("no open hand-off: %d %s, want 409 code %d", r.Status, r.Body, KindNoHandoff.Code)
	}
}
