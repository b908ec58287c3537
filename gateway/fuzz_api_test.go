package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// FuzzPostEvent sends arbitrary bodies to POST /api/v1/events through the
// real route and Redis: every answer is 202 or a 4xx carrying a catalogue
// code, never a 5xx, and a rejected body writes nothing.
func FuzzPostEvent(f *testing.F) {
	for _, seed := range []string{
		`{"contact":{"phone":"13800138000"},"type":"whitepaper_download","id":"x1"}`,
		`{"contact":{"email":"A@b.cn","openid":"o1"},"type":"webinar_attended","props":{"n":1,"t":"x"}}`,
		`{"contact":{"qq":"1"},"type":"x"}`,
		`{"contact":{"phone":"+86 138-0013-8000"},"type":"a.b:c","at":"2026-11-22T10:00:00+08:00"}`,
		`{"contact":{"unionid":""},"type":"x"}`,
		`[]`, `{`, `null`, `{"contact":null,"type":null}`,
	} {
		f.Add(seed)
	}
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, body string) {
		h.checkRefusalOrStatus(t, "/api/v1/events", body, http.StatusAccepted)
	})
}

// checkRefusalOrStatus posts body and fails t unless the route answered ok,
// or refused with a 4xx that carries a code and a message and left Redis's
// key count as it was: what every fuzzed route must hold to.
func (h *harness) checkRefusalOrStatus(t *testing.T, path, body string, ok int) {
	t.Helper()
	h.t = t // the harness reports through the running input's T
	before := h.dbsize()
	r := h.api(http.MethodPost, path, body)
	switch {
	case r.Status == ok:
		return
	case r.Status >= 400 && r.Status < 500:
		var e struct {
			Code  int    `json:"code"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(r.Body), &e); err != nil || e.Code == 0 || strings.TrimSpace(e.Error) == "" {
			t.Fatalf("4xx without a code and message: %d %s", r.Status, r.Body)
		}
		if after := h.dbsize(); after != before {
			t.Fatalf("a refused body (%d %s) changed Redis: %d keys before, %d after", r.Status, r.Body, before, after)
		}
	default:
		t.Fatalf("status %d for %q: %s", r.Status, body, r.Body)
	}
}
