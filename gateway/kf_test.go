package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/wecom"
	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/outreach"
)

const (
	kfCorpID  = "wwkftest0000000001"
	kfSecret  = "kf-app-secret"
	kfAccount = "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"
	kfScript  = "id: kf_hi\nversion: 1\ntriggers:\n  - keyword: [研讨会]\nsteps:\n  - id: hi\n    send: {text: 研讨会周四 14:00 开始}\n"
)

// kfAPI plays WeCom's gettoken and kf/sync_msg: it holds a list of pulled
// messages, hands them out pageSize at a time from cursor "c<index>", and
// records every sync_msg body it was given.
type kfAPI struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	msgs     []map[string]any
	pageSize int
	calls    []map[string]any
	errcodes []int         // answered, in turn, before any page
	gate     chan struct{} // non-nil: the next sync_msg's answer waits for it
}

func newKFAPI(t testing.TB) *kfAPI {
	a := &kfAPI{t: t, pageSize: 2}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	client, err := channels.NewPlatformClient(5*time.Second, map[string]string{channels.WeComAPIHost: a.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	prev := util.DefaultHTTPClient
	util.DefaultHTTPClient = client
	t.Cleanup(func() { util.DefaultHTTPClient = prev })
	return a
}

func (a *kfAPI) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch r.URL.Path {
	case "/cgi-bin/gettoken":
		if q.Get("corpid") != kfCorpID || q.Get("corpsecret") != kfSecret {
			_, _ = io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","access_token":"KF-TOKEN","expires_in":7200}`)
		return
	case "/cgi-bin/kf/sync_msg":
	default:
		http.NotFound(w, r)
		return
	}
	if q.Get("access_token") != "KF-TOKEN" {
		_, _ = io.WriteString(w, `{"errcode":40014,"errmsg":"invalid access_token"}`)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		a.t.Errorf("sync_msg body is not JSON: %v", err)
	}
	a.mu.Lock()
	a.calls = append(a.calls, body)
	gate := a.gate
	a.gate = nil
	var out map[string]any
	if len(a.errcodes) > 0 {
		out = map[string]any{"errcode": a.errcodes[0], "errmsg": "refused"}
		a.errcodes = a.errcodes[1:]
	} else {
		from := 0
		if c, _ := body["cursor"].(string); c != "" {
			from, _ = strconv.Atoi(c[1:])
		}
		to := min(from+a.pageSize, len(a.msgs))
		out = map[string]any{"errcode": 0, "errmsg": "ok", "next_cursor": "c" + strconv.Itoa(to), "has_more": 0, "msg_list": a.msgs[from:to]}
		if to < len(a.msgs) {
			out["has_more"] = 1
		}
	}
	a.mu.Unlock()
	if gate != nil { // the page is fixed; what arrives now is for the next pull
		<-gate
	}
	_ = json.NewEncoder(w).Encode(out)
}

// script sets what the next calls meet (under the lock the handler takes).
func (a *kfAPI) script(errcodes []int, gate chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errcodes, a.gate = errcodes, gate
}

func (a *kfAPI) add(msgs ...map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.msgs = append(a.msgs, msgs...)
}

// pending counts the sync_msg calls not yet taken.
func (a *kfAPI) pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.calls)
}

// taken returns and forgets the sync_msg bodies so far.
func (a *kfAPI) taken() []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.calls
	a.calls = nil
	return c
}

func kfText(id, ext, text string, at time.Time) map[string]any {
	return map[string]any{"msgid": id, "open_kfid": kfAccount, "external_userid": ext, "send_time": at.Unix(), "origin": 3,
		"msgtype": "text", "text": map[string]any{"content": text}}
}

func kfSignalXML(token string, at time.Time) string {
	return `<xml><ToUserName><![CDATA[` + vecCorpID + `]]></ToUserName><CreateTime>` + fmtUnix(at) +
		`</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[` + token +
		`]]></Token><OpenKfId><![CDATA[` + kfAccount + `]]></OpenKfId></xml>`
}

// kfHarness is a server with a dialog script, a send pipeline (no send
// workers: messages stay queued), a kf welcome template and a 微信客服
// worker pulling from a kfAPI through the real WeCom sender.
func kfHarness(t *testing.T) (*harness, *kfAPI, *KFWorker, *outreach.Pipeline) {
	t.Helper()
	api := newKFAPI(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kf.yaml"), []byte(kfScript), 0o600); err != nil {
		t.Fatal(err)
	}
	lib, err := dialogs.Load(dir, dialogs.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pipe *outreach.Pipeline
	h := newHarnessDeps(t, func(d *Deps) {
		pipe, err = outreach.New(d.Redis, d.Contacts, outreach.TemplateRenderer{Store: d.Templates, Renderer: d.Renderer}, nil, outreach.Options{Now: d.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pipe.Close() })
		actions, err := NewDialogActions(d.Contacts, pipe, outreach.NewCoupons(d.Redis, d.Now), nil, d.Now)
		if err != nil {
			t.Fatal(err)
		}
		if d.Dialogs, err = dialogs.NewEngine(d.Redis, lib, actions, dialogs.Options{Now: d.Now}); err != nil {
			t.Fatal(err)
		}
		d.Outreach = pipe
	}, func(c *configs.Config) { c.WeCom.WelcomeTemplate = "kf_welcome" })
	if r := h.api(http.MethodPut, "/api/v1/templates/kf_welcome", `{"name":"kf welcome","purpose":"service","channels":{"wecom":{"text":"欢迎咨询"}}}`); r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("save template: %d %s", r.Status, r.Body)
	}
	sender, err := wecom.NewSender(wecom.SenderConfig{CorpID: kfCorpID, AgentID: "1000002", Secret: kfSecret, Redis: h.rdb})
	if err != nil {
		t.Fatal(err)
	}
	w, err := h.srv.KFWorker(sender, KFOptions{Block: 20 * time.Millisecond, Consumer: "test-1"})
	if err != nil {
		t.Fatal(err)
	}
	return h, api, w, pipe
}

// kfQueued lists the kind of route and text of every message queued for
// the contact, from its timeline, oldest first.
func kfQueued(t *testing.T, h *harness, pipe *outreach.Pipeline, contactID string) []string {
	t.Helper()
	var out []string
	entries := h.timeline(contactID)
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e["type"] != "message_queued" {
			continue
		}
		props, _ := e["props"].(map[string]any)
		m, err := pipe.Get(t.Context(), props["message_id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s %q", m.ForcedChannel, m.Purpose, m.OpenKFID, m.Text+m.Template))
	}
	return out
}

func timelineTypes(h *harness, contactID string) []string {
	var out []string
	entries := h.timeline(contactID)
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, fmt.Sprint(entries[i]["type"], " ", entries[i]["text"]))
	}
	return out
}

func TestKFMessagesAreAppliedOnceAndReachTheScript(t *testing.T) {
	h, api, w, pipe := kfHarness(t)
	now := h.clock.Now()
	ext := "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
	api.add(
		map[string]any{"msgid": "ev1", "send_time": now.Unix(), "origin": 4, "msgtype": "event", "event": map[string]any{
			"event_type": "enter_session", "open_kfid": kfAccount, "external_userid": ext, "scene": "expo", "welcome_code": "WC-1"}},
		kfText("m1", ext, "你好", now),
		map[string]any{"msgid": "m2", "open_kfid": kfAccount, "external_userid": ext, "send_time": now.Unix(), "origin": 3, "msgtype": "image", "image": map[string]any{"media_id": "x"}},
		kfText("m3", ext, "想了解研讨会", now),
		map[string]any{"msgid": "bad", "origin": 3, "msgtype": "text"}, // no customer: skipped, not blocking
	)
	if r := h.wecomPost(kfSignalXML("ENC-1", now)); r.Status != http.StatusOK {
		t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	if n, err := w.Poll(t.Context()); err != nil || n != 1 {
		t.Fatalf("Poll = %d, %v; want the one signal done", n, err)
	}
	want := []map[string]any{
		{"token": "ENC-1", "open_kfid": kfAccount, "limit": 1000.0, "voice_format": 0.0},
		{"cursor": "c2", "token": "ENC-1", "open_kfid": kfAccount, "limit": 1000.0, "voice_format": 0.0},
		{"cursor": "c4", "token": "ENC-1", "open_kfid": kfAccount, "limit": 1000.0, "voice_format": 0.0},
	}
	if diff := cmp.Diff(want, api.taken()); diff != "" {
		t.Errorf("sync_msg calls (-want +got):\n%s", diff)
	}
	if c := h.rdb.Get(t.Context(), kfCursorKey(kfAccount)).Val(); c != "c5" {
		t.Errorf("stored cursor %q, want c5", c)
	}
	ct := h.contact("wecom", ext)
	id := ct["id"].(string)
	fields, _ := ct["fields"].(map[string]any)
	if diff := cmp.Diff(map[string]any{outreach.KFAccountField: kfAccount, outreach.KFLastAtField: fmtUnix(now)}, fields); diff != "" {
		t.Errorf("contact fields (-want +got):\n%s", diff)
	}
	applied := []string{"kf_session_entered <nil>", "message_queued <nil>", "message 你好", "message [image]", "message 想了解研讨会", "message_queued <nil>"}
	if diff := cmp.Diff(applied, timelineTypes(h, id)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	queued := []string{`wecom service wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q "kf_welcome"`, `wecom service  "研讨会周四 14:00 开始"`}
	if diff := cmp.Diff(queued, kfQueued(t, h, pipe, id)); diff != "" {
		t.Errorf("queued messages (-want +got):\n%s", diff)
	}
	if n := h.rdb.XPending(t.Context(), inboxStreamKey, kfGroup).Val().Count; n != 0 {
		t.Errorf("%d signals left pending after a complete pull", n)
	}

	// The same messages pulled again (a lost cursor, a crash before it was
	// stored): nothing is applied or answered twice.
	h.rdb.Del(t.Context(), kfCursorKey(kfAccount))
	h.clock.Set(now.Add(time.Minute))
	if r := h.wecomPost(kfSignalXML("ENC-2", h.clock.Now())); r.Status != http.StatusOK {
		t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	if _, err := w.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(api.taken()); n != 3 {
		t.Errorf("re-pull made %d calls, want all 3 pages again", n)
	}
	if diff := cmp.Diff(applied, timelineTypes(h, id)); diff != "" {
		t.Errorf("timeline after a re-pull (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(queued, kfQueued(t, h, pipe, id)); diff != "" {
		t.Errorf("queued after a re-pull (-want +got):\n%s", diff)
	}
	if c := h.rdb.Get(t.Context(), kfCursorKey(kfAccount)).Val(); c != "c5" {
		t.Errorf("stored cursor %q after the re-pull, want c5", c)
	}
}

func TestKFFailedPullKeepsTheCursorAndIsTakenUpAgain(t *testing.T) {
	h, api, w, _ := kfHarness(t)
	w.opt.RetryAfter = time.Millisecond
	now := h.clock.Now()
	api.add(kfText("m1", "wm1", "a", now), kfText("m2", "wm1", "b", now), kfText("m3", "wm1", "c", now))
	h.rdb.Set(t.Context(), kfCursorKey(kfAccount), "c0", 0)
	api.script([]int{-1}, nil) // WeCom busy: transient
	h.wecomPost(kfSignalXML("ENC-1", now))
	if _, err := w.Poll(t.Context()); err == nil {
		t.Fatal("a failed pull reported no error")
	}
	if n := h.rdb.XPending(t.Context(), inboxStreamKey, kfGroup).Val().Count; n != 1 {
		t.Fatalf("%d signals pending after a failed pull, want 1 kept for the retry", n)
	}
	if c := h.rdb.Get(t.Context(), kfCursorKey(kfAccount)).Val(); c != "c0" {
		t.Errorf("cursor %q after a failed pull, want c0 untouched", c)
	}
	if h.rdb.Exists(t.Context(), kfLockKey(kfAccount)).Val() != 0 {
		t.Error("a failed pull kept the account's lock")
	}
	time.Sleep(5 * time.Millisecond)
	if n, err := w.Poll(t.Context()); err != nil || n != 1 {
		t.Fatalf("retry Poll = %d, %v; want the signal done", n, err)
	}
	cursors := []string{}
	for _, c := range api.taken() {
		cursors = append(cursors, fmt.Sprint(c["cursor"]))
	}
	if diff := cmp.Diff([]string{"c0", "c0", "c2"}, cursors); diff != "" {
		t.Errorf("cursors pulled from (-want +got):\n%s", diff)
	}
	id := h.contact("wecom", "wm1")["id"].(string)
	if diff := cmp.Diff([]string{"message a", "message b", "message c"}, timelineTypes(h, id)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func TestKFOnePullerPerAccountAndNoSignalLeftBehind(t *testing.T) {
	h, api, a, _ := kfHarness(t)
	b, err := h.srv.KFWorker(a.kf, KFOptions{Block: 20 * time.Millisecond, Consumer: "test-2"})
	if err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now()
	api.add(kfText("m1", "wm1", "first", now))
	gate := make(chan struct{})
	api.script(nil, gate)
	h.wecomPost(kfSignalXML("ENC-1", now))
	done := make(chan error, 1)
	go func() { _, err := a.Poll(t.Context()); done <- err }()
	// Wait until a holds the lock and its first page is fixed.
	for api.pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	// Meanwhile the customer writes again and b gets that signal: it must
	// not pull alongside a, and a must not stop before pulling it.
	api.add(kfText("m2", "wm1", "second", now))
	h.clock.Set(now.Add(time.Second))
	h.wecomPost(kfSignalXML("ENC-2", h.clock.Now()))
	if n, err := b.Poll(t.Context()); err != nil || n != 1 {
		t.Fatalf("b.Poll = %d, %v; want the signal left to the holder", n, err)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for _, c := range api.taken() {
		tokens = append(tokens, fmt.Sprint(c["token"], " ", c["cursor"]))
	}
	if diff := cmp.Diff([]string{"ENC-1 <nil>", "ENC-2 c1"}, tokens); diff != "" {
		t.Errorf("sync_msg calls (token cursor) (-want +got):\n%s", diff)
	}
	id := h.contact("wecom", "wm1")["id"].(string)
	if diff := cmp.Diff([]string{"message first", "message second"}, timelineTypes(h, id)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if h.rdb.Exists(t.Context(), kfLockKey(kfAccount), kfAgainKey(kfAccount)).Val() != 0 {
		t.Error("the lock or the again flag outlived the pull")
	}
}

// TestKFServicerTakesOver: once a person answers in the 微信客服 session,
// the bot stays quiet for that customer until the hand-off is closed.
func TestKFServicerTakesOver(t *testing.T) {
	h, api, w, pipe := kfHarness(t)
	now := h.clock.Now()
	ext := "wmServicer000001"
	api.add(
		map[string]any{"msgid": "s1", "open_kfid": kfAccount, "external_userid": ext, "send_time": now.Unix(), "origin": 5,
			"servicer_userid": "rep.li", "msgtype": "text", "text": map[string]any{"content": "您好，我是顾问小李"}},
		kfText("c1", ext, "研讨会几点？", now),
	)
	if r := h.wecomPost(kfSignalXML("ENC-S", now)); r.Status != http.StatusOK {
		t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	if _, err := w.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	id := h.contact("wecom", ext)["id"].(string)
	if q := kfQueued(t, h, pipe, id); len(q) != 0 {
		t.Errorf("the bot answered after a servicer took over: %q", q)
	}
	st, err := h.srv.dialogs.State(t.Context(), id)
	if err != nil || !st.HandedOff {
		t.Fatalf("state after the servicer's message: %+v, %v; want handed off", st, err)
	}
	if r := h.api(http.MethodPost, "/api/v1/contacts/"+id+"/handoff/done", ""); r.Status != http.StatusOK {
		t.Fatalf("closing the servicer's hand-off: %d %s", r.Status, r.Body)
	}
	api.add(kfText("c2", ext, "研讨会在哪里？", now))
	if r := h.wecomPost(kfSignalXML("ENC-T", now)); r.Status != http.StatusOK {
		t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	if _, err := w.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`wecom service  "研讨会周四 14:00 开始"`}, kfQueued(t, h, pipe, id)); diff != "" {
		t.Errorf("after the hand-off ended (-want +got):\n%s", diff)
	}
}

// A message whose callback WeCom never delivered is pulled by the catch-up:
// by a process right after it starts (unless a catch-up ran within the
// last minute), then every interval by one process, from the stored cursor
// and without a token; in between nothing is pulled without a signal.
func TestKFCatchUpPullsWhatNoSignalAnnounced(t *testing.T) {
	h, api, a, _ := kfHarness(t)
	now := h.clock.Now()
	api.add(kfText("m1", "wm1", "first", now))
	signalAndPoll(t, h, a, now)
	api.taken()
	catchUp := []map[string]any{{"cursor": "c1", "open_kfid": kfAccount, "limit": 1000.0, "voice_format": 0.0}}
	start := func(name string) *KFWorker {
		w, err := h.srv.KFWorker(a.kf, KFOptions{Block: 20 * time.Millisecond, Consumer: name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		return w
	}

	// A process that starts within a minute of the last catch-up (a's, at
	// its start) waits for the next; one that starts later catches up at once.
	h.clock.Set(now.Add(30 * time.Second))
	start("restarted-soon")
	if calls := api.taken(); len(calls) != 0 {
		t.Errorf("a process started 30 s after a catch-up pulled %v; want nothing", calls)
	}
	h.clock.Set(now.Add(2 * time.Minute))
	b := start("started-later")
	if diff := cmp.Diff(catchUp, api.taken()); diff != "" {
		t.Errorf("sync_msg calls of a process that just started (-want +got):\n%s", diff)
	}

	// The callback of the next message is lost.
	api.add(kfText("m2", "wm1", "还在吗", now.Add(3*time.Minute)))
	h.clock.Set(now.Add(6 * time.Minute))
	pollAll(t, a, b)
	if calls := api.taken(); len(calls) != 0 {
		t.Fatalf("pulled %v before the catch-up was due", calls)
	}
	h.clock.Set(now.Add(7*time.Minute + time.Second))
	pollAll(t, a, b)
	if diff := cmp.Diff(catchUp, api.taken()); diff != "" {
		t.Errorf("catch-up sync_msg calls of both processes once due (-want +got):\n%s", diff)
	}
	wantBothMessages(t, h)
}

// A catch-up pull that fails for a passing reason leaves a signal, so the
// usual retry pulls the account soon rather than the next catch-up.
func TestKFFailedCatchUpLeavesASignal(t *testing.T) {
	h, api, w, _ := kfHarness(t)
	now := h.clock.Now()
	api.add(kfText("m1", "wm1", "first", now))
	signalAndPoll(t, h, w, now)
	api.add(kfText("m2", "wm1", "还在吗", now.Add(time.Minute)))
	api.script([]int{-1}, nil) // WeCom busy
	h.clock.Set(now.Add(6 * time.Minute))
	pollAll(t, w, w)
	wantBothMessages(t, h)
}

func TestKFCatchUpForgetsOnlyAnAccountWeComDoesNotKnow(t *testing.T) {
	h, api, w, _ := kfHarness(t)
	now := h.clock.Now()
	signalAndPoll(t, h, w, now)
	if !h.rdb.SIsMember(t.Context(), kfAccountsKey, kfAccount).Val() {
		t.Fatal("an account pulled on a signal is not remembered for the catch-up")
	}
	for _, tt := range []struct {
		errcode int
		kept    bool
	}{
		{60020, true},  // the server's IP is not trusted: the app's setting, not the account
		{95004, false}, // open_kfid does not exist (any more)
	} {
		api.script([]int{tt.errcode}, nil)
		now = now.Add(6 * time.Minute)
		h.clock.Set(now)
		if _, err := w.Poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if kept := h.rdb.SIsMember(t.Context(), kfAccountsKey, kfAccount).Val(); kept != tt.kept {
			t.Errorf("after errcode %d the account is kept for the catch-up: %v, want %v", tt.errcode, kept, tt.kept)
		}
	}
}

// pollAll runs one round of each worker, in turn.
func pollAll(t *testing.T, workers ...*KFWorker) {
	t.Helper()
	for _, w := range workers {
		if _, err := w.Poll(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// signalAndPoll delivers a kf_msg_or_event callback and runs w's round.
func signalAndPoll(t *testing.T, h *harness, w *KFWorker, at time.Time) {
	t.Helper()
	if r := h.wecomPost(kfSignalXML("ENC-1", at)); r.Status != http.StatusOK {
		t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	pollAll(t, w)
}

// wantBothMessages checks that customer wm1's two messages were applied.
func wantBothMessages(t *testing.T, h *harness) {
	t.Helper()
	id := h.contact("wecom", "wm1")["id"].(string)
	if diff := cmp.Diff([]string{"message first", "message 还在吗"}, timelineTypes(h, id)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}
