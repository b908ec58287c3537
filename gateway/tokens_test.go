package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/journeygate/gateway/contacts"
)

func TestTokensAndRoles(t *testing.T) {
	h := newHarness(t)
	issue := func(role string) string {
		t.Helper()
		r := h.api(http.MethodPost, "/api/v1/tokens", `{"name":"王伟","role":"`+role+`","userid":"rep.li"}`)
		if r.Status != http.StatusCreated {
			t.Fatalf("issue %s: %d %s", role, r.Status, r.Body)
		}
		tok := r.json(t)["token"].(string)
		if !strings.HasPrefix(tok, "jg_") || len(tok) < 30 {
			t.Fatalf("token %q", tok)
		}
		return tok
	}
	marketer, sales := issue("marketer"), issue("sales")
	as := func(token, method, path, body string) int {
		var r response
		if body == "" {
			r = h.do(method, path, nil, "Authorization", "Bearer "+token)
		} else {
			r = h.do(method, path, strings.NewReader(body), "Authorization", "Bearer "+token, "Content-Type", "application/json")
		}
		return r.Status
	}
	id := h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"signup"}`).json(t)["contact_id"].(string)
	mine := h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138001"},"type":"signup"}`).json(t)["contact_id"].(string)
	if _, err := h.store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{{Kind: "phone", Value: "+8613800138001"}}, Owner: "rep.li"}); err != nil {
		t.Fatal(err)
	}
	tpl := `{"name":"x","purpose":"service","channels":{"wecom":{"text":"hi"}}}`
	tests := []struct {
		name, token, method, path, body string
		want                            int
	}{
		{"marketer edits templates", marketer, http.MethodPut, "/api/v1/templates/t1", tpl, 200},
		{"sales may not edit templates", sales, http.MethodPut, "/api/v1/templates/t1", tpl, 403},
		{"sales reads own contacts", sales, http.MethodGet, "/api/v1/contacts/" + mine, "", 200},
		{"sales reads own timelines", sales, http.MethodGet, "/api/v1/contacts/" + mine + "/timeline", "", 200},
		{"sales may not read another rep's contact", sales, http.MethodGet, "/api/v1/contacts/" + id, "", 403},
		{"sales may not read another rep's timeline", sales, http.MethodGet, "/api/v1/contacts/" + id + "/timeline", "", 403},
		{"sales may not close another rep's hand-off", sales, http.MethodPost, "/api/v1/contacts/" + id + "/handoff/done", "", 403},
		{"marketer reads any contact", marketer, http.MethodGet, "/api/v1/contacts/" + id, "", 200},
		{"sales may not change consent", sales, http.MethodPut, "/api/v1/contacts/" + id + "/consent", `{"channel":"sms","status":"opted_in","source":"x"}`, 403},
		{"marketer may not issue tokens", marketer, http.MethodPost, "/api/v1/tokens", `{"name":"x","role":"admin"}`, 403},
		{"an unknown token", "jg_nope", http.MethodGet, "/api/v1/contacts/" + id, "", 401},
	}
	for _, tt := range tests {
		if got := as(tt.token, tt.method, tt.path, tt.body); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := h.api(http.MethodGet, "/api/v1/templates/t1", "").json(t)["updated_by"]; got != "王伟" {
		t.Errorf("template updated_by = %v, want the token's name", got)
	}
	if r := h.api(http.MethodPost, "/api/v1/tokens", `{"name":"x","role":"owner"}`); r.Status != 400 || r.code(t) != KindInvalidField.Code {
		t.Errorf("bad role: %d %s", r.Status, r.Body)
	}
	if r := h.api(http.MethodPost, "/api/v1/tokens", `{"name":"x","role":"sales"}`); r.Status != 400 || r.code(t) != KindInvalidField.Code {
		t.Errorf("sales token without userid: %d %s", r.Status, r.Body)
	}
	if n := h.rdb.HLen(t.Context(), apiTokensKey).Val(); n != 2 {
		t.Errorf("%d tokens stored, want 2 (nothing for the refused request)", n)
	}
	for _, raw := range h.rdb.HKeys(t.Context(), apiTokensKey).Val() {
		if strings.HasPrefix(raw, "jg_") {
			t.Error("a token is stored in the clear")
		}
	}
}
