package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// 微信客服 (WeCom customer service) stand-in beyond sync_msg and send_msg:
// playing a customer who enters a session or writes, and the session
// welcome through send_msg_on_event.

// playKF is a played 微信客服 customer: a text, or entering the session
// through a 客服 link (event enter_session, with a scene).
type playKF struct {
	ExternalUserID string `json:"external_userid"`
	OpenKFID       string `json:"open_kfid"`
	Text           string `json:"text"`
	Event          string `json:"event"`
	Scene          string `json:"scene"`
	SceneParam     string `json:"scene_param"`
}

// kfWelcome is a welcome code an enter_session event handed out.
type kfWelcome struct {
	issued          time.Time
	used            bool
	openKFID, extID string
}

// playKF stores the customer's message or event for sync_msg, then sends
// the kf_msg_or_event callback that tells the gateway to pull.
func (s *sandbox) playKF(p playKF) (playResult, error) {
	switch {
	case p.ExternalUserID == "" || p.OpenKFID == "":
		return playResult{}, fmt.Errorf("%w: a 微信客服 play needs external_userid and open_kfid", ErrBadRequest)
	case p.Event == "" && p.Text == "":
		return playResult{}, fmt.Errorf("%w: give text, or event enter_session", ErrBadRequest)
	case p.Event != "" && p.Event != "enter_session":
		return playResult{}, fmt.Errorf("%w: event %q; the sandbox plays enter_session", ErrBadRequest, p.Event)
	}
	now := s.now()
	extra := map[string]any{}
	var token string
	if p.Event == "" {
		token = s.queueKF(playWeCom{ExternalUserID: p.ExternalUserID, OpenKFID: p.OpenKFID, Text: p.Text}, now)
	} else {
		var code string
		token, code = s.queueKFEnter(p, now)
		extra["welcome_code"] = code
	}
	extra["token"] = token
	fields := [][2]string{{"ToUserName", s.cfg.WeComCorpID}, {"CreateTime", strconv.FormatInt(now.Unix(), 10)},
		{"MsgType", "event"}, {"Event", "kf_msg_or_event"}, {"Token", token}, {"OpenKfId", p.OpenKFID}}
	res, err := s.sendWeCom(xmlDoc(fields...), "play_kf")
	res.Extra = extra
	return res, err
}

// queueKFEnter stores an enter_session event with a fresh welcome code.
// Entering opens no reply window: only the customer's own message does.
func (s *sandbox) queueKFEnter(p playKF, now time.Time) (token, code string) {
	code = randomString(32, alnum)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.kfSeq++
	if len(s.state.kfMsgs) >= maxKFMessages {
		s.state.kfMsgs = append(s.state.kfMsgs[:0], s.state.kfMsgs[1:]...)
	}
	s.state.kfMsgs = append(s.state.kfMsgs, kfMessage{seq: s.state.kfSeq, body: map[string]any{
		"msgid": "event_msgid_" + randomString(19, digits), "send_time": now.Unix(), "origin": 4, "msgtype": "event",
		"event": map[string]any{"event_type": "enter_session", "open_kfid": p.OpenKFID, "external_userid": p.ExternalUserID,
			"scene": p.Scene, "scene_param": p.SceneParam, "welcome_code": code},
	}})
	if !s.state.kfAccounts[p.OpenKFID] {
		pruneOldest(s.state.kfAccounts, maxEntries)
		s.state.kfAccounts[p.OpenKFID] = true
	}
	pruneOldest(s.state.kfWelcomes, maxEntries)
	s.state.kfWelcomes[code] = kfWelcome{issued: now, openKFID: p.OpenKFID, extID: p.ExternalUserID}
	pruneOldest(s.state.kfTokens, maxEntries)
	token = "ENC" + randomString(40, alnum)
	s.state.kfTokens[token] = kfToken{openKFID: p.OpenKFID, expires: now.Add(kfTokenLife)}
	return token, code
}

type kfOnEventReq struct {
	Code    string        `json:"code"`
	MsgID   string        `json:"msgid"`
	MsgType string        `json:"msgtype"`
	Text    *wecomContent `json:"text"`
}

// wecomKFOnEvent is kf/send_msg_on_event: the welcome code works once,
// within 20 s of the event, for a text or a menu.
func (s *sandbox) wecomKFOnEvent(body []byte) (map[string]any, *wxErr) {
	var req kfOnEventReq
	var raw map[string]any
	if json.Unmarshal(body, &req) != nil || json.Unmarshal(body, &raw) != nil {
		return nil, &wxErr{47001, "data format error"}
	}
	switch {
	case req.Code == "":
		return nil, &wxErr{40063, "some parameters are empty"}
	case req.MsgType != "text" && req.MsgType != "msgmenu":
		return nil, &wxErr{40008, "invalid message type"}
	case req.MsgType == "text" && (req.Text == nil || req.Text.Content == ""):
		return nil, &wxErr{44004, "empty content"}
	case req.MsgType == "msgmenu" && raw["msgmenu"] == nil:
		return nil, &wxErr{40063, "some parameters are empty"}
	}
	s.mu.Lock()
	wc, ok := s.state.kfWelcomes[req.Code]
	now := s.now()
	if !ok || wc.used || now.Sub(wc.issued) > welcomeCodeLife {
		s.mu.Unlock()
		return nil, &wxErr{40035, "invalid parameter: code is unknown, used or older than 20 s"}
	}
	wc.used = true
	s.state.kfWelcomes[req.Code] = wc
	s.mu.Unlock()
	if req.MsgID == "" {
		req.MsgID = randomString(32, alnum)
	}
	s.store.add(message{Channel: chWeCom, API: "kf/send_msg_on_event", To: wc.extID, Type: req.MsgType,
		Body: map[string]any{"open_kfid": wc.openKFID, req.MsgType: raw[req.MsgType]}, Time: now})
	return map[string]any{"msgid": req.MsgID}, nil
}

// kfAccountOf is the account a stored entry belongs to: events carry it
// inside their event object only, as WeCom's do.
func kfAccountOf(body map[string]any) any {
	if ev, ok := body["event"].(map[string]any); ok {
		return ev["open_kfid"]
	}
	return body["open_kfid"]
}
