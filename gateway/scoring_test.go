package gateway

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/contacts"
)

func TestScoringDefaultsMoveTheLifecycleForward(t *testing.T) {
	h := newHarnessDeps(t, func(d *Deps) { d.Scoring = contacts.DefaultScoring() })
	post := func(typ, id string) {
		t.Helper()
		if r := h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"`+typ+`","id":"`+id+`"}`); r.Status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", typ, r.Status, r.Body)
		}
	}
	type state struct {
		Score float64
		Stage string
	}
	now := func() state {
		c := h.contact("sms", "13800138000")
		return state{c["score"].(float64), c["stage"].(string)}
	}
	post("whitepaper_download", "wp-1")
	post("whitepaper_download", "wp-1") // the same event again counts once
	if diff := cmp.Diff(state{10, "prospect"}, now()); diff != "" {
		t.Errorf("after one whitepaper (-want +got):\n%s", diff)
	}
	post("webinar_attended", "wb-1")
	post("webinar_attended", "wb-2")
	if diff := cmp.Diff(state{50, "mql"}, now()); diff != "" {
		t.Errorf("at 50 (-want +got):\n%s", diff)
	}
	post("webinar_attended", "wb-3")
	post("whitepaper_download", "wp-2")
	if diff := cmp.Diff(state{80, "sql"}, now()); diff != "" {
		t.Errorf("at 80 (-want +got):\n%s", diff)
	}
	var stages []string
	for _, e := range h.timeline(h.contact("sms", "13800138000")["id"].(string)) {
		if e["type"] == "stage_changed" {
			p := e["props"].(map[string]any)
			stages = append(stages, p["from"].(string)+"→"+p["to"].(string))
		}
	}
	if diff := cmp.Diff([]string{"mql→sql", "prospect→mql"}, stages); diff != "" {
		t.Errorf("stage changes on the timeline, newest first (-want +got):\n%s", diff)
	}
}

func TestScoringNeverMovesACustomerBack(t *testing.T) {
	h := newHarnessDeps(t, func(d *Deps) { d.Scoring = contacts.DefaultScoring() })
	h.api(http.MethodPost, "/api/v1/events", `{"contact":{"email":"vip@example.com"},"type":"signup"}`)
	id := h.contact("email", "vip@example.com")["id"].(string)
	if _, err := h.store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{{Kind: "email", Value: "vip@example.com"}}, Stage: "customer", ScoreDelta: 75}); err != nil {
		t.Fatal(err)
	}
	h.api(http.MethodPost, "/api/v1/events", `{"contact":{"email":"vip@example.com"},"type":"whitepaper_download","id":"x"}`)
	c := h.contact("email", "vip@example.com")
	if c["stage"] != "customer" || c["score"].(float64) != 85 || c["id"] != id {
		t.Errorf("customer after a hot score: %v %v", c["stage"], c["score"])
	}
}
