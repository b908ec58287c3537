package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPlayKFEnterSessionAndWelcome(t *testing.T) {
	e := newTestEnv(t, nil)
	g := newWeComGateway(t, e)
	status, out := callJSON(t, "POST", e.ui.URL+"/api/play/kf", map[string]string{
		"external_userid": "wm_c1", "open_kfid": "wk_1", "event": "enter_session", "scene": "expo"})
	if status != 200 {
		t.Fatalf("play: %d %v", status, out)
	}
	ev := g.last(t)
	if ev["Event"] != "kf_msg_or_event" || ev["OpenKfId"] != "wk_1" || ev["Token"] == "" {
		t.Fatalf("kf callback = %v", ev)
	}
	tok := wecomToken(t, e)
	_, page := callJSON(t, "POST", e.wecom.URL+"/cgi-bin/kf/sync_msg?access_token="+tok, map[string]any{"token": ev["Token"], "open_kfid": "wk_1"})
	list, _ := page["msg_list"].([]any)
	if len(list) != 1 {
		t.Fatalf("sync_msg = %v, want the enter_session event", page)
	}
	event := list[0].(map[string]any)["event"].(map[string]any)
	code, _ := event["welcome_code"].(string)
	if event["event_type"] != "enter_session" || event["scene"] != "expo" || event["external_userid"] != "wm_c1" || code == "" {
		t.Fatalf("event = %v", event)
	}
	onEvent := e.wecom.URL + "/cgi-bin/kf/send_msg_on_event?access_token=" + tok
	welcome := map[string]any{"code": code, "msgtype": "text", "text": map[string]string{"content": "欢迎咨询"}}
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"the welcome", welcome, 0},
		{"the code a second time", welcome, 40035},
		{"no code", map[string]any{"msgtype": "text", "text": map[string]string{"content": "x"}}, 40063},
		{"an image", map[string]any{"code": code, "msgtype": "image"}, 40008},
	}
	for _, tt := range tests {
		if _, out := callJSON(t, "POST", onEvent, tt.body); errcode(out) != tt.want {
			t.Errorf("%s: errcode %d (%v), want %d", tt.name, errcode(out), out["errmsg"], tt.want)
		}
	}
	// A customer message opens the reply window; send_msg is recorded in the kf outbox.
	callJSON(t, "POST", e.ui.URL+"/api/play/kf", map[string]string{"external_userid": "wm_c1", "open_kfid": "wk_1", "text": "有优惠吗"})
	callJSON(t, "POST", e.wecom.URL+"/cgi-bin/kf/send_msg?access_token="+tok, map[string]any{"touser": "wm_c1", "open_kfid": "wk_1", "msgtype": "text", "text": map[string]string{"content": "有的"}})
	callJSON(t, "POST", e.ui.URL+"/api/play/kf", map[string]string{"external_userid": "wm_c2", "open_kfid": "wk_1", "event": "enter_session"})
	late := g.last(t)
	e.clock.Advance(welcomeCodeLife + time.Second)
	_, page = callJSON(t, "POST", e.wecom.URL+"/cgi-bin/kf/sync_msg?access_token="+tok, map[string]any{"cursor": page["next_cursor"], "open_kfid": "wk_1"})
	list, _ = page["msg_list"].([]any)
	lateCode := list[len(list)-1].(map[string]any)["event"].(map[string]any)["welcome_code"]
	if _, out := callJSON(t, "POST", onEvent, map[string]any{"code": lateCode, "msgtype": "text", "text": map[string]string{"content": "x"}}); errcode(out) != 40035 {
		t.Errorf("a code older than 20 s: errcode %d, want 40035 (callback %v)", errcode(out), late)
	}

	type sent struct{ API, To, Type string }
	var got []sent
	for _, m := range messagesOf(t, e, chWeCom, "") {
		got = append(got, sent{m.API, m.To, m.Type})
	}
	want := []sent{{"kf/send_msg_on_event", "wm_c1", "text"}, {"kf/send_msg", "wm_c1", "text"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded (-want +got):\n%s", diff)
	}
	resp, err := http.Get(e.ui.URL + "/api/messages?channel=wecom&api=kf/send_msg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var outbox []message
	if err := json.NewDecoder(resp.Body).Decode(&outbox); err != nil {
		t.Fatal(err)
	}
	if len(outbox) != 1 || outbox[0].To != "wm_c1" || outbox[0].API != "kf/send_msg" {
		t.Errorf("kf outbox = %+v, want the one send_msg reply", outbox)
	}
	if status, _ := callJSON(t, "POST", e.ui.URL+"/api/play/kf", map[string]string{"external_userid": "wm_c1", "open_kfid": "wk_1"}); status != 400 {
		t.Errorf("a play with neither text nor event: %d, want 400", status)
	}
}
