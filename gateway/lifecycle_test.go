package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/outreach"
)

const day = 24 * time.Hour

func TestScoreExplainsWhyALeadIsHot(t *testing.T) {
	h := newHarnessDeps(t, func(d *Deps) {
		d.Scoring = contacts.DefaultScoring()
		d.Scoring.Events["page_view"] = contacts.Rule{Points: 5, Max: 2, Window: 30 * day}
	})
	post := func(typ, id string) {
		t.Helper()
		if r := h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"`+typ+`","id":"`+id+`"}`); r.Status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", typ, r.Status, r.Body)
		}
		h.clock.Advance(time.Minute)
	}
	post("page_view", "pv-1")
	post("page_view", "pv-2")
	post("page_view", "pv-3") // over the cap: no points, no entry
	post("webinar_attended", "wb-1")
	post("webinar_attended", "wb-1") // the same event again
	post("webinar_attended", "wb-2")
	post("webinar_attended", "wb-3")
	id := h.contact("sms", "13800138000")["id"].(string)

	r := h.api(http.MethodGet, "/api/v1/contacts/"+id+"/score", "")
	if r.Status != http.StatusOK {
		t.Fatalf("score: %d %s", r.Status, r.Body)
	}
	var got struct {
		Score   int
		Band    string
		Stage   string
		Entries []contacts.ScoreEntry
	}
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	entry := func(minute int, typ, id string, points, score int) contacts.ScoreEntry {
		return contacts.ScoreEntry{At: t0.Add(time.Duration(minute) * time.Minute), EventType: typ, EventID: id, Points: points, Reason: "rule", Score: score}
	}
	want := []contacts.ScoreEntry{
		entry(6, "webinar_attended", "api:wb-3", 20, 70),
		entry(5, "webinar_attended", "api:wb-2", 20, 50),
		entry(3, "webinar_attended", "api:wb-1", 20, 30),
		entry(1, "page_view", "api:pv-2", 5, 10),
		entry(0, "page_view", "api:pv-1", 5, 5),
	}
	if got.Score != 70 || got.Band != "warm" || got.Stage != "mql" {
		t.Errorf("score %d band %s stage %s, want 70 warm mql", got.Score, got.Band, got.Stage)
	}
	if diff := cmp.Diff(want, got.Entries); diff != "" {
		t.Errorf("entries, newest first (-want +got):\n%s", diff)
	}
	var bands []string
	for _, e := range h.timeline(id) {
		if e["type"] == contacts.TypeScoreBandChanged {
			p := e["props"].(map[string]any)
			bands = append(bands, p["from"].(string)+"→"+p["to"].(string))
		}
	}
	if diff := cmp.Diff([]string{"cold→warm"}, bands); diff != "" {
		t.Errorf("band changes on the timeline (-want +got):\n%s", diff)
	}

	// Sales reps read the scores of their own contacts only.
	tok := h.api(http.MethodPost, "/api/v1/tokens", `{"name":"李","role":"sales","userid":"rep.li"}`).json(t)["token"].(string)
	as := func() int {
		return h.do(http.MethodGet, "/api/v1/contacts/"+id+"/score", nil, "Authorization", "Bearer "+tok).Status
	}
	if s := as(); s != http.StatusForbidden {
		t.Errorf("another rep's contact: %d, want 403", s)
	}
	if _, err := h.store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{{Kind: "phone", Value: "+8613800138000"}}, Owner: "rep.li"}); err != nil {
		t.Fatal(err)
	}
	if s := as(); s != http.StatusOK {
		t.Errorf("own contact: %d, want 200", s)
	}
	for path, code := range map[string]int{"/api/v1/contacts/nobody/score": KindNotFound.Code, "/api/v1/contacts/" + id + "/score?limit=0": KindInvalidField.Code} {
		if r := h.api(http.MethodGet, path, ""); r.code(t) != code {
			t.Errorf("%s: %d %s, want code %d", path, r.Status, r.Body, code)
		}
	}
}

func TestWinbackStartsOnSilence(t *testing.T) {
	src, err := os.ReadFile("../configs/dialogs/winback.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h, pipe, engine := dialogHarness(t, string(src))
	for _, tpl := range []string{"winback_coupon", "winback_followup"} {
		body, err := os.ReadFile("../configs/templates/" + tpl + ".json")
		if err != nil {
			t.Fatal(err)
		}
		h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/"+tpl, string(body)), http.StatusOK)
	}
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches", `{"id":"winback_2026","name":"召回券","expires_at":"2027-06-01T00:00:00+08:00","value_cents":3000}`), http.StatusCreated)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/winback_2026/codes", `{"generate":5,"prefix":"WB-"}`), http.StatusOK)

	fan := func(openid string) string {
		t.Helper()
		res, err := h.store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{{Kind: contacts.KindOpenID, Value: openid}},
			Touch: true, Channel: string(channels.OfficialAccount)})
		if err != nil {
			t.Fatal(err)
		}
		return res.ContactID
	}
	quiet := fan("oQuiet")
	h.clock.Advance(2 * day)
	recent := fan("oRecent")
	h.clock.Advance(29 * day) // oQuiet: 31 days without activity, oRecent: 29

	if err := h.srv.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	state := func(id string) (string, dialogs.State) {
		t.Helper()
		c := h.contact("officialaccount", map[string]string{quiet: "oQuiet", recent: "oRecent"}[id])
		st, err := engine.State(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return c["activity"].(string), st
	}
	act, st := state(quiet)
	if act != "silent" || st.Script != "winback" || st.Step != "wait_reply" || !strings.HasPrefix(st.Vars["coupon"], "WB-") {
		t.Errorf("31 days quiet: activity %s, session %+v; want silent and the win-back waiting with a coupon", act, st)
	}
	if act, st := state(recent); act != "active" || st.Script != "" {
		t.Errorf("29 days quiet: activity %s, session %+v; want active and no script", act, st)
	}
	var changed int
	for _, e := range h.timeline(quiet) {
		if e["type"] == contacts.TypeActivityChanged {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d activity_changed entries, want 1", changed)
	}
	if n := len(queuedTemplates(t, h, pipe, quiet)); n != 1 {
		t.Errorf("%d messages queued, want the coupon offer", n)
	}

	// A second sweep starts nothing new; a reply brings the customer back.
	if err := h.srv.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(queuedTemplates(t, h, pipe, quiet)); n != 1 {
		t.Errorf("after a second sweep %d messages queued, want still 1", n)
	}
	if r := h.oaPost(oaTextXML("oQuiet", "谢谢，刚好需要", "9001", h.clock.Now())); r.Status != http.StatusOK {
		t.Fatalf("reply: %d %s", r.Status, r.Body)
	}
	act, _ = state(quiet)
	tags := h.contact("officialaccount", "oQuiet")["tags"]
	if act != "active" || !strings.Contains(strings.Join(anyStrings(tags), ","), "winback:engaged") {
		t.Errorf("after the reply: activity %s tags %v; want active and winback:engaged", act, tags)
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// queuedTemplates lists the templates of the messages queued for a contact.
func queuedTemplates(t *testing.T, h *harness, pipe *outreach.Pipeline, contactID string) []string {
	t.Helper()
	var out []string
	for _, e := range h.timeline(contactID) {
		if e["type"] != "message_queued" {
			continue
		}
		props, _ := e["props"].(map[string]any)
		m, err := pipe.Get(t.Context(), props["message_id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Template)
	}
	return out
}

func TestDecayFiresTheScoreBandTriggerOnTheWayDown(t *testing.T) {
	h, _, _ := dialogHarness(t, "id: cooling\nversion: 1\ntriggers:\n  - score_band: warm\nsteps:\n  - id: mark\n    do:\n      - tag: cooling\n")
	h.srv.scoring = contacts.DefaultScoring()
	// The store must know the decay period to schedule the first look.
	store, err := contacts.NewStore(h.rdb, contacts.Options{Now: h.clock.Now, DecayAfter: 30 * day})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.contacts = store
	if _, err := store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{{Kind: "email", Value: "lead@example.com"}},
		Touch: true, ScoreDelta: 85}); err != nil {
		t.Fatal(err)
	}
	tags := func() []string { return anyStrings(h.contact("email", "lead@example.com")["tags"]) }
	for _, st := range []struct {
		advance time.Duration
		score   float64
		tags    []string
	}{
		{29 * day, 85, nil},
		{day, 76, []string{"cooling"}}, // 85 - 9: hot → warm
	} {
		h.clock.Advance(st.advance)
		if err := h.srv.Sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
		c := h.contact("email", "lead@example.com")
		if c["score"].(float64) != st.score || !cmp.Equal(st.tags, tags()) {
			t.Errorf("score %v tags %v, want %v and %v", c["score"], tags(), st.score, st.tags)
		}
	}
}

func TestDialogTagsAreMirroredToWeCom(t *testing.T) {
	h := newHarness(t)
	mirror := outreach.NewTagMirror(h.rdb, noMarker{}, map[string]string{"vip": "etVIP", "webinar": "etWEB"}, nil)
	t.Cleanup(func() { _ = mirror.Close() })
	pipe, err := outreach.New(h.rdb, h.store, outreach.TemplateRenderer{}, nil, outreach.Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pipe.Close() })
	a, err := NewDialogActions(h.store, pipe, outreach.NewCoupons(h.rdb, h.clock.Now), nil, h.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	a.SetTagMirror(mirror)
	h.wecomPost(strings.Replace(addContactXML, "%d", fmtUnix(h.clock.Now()), 1))
	id := h.contact("wecom", "wmEXT001")["id"].(string)
	target := func(key string) dialogs.Target {
		return dialogs.Target{ContactID: id, Channel: channels.WeCom, Script: "survey@1", Step: "tag", Key: key}
	}
	ctx := context.Background()
	for _, err := range []error{
		a.Tag(ctx, target("k1"), "vip"),
		a.Tag(ctx, target("k1"), "vip"), // the same step again: no second task
		a.Tag(ctx, target("k2"), "unmapped"),
		a.Untag(ctx, target("k3"), "vip"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := asynq.NewInspectorFromRedisClient(h.rdb).ListPendingTasks(outreach.QueueLow)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, task := range tasks {
		var p map[string]any
		_ = json.Unmarshal(task.Payload, &p)
		got = append(got, p)
	}
	want := []map[string]any{
		{"user_id": "rep.li", "external_userid": "wmEXT001", "add": []any{"etVIP"}},
		{"user_id": "rep.li", "external_userid": "wmEXT001", "remove": []any{"etVIP"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queued WeCom tag changes (-want +got):\n%s", diff)
	}
}
