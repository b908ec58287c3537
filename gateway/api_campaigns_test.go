package gateway

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels/email"
	"github.com/journeygate/gateway/contacts"
)

// seedContact creates a contact by phone with tags, stage and score.
func (h *harness) seedContact(phone string, tags []string, stage string, score int) string {
	h.t.Helper()
	res, err := h.store.Apply(h.t.Context(), contacts.Change{EventID: "seed:" + phone,
		Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: phone}}, AddTags: tags, Stage: stage, ScoreDelta: score})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.ContactID
}

func TestAudiencePreview(t *testing.T) {
	h := newHarness(t)
	a := h.seedContact("+8613800000001", []string{"vip", "webinar"}, "mql", 60)
	h.seedContact("+8613800000002", []string{"vip", "churned"}, "mql", 60)
	h.seedContact("+8613800000003", []string{"vip"}, "mql", 10)
	r := h.api(http.MethodPost, "/api/v1/campaigns/audience/preview", `{"audience":"tag:vip AND NOT tag:churned AND score>=50 AND stage:mql"}`)
	got := h.mustStatus(r, http.StatusOK)
	want := map[string]any{"count": float64(1), "sample": []any{a}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("preview (-want +got):\n%s", diff)
	}

	for _, tt := range []struct{ body, want string }{
		{`{"audience":"tag:vip AND"}`, "expected a term"},
		{`{"audience":"NOT tag:vip"}`, "bound it with a tag term"},
		{`{"audience":""}`, "empty"},
	} {
		r := h.api(http.MethodPost, "/api/v1/campaigns/audience/preview", tt.body)
		if r.Status != http.StatusUnprocessableEntity || r.code(t) != KindAudience.Code {
			t.Errorf("%s: got %d %s, want 422 code %d", tt.body, r.Status, r.Body, KindAudience.Code)
		}
	}
}

func TestCampaignAPI(t *testing.T) {
	h := newHarness(t)
	h.withOutreach()
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", `{"name":"promo","purpose":"marketing","channels":{"email":{"subject":"Hi","html":"<p>Hi {{.name}}</p>","text":"Hi {{.name}}"}}}`), http.StatusOK)
	h.seedContact("+8613800000001", []string{"vip"}, "mql", 60)
	body := `{"id":"nov","name":"Double 11","audience":"tag:vip AND score>=50","variants":[{"name":"a","template":"promo","weight":1},{"name":"b","template":"promo","weight":3}],
		"purpose":"marketing","send_at":"2026-11-22T12:00:00Z","pilot_share":0.05,"test_share":0.2,"guardrail":{"min_sends":100,"min_open_rate":0.1,"max_unsubscribe_rate":0.02},"owner":"zhangsan"}`
	got := h.mustStatus(h.api(http.MethodPost, "/api/v1/campaigns", body), http.StatusCreated)
	want := map[string]any{"id": "nov", "name": "Double 11", "audience": "tag:vip AND score>=50", "purpose": "marketing", "owner": "zhangsan",
		"variants": []any{map[string]any{"name": "a", "template": "promo", "weight": float64(1)}, map[string]any{"name": "b", "template": "promo", "weight": float64(3)}},
		"send_at":  "2026-11-22T12:00:00Z", "pilot_share": 0.05, "test_share": 0.2, "winner_opens": float64(50),
		"guardrail": map[string]any{"min_sends": float64(100), "min_open_rate": 0.1, "max_unsubscribe_rate": 0.02},
		"status":    "scheduled", "audience_size": float64(0), "dispatched": float64(0),
		"created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z",
		"stats": map[string]any{"totals": map[string]any{}, "variants": map[string]any{}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		method, path, body string
		status, code       int
	}{
		{http.MethodPost, "/api/v1/campaigns", body, http.StatusConflict, KindCampaignExists.Code},
		{http.MethodPost, "/api/v1/campaigns", `{"id":"x","name":"x","audience":"tag:vip","template":"promo","variants":[{"name":"a","template":"promo"}],"owner":"z"}`, http.StatusBadRequest, KindInvalidField.Code},
		{http.MethodPost, "/api/v1/campaigns", `{"id":"x","name":"x","audience":"tag:vip","template":"nope","owner":"z"}`, http.StatusNotFound, KindNoTemplate.Code},
		{http.MethodPost, "/api/v1/campaigns", `{"id":"x","name":"x","audience":"NOT tag:vip","template":"promo","owner":"z"}`, http.StatusUnprocessableEntity, KindAudience.Code},
		{http.MethodPost, "/api/v1/campaigns", `{"id":"x","name":"x","audience":"tag:vip","template":"promo","owner":"zhang san"}`, http.StatusBadRequest, KindInvalidField.Code},
		{http.MethodPost, "/api/v1/campaigns", `{"id":"x","name":"x","audience":"tag:vip","template":"promo","owner":"z","budget":1}`, http.StatusBadRequest, KindInvalidField.Code},
		{http.MethodGet, "/api/v1/campaigns/nope", "", http.StatusNotFound, KindCampaignUnknown.Code},
		{http.MethodPost, "/api/v1/campaigns/nope/pause", "", http.StatusNotFound, KindCampaignUnknown.Code},
		{http.MethodPost, "/api/v1/campaigns/nov/resume", "", http.StatusConflict, KindCampaignState.Code},
	} {
		r := h.api(tt.method, tt.path, tt.body)
		if r.Status != tt.status || r.code(t) != tt.code {
			t.Errorf("%s %s %.60s: got %d %s, want %d code %d", tt.method, tt.path, tt.body, r.Status, r.Body, tt.status, tt.code)
		}
	}

	steps := []struct{ action, status string }{{"pause", "paused"}, {"pause", "paused"}, {"resume", "running"}, {"cancel", "cancelled"}, {"cancel", "cancelled"}}
	for _, s := range steps {
		got := h.mustStatus(h.api(http.MethodPost, "/api/v1/campaigns/nov/"+s.action, ""), http.StatusOK)
		if got["status"] != s.status {
			t.Errorf("%s: status %v, want %s", s.action, got["status"], s.status)
		}
	}
	if r := h.api(http.MethodPost, "/api/v1/campaigns/nov/resume", ""); r.Status != http.StatusConflict || r.code(t) != KindCampaignState.Code {
		t.Errorf("resume a cancelled campaign: %d %s", r.Status, r.Body)
	}
}

// TestCampaignReactions: tracking links carrying a campaign count opens,
// clicks and unsubscribes once per message.
func TestCampaignReactions(t *testing.T) {
	h := newHarness(t)
	h.withOutreach()
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", `{"name":"promo","purpose":"marketing","channels":{"email":{"subject":"Hi","html":"<p>Hi</p>","text":"Hi"}}}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/campaigns", `{"id":"nov","name":"n","audience":"tag:vip","template":"promo","owner":"z"}`), http.StatusCreated)
	sign := func(kind byte, msg string) string {
		claim := email.Claim{Kind: kind, MessageID: msg, ContactID: "c1", Address: "reader@example.com", Campaign: "nov"}
		if kind == email.KindClick {
			claim.URL = "https://shop.example.com/"
		}
		tok, err := h.tokens.Sign(claim)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, msg := range []string{"nov-a", "nov-a", "nov-b"} {
		h.do(http.MethodGet, "/t/o/"+sign('o', msg), nil)
	}
	h.do(http.MethodGet, "/t/c/"+sign('c', "nov-a"), nil)
	h.do(http.MethodPost, "/u/"+sign('u', "nov-a"), nil)
	h.do(http.MethodPost, "/u/"+sign('u', "nov-a"), nil)
	got := h.mustStatus(h.api(http.MethodGet, "/api/v1/campaigns/nov", ""), http.StatusOK)["stats"]
	want := map[string]any{"totals": map[string]any{"opened": float64(2), "clicked": float64(1), "unsubscribed": float64(1)},
		"variants": map[string]any{"": map[string]any{"none": map[string]any{"opened": float64(2), "clicked": float64(1), "unsubscribed": float64(1)}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}
