package wecom

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

// kfPageAnswer is a sync_msg answer as WeCom documents it: a customer's
// text, an image, an enter_session event with a welcome code, a servicer's
// message and one entry without a msgid.
const kfPageAnswer = `{"errcode":0,"errmsg":"ok","next_cursor":"4gw7MepFLfgF2VC5npN","has_more":1,"msg_list":[
 {"msgid":"from_msgid_4622416642169452483","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","send_time":1615478585,"origin":3,"msgtype":"text","text":{"content":"你好 研讨会"}},
 {"msgid":"from_msgid_2","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","send_time":1615478590,"origin":3,"msgtype":"image","image":{"media_id":"2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"}},
 {"msgid":"ev_1","send_time":1615478600,"origin":4,"msgtype":"event","event":{"event_type":"enter_session","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","scene":"expo","scene_param":"booth%2012","welcome_code":"aaaaaa"}},
 {"msgid":"sv_1","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","send_time":1615478700,"origin":5,"servicer_userid":"zhangsan","msgtype":"text","text":{"content":"稍等"}},
 {"open_kfid":"wk1","origin":3,"msgtype":"text","text":{"content":"no id"}}
]}`

const kfLastPage = `{"errcode":0,"errmsg":"ok","next_cursor":"c2","has_more":0,"msg_list":[]}`

func TestSyncKF(t *testing.T) {
	kfid, ext := "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q", "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
	firstPage := KFPage{NextCursor: "4gw7MepFLfgF2VC5npN", HasMore: true, Messages: []KFMessage{
		{MsgID: "from_msgid_4622416642169452483", OpenKFID: kfid, ExternalUserID: ext, SendTime: time.Unix(1615478585, 0).UTC(), Origin: KFOriginCustomer, MsgType: "text", Text: "你好 研讨会"},
		{MsgID: "from_msgid_2", OpenKFID: kfid, ExternalUserID: ext, SendTime: time.Unix(1615478590, 0).UTC(), Origin: KFOriginCustomer, MsgType: "image", Text: "[image]"},
		{MsgID: "ev_1", OpenKFID: kfid, ExternalUserID: ext, SendTime: time.Unix(1615478600, 0).UTC(), Origin: KFOriginEvent, MsgType: "event",
			Event: &KFEvent{Type: "enter_session", OpenKFID: kfid, ExternalUserID: ext, Scene: "expo", SceneParam: "booth%2012", WelcomeCode: "aaaaaa"}},
		{MsgID: "sv_1", OpenKFID: kfid, ExternalUserID: ext, SendTime: time.Unix(1615478700, 0).UTC(), Origin: KFOriginServicer, MsgType: "text", Text: "稍等"},
	}, Skipped: []string{"entry 4: no msgid"}}
	body := func(kv ...any) map[string]any {
		m := map[string]any{"limit": 1000.0, "voice_format": 0.0}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name      string
		req       KFSyncRequest
		answers   []string
		want      KFPage
		wantErr   *sendErr
		wantCalls []map[string]any
	}{
		{
			name:      "first pull with the callback token",
			req:       KFSyncRequest{Token: "ENCxyz", OpenKFID: kfid},
			answers:   []string{kfPageAnswer},
			want:      firstPage,
			wantCalls: []map[string]any{body("token", "ENCxyz", "open_kfid", kfid)},
		},
		{
			name:      "next page from the cursor, a smaller limit",
			req:       KFSyncRequest{Cursor: "4gw7MepFLfgF2VC5npN", OpenKFID: kfid, Limit: 50},
			answers:   []string{kfLastPage},
			want:      KFPage{NextCursor: "c2", Messages: []KFMessage{}},
			wantCalls: []map[string]any{body("cursor", "4gw7MepFLfgF2VC5npN", "open_kfid", kfid, "limit", 50.0)},
		},
		{
			name:      "an expired callback token: asked again without it",
			req:       KFSyncRequest{Cursor: "c1", Token: "ENCold", OpenKFID: kfid},
			answers:   []string{weComError(95007), kfLastPage},
			want:      KFPage{NextCursor: "c2", Messages: []KFMessage{}},
			wantCalls: []map[string]any{body("cursor", "c1", "token", "ENCold", "open_kfid", kfid), body("cursor", "c1", "open_kfid", kfid)},
		},
		{
			name:      "rate limited: transient",
			req:       KFSyncRequest{OpenKFID: kfid},
			answers:   []string{weComError(45009)},
			wantErr:   &sendErr{channels.Transient, "45009"},
			wantCalls: []map[string]any{body("open_kfid", kfid)},
		},
		{
			name:      "an unknown account: permanent",
			req:       KFSyncRequest{OpenKFID: "wk-gone"},
			answers:   []string{weComError(95004)},
			wantErr:   &sendErr{channels.Permanent, "95004"},
			wantCalls: []map[string]any{body("open_kfid", "wk-gone")},
		},
		{
			name:      "a proxy's error page: transient, nothing to store",
			req:       KFSyncRequest{OpenKFID: kfid},
			answers:   []string{"<html>502 Bad Gateway</html>"},
			wantErr:   &sendErr{Kind: channels.Transient},
			wantCalls: []map[string]any{body("open_kfid", kfid)},
		},
	}
	s, st := senderAndStandIn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st.answer("/cgi-bin/kf/sync_msg", tt.answers...)
			got, err := s.SyncKF(t.Context(), tt.req)
			if tt.wantErr != nil {
				if diff := cmp.Diff(*tt.wantErr, asSendErr(t, err)); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("page (-want +got):\n%s", diff)
			}
			calls, _ := st.taken()
			var bodies []map[string]any
			for _, c := range calls {
				if c.Method != "POST" || c.Path != "/cgi-bin/kf/sync_msg" || c.Query != "access_token=TOKEN-1" {
					t.Errorf("call %s %s?%s, want POST /cgi-bin/kf/sync_msg?access_token=TOKEN-1", c.Method, c.Path, c.Query)
				}
				bodies = append(bodies, c.Body)
			}
			if diff := cmp.Diff(tt.wantCalls, bodies); diff != "" {
				t.Errorf("request bodies (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKFWelcomeGoesThroughSendMsgOnEvent(t *testing.T) {
	s, st := senderAndStandIn(t)
	got, err := s.Send(t.Context(), &channels.Outbound{ID: "m1", Kind: channels.KindWeComKF, To: "wm1", OpenKFID: "wk1", WelcomeCode: "WC-1", Text: "欢迎咨询"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(channels.Receipt{PlatformID: "kf-welcome-1", Kind: channels.KindWeComKF}, got); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}
	calls, _ := st.taken()
	want := []apiCall{{Method: "POST", Path: "/cgi-bin/kf/send_msg_on_event", Query: "access_token=TOKEN-1",
		Body: map[string]any{"code": "WC-1", "msgtype": "text", "text": map[string]any{"content": "欢迎咨询"}}}}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestDecodeKFPageRefusesWhatCouldLoseMessages(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not JSON", `<xml/>`},
		{"no errcode", `{"next_cursor":"c","has_more":0,"msg_list":[]}`},
		{"has_more out of range", `{"errcode":0,"next_cursor":"c","has_more":2,"msg_list":[]}`},
		{"messages but no cursor", `{"errcode":0,"has_more":0,"msg_list":[{"msgid":"m","msgtype":"text","origin":3,"external_userid":"wm"}]}`},
		{"more but no cursor", `{"errcode":0,"has_more":1,"msg_list":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if page, err := decodeKFPage([]byte(tt.body)); err == nil {
				t.Fatalf("decoded %+v, want an error", page)
			}
		})
	}
	_, err := decodeKFPage([]byte(weComError(95007)))
	if code, ok := errcodeOf(err); !ok || code != 95007 {
		t.Fatalf("an errcode answer = %v, want the SDK's CommonError with 95007", err)
	}
	if !errors.Is(classify(apiKFSync, err), ErrRejected) {
		t.Errorf("a classified errcode answer does not wrap ErrRejected")
	}
}

// FuzzDecodeKFPage feeds arbitrary sync_msg answers to the decoder: it
// never panics, and a page it accepts holds only entries the puller can
// de-duplicate (a msgid) and, for customers, attribute (an external_userid).
func FuzzDecodeKFPage(f *testing.F) {
	f.Add([]byte(kfPageAnswer))
	f.Add([]byte(kfLastPage))
	f.Add([]byte(weComError(95007)))
	f.Add([]byte(`{"errcode":0,"next_cursor":"c","has_more":1,"msg_list":[1,"x",null,{"msgid":"m","msgtype":"event","event":{}}]}`))
	f.Add([]byte(`{"errcode":0,"next_cursor":"c","has_more":0,"msg_list":[{"msgid":"m","msgtype":"location","origin":3,"external_userid":"wm","send_time":-1}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := decodeKFPage(body)
		if err != nil {
			return
		}
		if page.NextCursor == "" && (page.HasMore || len(page.Messages) > 0) {
			t.Fatalf("accepted a page with messages or more to come but no cursor: %+v", page)
		}
		for _, m := range page.Messages {
			if m.MsgID == "" || m.MsgType == "" {
				t.Fatalf("accepted an entry without msgid or msgtype: %+v", m)
			}
			if m.Origin == KFOriginCustomer && m.ExternalUserID == "" {
				t.Fatalf("accepted a customer message without external_userid: %+v", m)
			}
			if m.MsgType == "event" && (m.Event == nil || m.Event.Type == "") {
				t.Fatalf("accepted an event without a type: %+v", m)
			}
		}
	})
}
