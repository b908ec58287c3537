package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestEndToEndKF plays a 微信客服 customer in the sandbox: the session's
// welcome goes out through send_msg_on_event, and a keyword the shipped
// webinar script listens for is answered inside the session through
// kf/send_msg, all pulled with kf/sync_msg after the kf_msg_or_event
// callback.
func TestEndToEndKF(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and starts processes")
	}
	s := startStackWith(t, "DIALOGS_DIR=../../configs/dialogs")
	const kfid, customer = "wk_demo", "wmKfE2E1"

	s.call(http.MethodPost, s.sandbox+"/api/play/kf", map[string]string{"external_userid": customer, "open_kfid": kfid, "event": "enter_session", "scene": "expo"}, 200, nil)
	s.eventually("the kf welcome", func() bool { return len(s.kfOutbox("kf/send_msg_on_event", customer)) == 1 })
	welcome := s.kfOutbox("kf/send_msg_on_event", customer)[0]
	if !strings.Contains(welcome.text(t), "专属顾问") || welcome.OpenKFID != kfid {
		t.Errorf("welcome = %+v, want the welcome template's text for %s", welcome, kfid)
	}

	s.call(http.MethodPost, s.sandbox+"/api/play/kf", map[string]string{"external_userid": customer, "open_kfid": kfid, "text": "想报名研讨会"}, 200, nil)
	s.eventually("the script's reply in the kf outbox", func() bool { return len(s.kfOutbox("kf/send_msg", customer)) > 0 })
	reply := s.kfOutbox("kf/send_msg", customer)[0]
	if !strings.Contains(reply.text(t), "私域增长实战研讨会") || reply.OpenKFID != kfid {
		t.Errorf("reply = %+v, want the webinar invitation in session %s", reply, kfid)
	}

	var contact struct {
		ID     string            `json:"id"`
		Fields map[string]string `json:"fields"`
	}
	s.call(http.MethodGet, s.gateway+"/api/v1/contacts/lookup?channel=wecom&id="+customer, nil, 200, &contact)
	var timeline struct {
		Entries []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"entries"`
	}
	s.call(http.MethodGet, s.gateway+"/api/v1/contacts/"+contact.ID+"/timeline", nil, 200, &timeline)
	var messages []string
	for _, e := range timeline.Entries {
		if e.Type == "message" {
			messages = append(messages, e.Text)
		}
	}
	if len(messages) != 1 || messages[0] != "想报名研讨会" || contact.Fields["wecom_kf_open_kfid"] != kfid {
		t.Errorf("contact %s: customer messages %q, fields %v; want the one message, in session %s", contact.ID, messages, contact.Fields, kfid)
	}
}

// kfSent is a message the sandbox's 微信客服 received from the gateway.
type kfSent struct {
	To       string
	OpenKFID string
	Body     map[string]json.RawMessage
}

func (k kfSent) text(t *testing.T) string {
	var c struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(k.Body["text"], &c); err != nil {
		t.Fatalf("kf message body %s: %v", k.Body["text"], err)
	}
	return c.Content
}

// kfOutbox lists what the sandbox's 微信客服 got through api for to.
func (s *stack) kfOutbox(api, to string) []kfSent {
	var got []received
	s.call(http.MethodGet, s.sandbox+"/api/messages?channel=wecom&api="+api+"&to="+to, nil, 200, &got)
	out := make([]kfSent, 0, len(got))
	for _, r := range got {
		k := kfSent{To: r.To}
		if err := json.Unmarshal(r.Body, &k.Body); err != nil {
			s.t.Fatalf("sandbox message body %s: %v", r.Body, err)
		}
		_ = json.Unmarshal(k.Body["open_kfid"], &k.OpenKFID)
		out = append(out, k)
	}
	return out
}
