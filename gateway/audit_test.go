package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAuditLogRecordsWhoChangedWhat(t *testing.T) {
	h := newHarness(t)
	tok := h.api(http.MethodPost, "/api/v1/tokens", `{"name":"王伟","role":"marketer"}`).json(t)["token"].(string)
	as := func(method, path, body string) response {
		return h.do(method, path, strings.NewReader(body), "Authorization", "Bearer "+tok, "Content-Type", "application/json")
	}
	tpl := `{"name":"x","purpose":"service","channels":{"wecom":{"text":"hi"}}}`
	if r := as(http.MethodPut, "/api/v1/templates/t1", tpl); r.Status != 200 {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	if r := as(http.MethodPut, "/api/v1/templates/t2", `{"name":"x"}`); r.Status < 400 {
		t.Fatalf("a bad template was accepted: %d", r.Status)
	}
	if r := as(http.MethodGet, "/api/v1/audit", ""); r.Status != http.StatusForbidden {
		t.Errorf("a marketer read the audit log: %d", r.Status)
	}

	type entry struct{ Who, Role, Action, Target, Detail string }
	read := func(query string) []entry {
		t.Helper()
		r := h.api(http.MethodGet, "/api/v1/audit"+query, "")
		if r.Status != 200 {
			t.Fatalf("audit: %d %s", r.Status, r.Body)
		}
		var got []entry
		for _, e := range r.json(t)["entries"].([]any) {
			m := e.(map[string]any)
			s := func(k string) string { v, _ := m[k].(string); return v }
			got = append(got, entry{s("who"), s("role"), s("action"), s("target"), s("detail")})
		}
		return got
	}
	want := []entry{
		{"王伟", "marketer", "template.save", "t1", "version 1"},
		{"admin", "admin", "token.issue", "", ""},
	}
	if diff := cmp.Diff(want, read("")); diff != "" {
		t.Errorf("audit log (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:1], read("?target=t1")); diff != "" {
		t.Errorf("filtered by target (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1:], read("?limit=1&action=token.issue")); diff != "" {
		t.Errorf("filtered by action (-want +got):\n%s", diff)
	}
	if r := h.api(http.MethodGet, "/api/v1/audit?limit=0", ""); r.Status != 400 {
		t.Errorf("limit=0: %d", r.Status)
	}
}
