package gateway

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/outreach"
)

const expoScript = `id: expo_welcome
version: 1
priority: 50
triggers:
  - subscribe: {scene: expo}
steps:
  - id: hi
    send: {text: 欢迎来到展会！}
  - id: need
    ask:
      text: 请问您关心什么？
      choices:
        - {label: 了解产品, next: product}
      timeout: 2d
  - id: product
    do:
      - tag: interest:product
`

// dialogHarness is a harness whose server runs scripts from a folder
// holding script, with a send pipeline (no workers: messages stay queued).
func dialogHarness(t *testing.T, script string) (*harness, *outreach.Pipeline, *dialogs.Engine) {
	h, pipe, engine, _ := dialogHarnessActions(t, script)
	return h, pipe, engine
}

// dialogHarnessActions is dialogHarness that also hands out the script
// actions, wired to the server like gatewayd wires them.
func dialogHarnessActions(t *testing.T, script string) (*harness, *outreach.Pipeline, *dialogs.Engine, *DialogActions) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "script.yaml"), []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	lib, err := dialogs.Load(dir, dialogs.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pipe *outreach.Pipeline
	var engine *dialogs.Engine
	var actions *DialogActions
	h := newHarnessDeps(t, func(d *Deps) {
		var err error
		pipe, err = outreach.New(d.Redis, d.Contacts, outreach.TemplateRenderer{Store: d.Templates, Renderer: d.Renderer}, nil, outreach.Options{Now: d.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pipe.Close() })
		if actions, err = NewDialogActions(d.Contacts, pipe, outreach.NewCoupons(d.Redis, d.Now), nil, d.Now); err != nil {
			t.Fatal(err)
		}
		if engine, err = dialogs.NewEngine(d.Redis, lib, actions, dialogs.Options{Now: d.Now}); err != nil {
			t.Fatal(err)
		}
		d.Outreach, d.Dialogs = pipe, engine
	})
	actions.OnScore(h.srv.ScoreChanged)
	return h, pipe, engine, actions
}

// TestScriptPointsPromoteALead: points given by a script's action count
// like an event's: crossing 80 makes the lead sql, once.
func TestScriptPointsPromoteALead(t *testing.T) {
	h, _, _, _ := dialogHarnessActions(t, `id: vip_scan
version: 1
triggers:
  - subscribe: {scene: vip}
steps:
  - id: points
    do:
      - score: +85
`)
	h.srv.scoring = contacts.DefaultScoring()
	h.oaPost(oaEventXML("oVip", "subscribe", "qrscene_vip", h.clock.Now()))
	c := h.contact("officialaccount", "oVip")
	if c["score"] != 85.0 || c["stage"] != "sql" {
		t.Fatalf("after the script's +85: score %v stage %v, want 85 and sql", c["score"], c["stage"])
	}
	var changes []string
	for _, e := range h.timeline(c["id"].(string)) {
		if e["type"] == "stage_changed" {
			p := e["props"].(map[string]any)
			changes = append(changes, fmt.Sprint(p["from"], "→", p["to"], " by ", p["event"]))
		}
	}
	if diff := cmp.Diff([]string{"prospect→sql by dialog_score"}, changes); diff != "" {
		t.Errorf("stage changes (-want +got):\n%s", diff)
	}
}

func oaTextXML(openid, text, msgID string, at time.Time) string {
	return `<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[` + openid + `]]></FromUserName><CreateTime>` + fmtUnix(at) +
		`</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[` + text + `]]></Content><MsgId>` + msgID + `</MsgId></xml>`
}

// passiveText opens an encrypted passive reply the way WeChat does (check
// MsgSignature, decrypt with the account's key, check the AppID) and
// returns its text. Callback.Decode cannot read it: a reply has no MsgId.
func (h *harness) passiveText(r response) string {
	h.t.Helper()
	if r.Status != http.StatusOK {
		h.t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	outer := map[string]string{}
	if err := channels.ScanXML([]byte(r.Body), func(name, value []byte) { outer[string(name)] = string(value) }); err != nil {
		h.t.Fatalf("passive reply is not XML (%v): %s", err, r.Body)
	}
	parts := []string{oaToken, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"]}
	sort.Strings(parts)
	if sum := sha1.Sum([]byte(strings.Join(parts, ""))); hex.EncodeToString(sum[:]) != outer["MsgSignature"] {
		h.t.Errorf("passive reply's MsgSignature does not verify: %s", r.Body)
	}
	key, err := base64.StdEncoding.DecodeString(oaAESKey + "=")
	if err != nil {
		h.t.Fatal(err)
	}
	ciphertext, err := base64.StdEncoding.DecodeString(outer["Encrypt"])
	if err != nil {
		h.t.Fatal(err)
	}
	_, plain, appID, err := util.AESDecryptMsg(ciphertext, key)
	if err != nil || string(appID) != oaAppID {
		h.t.Fatalf("passive reply does not decrypt for %s: appid %q, %v", oaAppID, appID, err)
	}
	inner := map[string]string{}
	if err := channels.ScanXML(plain, func(name, value []byte) { inner[string(name)] = string(value) }); err != nil {
		h.t.Fatalf("decrypted reply is not XML (%v): %s", err, plain)
	}
	if inner["ToUserName"] != "oFan" || inner["FromUserName"] != "gh_test" || inner["MsgType"] != "text" {
		h.t.Errorf("decrypted reply = %s, want a text from gh_test to oFan", plain)
	}
	return inner["Content"]
}

func TestDialogAnswersFollowPassivelyAndHandsOff(t *testing.T) {
	h, pipe, engine := dialogHarness(t, expoScript)

	r := h.oaPost(oaEventXML("oFan", "subscribe", "qrscene_expo", h.clock.Now()))
	if got := h.passiveText(r); got != "欢迎来到展会！" {
		t.Errorf("passive reply to the follow = %q, want the script's first text", got)
	}
	id := h.contact("officialaccount", "oFan")["id"].(string)
	st, err := engine.State(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"expo_welcome", "need", "officialaccount"}, []string{st.Script, st.Step, st.Channel}); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	// The ask's prompt, the second reply, is queued as a text message.
	queued := queuedTexts(t, h, pipe, id)
	if diff := cmp.Diff([]string{"请问您关心什么？\n1. 了解产品"}, queued); diff != "" {
		t.Errorf("queued replies (-want +got):\n%s", diff)
	}

	h.clock.Set(h.clock.Now().Add(time.Minute))
	r = h.oaPost(oaTextXML("oFan", "人工", "100001", h.clock.Now()))
	if got := h.passiveText(r); got != dialogs.DefaultHandoffReply {
		t.Errorf("passive reply to 人工 = %q, want %q", got, dialogs.DefaultHandoffReply)
	}
	var handoffs []map[string]any
	for _, e := range h.timeline(id) {
		if e["type"] == "handoff" {
			handoffs = append(handoffs, e)
		}
	}
	if len(handoffs) != 1 || handoffs[0]["text"] != "人工" || handoffs[0]["source"] != "dialogs" {
		t.Errorf("handoff entries = %v, want one with the customer's text", handoffs)
	}

	if st, err := engine.State(t.Context(), id); err != nil || !st.HandedOff {
		t.Errorf("state after 人工 = %+v, %v; want handed off", st, err)
	}
	h.clock.Set(h.clock.Now().Add(time.Minute))
	if r := h.oaPost(oaTextXML("oFan", "1", "100002", h.clock.Now())); r.Status != http.StatusOK || r.Body != "success" {
		t.Errorf("message while handed off: %d %q, want the bot silent (success)", r.Status, r.Body)
	}
	// A platform retry of the same message is a duplicate: no second run.
	if r := h.oaPost(oaTextXML("oFan", "人工", "100001", h.clock.Now())); r.Body != "success" {
		t.Errorf("retried message: %q, want success", r.Body)
	}
	if got := queuedTexts(t, h, pipe, id); len(got) != len(queued) {
		t.Errorf("queued while handed off: %q, want nothing new after %q", got, queued)
	}
}

// queuedTexts lists the texts of the messages queued for the contact, from
// its timeline.
func queuedTexts(t *testing.T, h *harness, pipe *outreach.Pipeline, contactID string) []string {
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
		if m.ForcedChannel != channels.OfficialAccount || m.Purpose != channels.Service {
			t.Errorf("message %s: channel %q purpose %q, want a service message on officialaccount", m.ID, m.ForcedChannel, m.Purpose)
		}
		out = append(out, m.Text)
	}
	return out
}

func TestScoreBandStartsAScript(t *testing.T) {
	h, _, _ := dialogHarness(t, `id: hot_lead
version: 1
triggers:
  - score_band: hot
steps:
  - id: mark
    do:
      - tag: hot-lead
`)
	h.srv.scoring = contacts.DefaultScoring()
	for i, typ := range []string{"webinar_attended", "webinar_attended", "whitepaper_download", "webinar_attended", "whitepaper_download"} {
		body := fmt.Sprintf(`{"contact":{"openid":"oHot"},"type":%q,"id":"e%d"}`, typ, i)
		if r := h.api(http.MethodPost, "/api/v1/events", body); r.Status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", typ, r.Status, r.Body)
		}
		tags := h.contact("officialaccount", "oHot")["tags"].([]any)
		if hot := len(tags) == 1 && tags[0] == "hot-lead"; hot != (i == 4) {
			t.Fatalf("after %d events (score %v) tags = %v; the script must start exactly when the score enters the hot band",
				i+1, h.contact("officialaccount", "oHot")["score"], tags)
		}
	}
}

func TestArchivedRouteListsTasks(t *testing.T) {
	h, _, _ := dialogHarness(t, "id: hi\nversion: 1\ntriggers:\n  - keyword: [你好]\nsteps:\n  - id: hi\n    send: {text: 您好}\n")
	r := h.api(http.MethodGet, "/api/v1/messages/archived", "")
	if r.Status != http.StatusOK || r.Body != `{"tasks":[]}` {
		t.Errorf("archived: %d %s, want 200 and an empty list (not the message route)", r.Status, r.Body)
	}
}

func TestReloadDialogs(t *testing.T) {
	h, _, engine := dialogHarness(t, "id: hi\nversion: 1\ntriggers:\n  - keyword: [你好]\nsteps:\n  - id: hi\n    send: {text: 您好}\n")
	dir := t.TempDir()
	h.srv.cfg.Dialogs.Dir = dir
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(dir, "hi.yaml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("id: hi\nversion: 2\ntriggers:\n  - keyword: [你好]\nsteps:\n  - id: hi\n    send: {text: 您好呀}\n")
	if r := h.api(http.MethodPost, "/api/v1/dialogs/reload", ""); r.Status != http.StatusOK || r.Body != `{"scripts":["hi@2"]}` {
		t.Fatalf("reload: %d %s", r.Status, r.Body)
	}
	write("id: hi\nversion: 3\ntriggers:\n  - keyword: [你好]\nsteps:\n  - id: hi\n    send: {template: no_such_template}\n")
	r := h.api(http.MethodPost, "/api/v1/dialogs/reload", "")
	if r.Status != http.StatusUnprocessableEntity || r.code(t) != KindInvalidScripts.Code || !strings.Contains(r.Body, "hi.yaml") {
		t.Fatalf("broken folder: %d %s, want 422 naming the file", r.Status, r.Body)
	}
	if got := engine.Library().Scripts()[0].Key(); got != "hi@2" {
		t.Errorf("after a refused reload the engine runs %s, want hi@2", got)
	}
}
