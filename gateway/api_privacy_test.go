package gateway

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/outreach"
	"github.com/journeygate/gateway/reports"
)

// privacyHarness runs everything a customer can touch: a send pipeline with
// caps, outboxes and a worker, dialog scripts with hand-offs to a rep, and
// hand-off follow-up checks.
func privacyHarness(t *testing.T) (*harness, map[channels.Channel]*outbox) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "script.yaml"), []byte(expoScript), 0o600); err != nil {
		t.Fatal(err)
	}
	lib, err := dialogs.Load(dir, dialogs.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	boxes := map[channels.Channel]*outbox{}
	var senders []outreach.Sender
	for _, ch := range []channels.Channel{channels.WeCom, channels.OfficialAccount, channels.SMS, channels.Email} {
		boxes[ch] = &outbox{ch: ch, sent: map[string]*channels.Outbound{}}
		senders = append(senders, boxes[ch])
	}
	h := newHarnessDeps(t, func(d *Deps) {
		caps, err := outreach.NewCaps(d.Redis, []outreach.CapRule{{Name: "mkt-week", Purpose: "marketing", Channel: "any", Max: 5, Window: 168 * time.Hour}}, d.Now)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := reports.New(d.Redis, reports.Options{Now: d.Now})
		if err != nil {
			t.Fatal(err)
		}
		pipe, err := outreach.New(d.Redis, d.Contacts, outreach.TemplateRenderer{Store: d.Templates, Renderer: d.Renderer}, senders,
			outreach.Options{Now: d.Now, Caps: caps, Observer: rep})
		if err != nil {
			t.Fatal(err)
		}
		notifier := outreach.NewRepNotifier(d.Redis, boxes[channels.WeCom], []string{"rep.li"}, "https://gw.example.com", nil)
		notifier.SetPolicy(outreach.HandoffPolicy{SLA: time.Hour})
		notifier.SetObserver(rep)
		actions, err := NewDialogActions(d.Contacts, pipe, outreach.NewCoupons(d.Redis, d.Now), nil, d.Now)
		if err != nil {
			t.Fatal(err)
		}
		actions.SetNotifier(notifier)
		actions.SetReports(rep)
		engine, err := dialogs.NewEngine(d.Redis, lib, actions, dialogs.Options{Now: d.Now})
		if err != nil {
			t.Fatal(err)
		}
		srv := asynq.NewServerFromRedisClient(d.Redis, asynq.Config{Concurrency: 2, Queues: outreach.Queues, LogLevel: asynq.ErrorLevel})
		mux := asynq.NewServeMux()
		pipe.Register(mux)
		if err := srv.Start(mux); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Shutdown(); _ = pipe.Close(); _ = notifier.Close() })
		d.Outreach, d.Dialogs, d.Notifier, d.Reports = pipe, engine, notifier, rep
	})
	return h, boxes
}

// person gives one customer a footprint in every part of the gateway and
// returns its contact id and identity values.
func (h *harness) person(n int, openid, phone, mail string) (string, []string) {
	t := h.t
	t.Helper()
	// A follow from an expo QR code starts a script, which waits for an answer.
	h.oaPost(`<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[` + openid + `]]></FromUserName><CreateTime>` +
		fmtUnix(h.clock.Now()) + `</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_expo]]></EventKey></xml>`)
	// The phone arrives as a contact of its own, then an event joins them.
	h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"`+phone+`"},"type":"whitepaper_download"}`), http.StatusAccepted)
	r := h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"openid":"`+openid+`","phone":"`+phone+`","email":"`+mail+`"},"type":"webinar_attended"}`), http.StatusAccepted)
	id := r["contact_id"].(string)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/contacts/"+id+"/tags", `{"add":["vip","expo"]}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPut, "/api/v1/contacts/"+id+"/consent", `{"channel":"sms","status":"opted_in","source":"web form"}`), http.StatusOK)
	// A marketing SMS that goes out (and takes a cap place), and a reminder for tomorrow.
	sent := fmt.Sprintf("sent-%d", n)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/messages", `{"id":"`+sent+`","contact":{"phone":"`+phone+`"},"template":"promo","vars":{"name":"王"},"purpose":"marketing","channel":"sms"}`), http.StatusAccepted)
	if m := h.waitSent(sent); m["status"] != "sent" {
		t.Fatalf("message %s: %v", sent, m)
	}
	h.mustStatus(h.api(http.MethodPost, "/api/v1/messages", `{"contact":{"email":"`+mail+`"},"template":"promo","vars":{"name":"王"},"purpose":"marketing","delay":"24h"}`), http.StatusAccepted)
	// A coupon, redeemed.
	code := h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/spring/issue", `{"contact":{"phone":"`+phone+`"}}`), http.StatusOK)["code"].(string)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/redeem", `{"code":"`+code+`","order_id":"`+fmt.Sprintf("order-%d", n)+`"}`), http.StatusOK)
	// Asking for a human hands the chat to a rep, who is notified and chased.
	if r := h.oaPost(oaTextXML(openid, "人工", fmt.Sprintf("9900%d", n), h.clock.Now())); r.Status != http.StatusOK {
		t.Fatalf("hand-off message: %d %s", r.Status, r.Body)
	}
	ex := h.mustStatus(h.api(http.MethodGet, "/api/v1/contacts/"+id+"/export", ""), http.StatusOK)
	// Its identity values, and the slot ids they map to (the merged-away
	// contact's among them).
	var values []string
	for kind, vs := range ex["contact"].(map[string]any)["identities"].(map[string]any) {
		for _, v := range vs.([]any) {
			values = append(values, v.(string), contacts.IDFor(contacts.Identity{Kind: kind, Value: v.(string)}))
		}
	}
	return id, values
}

// messageStatuses maps exported messages to their status: by id for the
// ones named in the test, by template for the rest (script replies aside).
func messageStatuses(msgs []any) map[string]string {
	out := map[string]string{}
	for _, m := range msgs {
		m := m.(map[string]any)
		switch {
		case m["id"] == "sent-1":
			out["sent-1"] = m["status"].(string)
		case m["template"] == "promo":
			out["promo"] = m["status"].(string)
		}
	}
	return out
}

// keyspace dumps every key with its contents, by key.
func (h *harness) keyspace() map[string]string {
	h.t.Helper()
	ctx := context.Background()
	keys, err := h.rdb.Keys(ctx, "*").Result()
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		var v any
		switch h.rdb.Type(ctx, k).Val() {
		case "string":
			v = h.rdb.Get(ctx, k).Val()
		case "hash":
			v = h.rdb.HGetAll(ctx, k).Val()
		case "list":
			v = h.rdb.LRange(ctx, k, 0, -1).Val()
		case "set":
			s := h.rdb.SMembers(ctx, k).Val()
			sort.Strings(s)
			v = s
		case "zset":
			v = h.rdb.ZRangeWithScores(ctx, k, 0, -1).Val()
		case "stream":
			v = h.rdb.XRange(ctx, k, "-", "+").Val()
		}
		out[k] = fmt.Sprint(v)
	}
	return out
}

func TestExportAndEraseAContactEverywhere(t *testing.T) {
	h, _ := privacyHarness(t)
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", `{"name":"Promo","purpose":"marketing","channels":{
	  "sms":{"template_code":"SMS_1","params":{"name":"{{.name}}"}},
	  "email":{"subject":"Hi","text":"Hi {{.name}}"}}}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches", `{"id":"spring","name":"Spring","expires_at":"2026-12-31T00:00:00Z","value_cents":500}`), http.StatusCreated)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/spring/codes", `{"generate":4,"prefix":"SP"}`), http.StatusOK)

	gone, goneValues := h.person(1, "o-erase-me", "13800138001", "erase.me@example.com")
	kept, keptValues := h.person(2, "o-keep-me", "13900139002", "keep.me@example.com")

	// The export holds every part.
	ex := h.mustStatus(h.api(http.MethodGet, "/api/v1/contacts/"+gone+"/export", ""), http.StatusOK)
	summary := map[string]any{
		"tags":           ex["contact"].(map[string]any)["tags"],
		"consent_source": ex["contact"].(map[string]any)["consent_source"].(map[string]any)["sms"],
		"messages":       messageStatuses(ex["messages"].([]any)),
		"coupons":        len(ex["coupons"].([]any)),
		"redeemed":       ex["coupons"].([]any)[0].(map[string]any)["redeemed_at"] != nil,
		"handed_off":     ex["dialog"].(map[string]any)["handed_off"],
		"handoff":        ex["handoff"].(map[string]any)["status"],
		"score":          ex["score"].(map[string]any)["score"],
		"score_log":      len(ex["score"].(map[string]any)["log"].([]any)),
		"timeline":       len(ex["timeline"].([]any)) > 5,
	}
	want := map[string]any{"tags": []any{"customer", "expo", "vip"}, "consent_source": "web form",
		"messages": map[string]string{"sent-1": "sent", "promo": "scheduled"}, "coupons": 1, "redeemed": true,
		"handed_off": true, "handoff": "open", "score": 30.0, "score_log": 1, "timeline": true}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("export (-want +got)\n%s", diff)
	}
	if len(goneValues) != 6 {
		t.Fatalf("identities in the export: %v", goneValues)
	}

	mentions := func(space map[string]string, needles []string) []string {
		var hits []string
		for k, v := range space {
			for _, n := range needles {
				if strings.Contains(k, n) || (k != auditStreamKey && strings.Contains(v, n)) {
					hits = append(hits, k)
					break
				}
			}
		}
		sort.Strings(hits)
		return hits
	}
	before := h.keyspace()
	goneNeedles := append([]string{gone, "o-erase-me"}, goneValues...)
	if hits := mentions(before, goneNeedles); len(hits) < 15 {
		t.Fatalf("the contact touched only %d keys before erasure: %v", len(hits), hits)
	}
	// The other customer's own keys (named for it) must not change at all.
	keptBefore := map[string]string{}
	for k, v := range before {
		for _, n := range append([]string{kept}, keptValues...) {
			if strings.Contains(k, n) {
				keptBefore[k] = v
			}
		}
	}
	if len(keptBefore) < 8 {
		t.Fatalf("the other contact has only %d keys of its own: %v", len(keptBefore), keptBefore)
	}

	r := h.mustStatus(h.api(http.MethodDelete, "/api/v1/contacts/"+gone, ""), http.StatusOK)
	if r["erased"] != true || r["outreach"].(map[string]any)["messages"].(float64) < 2 || r["outreach"].(map[string]any)["coupons"] != 1.0 {
		t.Errorf("erase summary: %v", r)
	}
	after := h.keyspace()
	if hits := mentions(after, goneNeedles); len(hits) > 0 {
		for _, k := range hits {
			t.Errorf("after erasure %s still mentions the contact: %.300s", k, after[k])
		}
	}
	for k, v := range keptBefore {
		if after[k] != v {
			t.Errorf("key %s of the other contact changed:\nbefore %.300s\nafter  %.300s", k, v, after[k])
		}
	}
	// Shared keys keep the other customer's entries.
	for _, tag := range []string{"vip", "expo", "customer"} {
		if ok, _ := h.rdb.SIsMember(context.Background(), "tag:"+tag, kept).Result(); !ok {
			t.Errorf("tag index %s lost the other contact", tag)
		}
	}
	if code, _ := h.rdb.HGet(context.Background(), "{cpn:spring}:holder", kept).Result(); code == "" {
		t.Error("the other contact lost its coupon")
	}
	batch := h.mustStatus(h.api(http.MethodGet, "/api/v1/coupons/batches/spring", ""), http.StatusOK)
	if batch["issued"] != 2.0 || batch["redeemed"] != 2.0 {
		t.Errorf("coupon counts after erasure: %v, want 2 issued and 2 redeemed", batch)
	}
	if r := h.api(http.MethodGet, "/api/v1/contacts/"+gone, ""); r.Status != http.StatusNotFound {
		t.Errorf("the erased contact still reads: %d %s", r.Status, r.Body)
	}
	if r := h.api(http.MethodGet, "/api/v1/contacts/lookup?channel=sms&id=13800138001", ""); r.Status != http.StatusNotFound {
		t.Errorf("the erased phone still finds a contact: %d %s", r.Status, r.Body)
	}
	// Again: nothing left, nothing changed.
	again := h.mustStatus(h.api(http.MethodDelete, "/api/v1/contacts/"+gone, ""), http.StatusOK)
	if again["erased"] != false {
		t.Errorf("second erasure: %v", again)
	}
	delete(after, auditStreamKey)
	afterAgain := h.keyspace()
	delete(afterAgain, auditStreamKey)
	if diff := cmp.Diff(after, afterAgain); diff != "" {
		t.Errorf("a repeated erasure changed keys (-before +after)\n%s", diff)
	}
	audit := h.api(http.MethodGet, "/api/v1/audit?action=contact.erase", "").json(t)["entries"].([]any)
	if len(audit) != 2 || audit[0].(map[string]any)["target"] != gone {
		t.Errorf("erasures in the audit log: %v", audit)
	}
}

func TestPrivacyRoutesAreAdminOnly(t *testing.T) {
	h := newHarness(t)
	h.withOutreach()
	id := h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"signup"}`), http.StatusAccepted)["contact_id"].(string)
	tok := h.mustStatus(h.api(http.MethodPost, "/api/v1/tokens", `{"name":"m","role":"marketer"}`), http.StatusCreated)["token"].(string)
	for _, rt := range []struct{ method, path string }{{http.MethodGet, "/api/v1/contacts/" + id + "/export"}, {http.MethodDelete, "/api/v1/contacts/" + id}} {
		if r := h.do(rt.method, rt.path, nil, "Authorization", "Bearer "+tok); r.Status != http.StatusForbidden {
			t.Errorf("marketer %s %s: %d", rt.method, rt.path, r.Status)
		}
	}
	if r := h.api(http.MethodDelete, "/api/v1/contacts/not-an-id", ""); r.Status != http.StatusBadRequest {
		t.Errorf("erase with a malformed id: %d %s", r.Status, r.Body)
	}
	if r := h.api(http.MethodGet, "/api/v1/contacts/aaaaaaaaaaaaaaaa/export", ""); r.Status != http.StatusNotFound {
		t.Errorf("export of an unknown contact: %d %s", r.Status, r.Body)
	}
}

// TestEraseStoppedMidwayIsFinishedByARepeat: an erasure that stopped after
// the outreach records (a crash, Redis gone) leaves the contact readable,
// and the next request erases the rest.
func TestEraseStoppedMidwayIsFinishedByARepeat(t *testing.T) {
	h, _ := privacyHarness(t)
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", `{"name":"Promo","purpose":"marketing","channels":{
	  "sms":{"template_code":"SMS_1","params":{"name":"{{.name}}"}}, "email":{"subject":"Hi","text":"Hi {{.name}}"}}}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches", `{"id":"spring","name":"Spring","expires_at":"2026-12-31T00:00:00Z","value_cents":500}`), http.StatusCreated)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/spring/codes", `{"generate":2,"prefix":"SP"}`), http.StatusOK)
	id, values := h.person(1, "o-half", "13800138009", "half@example.com")
	ctx := context.Background()
	hold, err := h.store.Holdings(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.outreach.EraseContact(ctx, hold.Slots, hold.Values()); err != nil {
		t.Fatal(err)
	}
	if r := h.api(http.MethodGet, "/api/v1/contacts/"+id, ""); r.Status != http.StatusOK {
		t.Fatalf("after a partial erasure the contact does not read: %d", r.Status)
	}
	if r := h.mustStatus(h.api(http.MethodDelete, "/api/v1/contacts/"+id, ""), http.StatusOK); r["erased"] != true {
		t.Errorf("the repeat: %v", r)
	}
	for k, v := range h.keyspace() {
		for _, n := range append([]string{id, "o-half"}, values...) {
			if strings.Contains(k, n) || (k != auditStreamKey && strings.Contains(v, n)) {
				t.Errorf("%s still mentions the contact: %.200s", k, v)
				break
			}
		}
	}
}
