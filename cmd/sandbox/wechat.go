package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// WeChat official-account API stand-in. Codes and messages follow WeChat's
// global return codes; every errmsg ends with a request id as WeChat's do.

const (
	wechatTokenLen    = 136
	customWindow      = 48 * time.Hour
	customMaxReplies  = 20
	templateEventKind = "template_send_finished"
)

func (s *sandbox) wechatHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", s.wechatToken)
	mux.HandleFunc("POST /cgi-bin/stable_token", s.wechatStableToken)
	mux.HandleFunc("POST /cgi-bin/message/custom/send", s.wechatAPI(s.wechatCustomSend))
	mux.HandleFunc("POST /cgi-bin/message/template/send", s.wechatAPI(s.wechatTemplateSend))
	return mux
}

func (s *sandbox) wechatReply(w http.ResponseWriter, e *wxErr, fields map[string]any) {
	out := map[string]any{"errcode": 0, "errmsg": "ok"}
	if e != nil {
		out["errcode"] = e.code
		out["errmsg"] = fmt.Sprintf("%s rid: %s-%s-%s", e.msg, randomString(8, hexDigits), randomString(8, hexDigits), randomString(8, hexDigits))
	}
	for k, v := range fields {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

// wechatCredentials checks an app id and secret the way /cgi-bin/token does.
func (s *sandbox) wechatCredentials(grantType, appID, secret string) *wxErr {
	switch {
	case grantType != "client_credential":
		return &wxErr{40002, "invalid grant_type"}
	case appID == "":
		return &wxErr{41002, "appid missing"}
	case appID != s.cfg.WeChatAppID:
		return &wxErr{40013, "invalid appid"}
	case secret == "":
		return &wxErr{41004, "appsecret missing"}
	case secret != s.cfg.WeChatAppSecret:
		return &wxErr{40125, "invalid appsecret"}
	}
	return nil
}

func (s *sandbox) wechatToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := s.wechatCredentials(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); e != nil {
		s.wechatReply(w, e, nil)
		return
	}
	tok := s.issueToken(chOA, wechatTokenLen)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int(tokenLife.Seconds())})
}

type stableTokenReq struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// wechatStableToken returns the same token while it lives unless
// force_refresh is set, which is what makes it "stable".
func (s *sandbox) wechatStableToken(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	var req stableTokenReq
	if err != nil || json.Unmarshal(body, &req) != nil {
		s.wechatReply(w, &wxErr{47001, "data format error"}, nil)
		return
	}
	if e := s.wechatCredentials(req.GrantType, req.AppID, req.Secret); e != nil {
		s.wechatReply(w, e, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	tok := s.state.stableToken
	exp, ok := s.state.tokens[chOA][tok]
	if req.ForceRefresh || tok == "" || !ok || !now.Before(exp) {
		tok = s.issueTokenLocked(chOA, wechatTokenLen)
		s.state.stableToken = tok
		exp = s.state.tokens[chOA][tok]
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int(exp.Sub(now).Seconds())})
}

func (s *sandbox) wechatAPI(h func(body []byte) (map[string]any, *wxErr)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("access_token")
		switch s.checkToken(chOA, tok) {
		case tokenMissing:
			s.wechatReply(w, &wxErr{41001, "access_token missing"}, nil)
			return
		case tokenUnknown:
			if len(tok) != wechatTokenLen {
				s.wechatReply(w, &wxErr{40014, "invalid access_token"}, nil)
			} else {
				s.wechatReply(w, &wxErr{40001, "invalid credential, access_token is invalid or not latest"}, nil)
			}
			return
		case tokenExpired:
			s.wechatReply(w, &wxErr{42001, "access_token expired"}, nil)
			return
		}
		body, err := readBody(r)
		if err != nil || !json.Valid(body) {
			s.wechatReply(w, &wxErr{47001, "data format error"}, nil)
			return
		}
		if s.applyFault(w, r, chOA, func() { s.wechatReply(w, &wxErr{45009, "reach max api daily quota limit"}, nil) }, nil) {
			return
		}
		out, e := h(body)
		s.wechatReply(w, e, out)
	}
}

type customReq struct {
	ToUser  string        `json:"touser"`
	MsgType string        `json:"msgtype"`
	Text    *wecomContent `json:"text"`
	News    *struct {
		Articles []map[string]any `json:"articles"`
	} `json:"news"`
	Image *struct {
		MediaID string `json:"media_id"`
	} `json:"image"`
}

func (s *sandbox) wechatCustomSend(body []byte) (map[string]any, *wxErr) {
	var req customReq
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &wxErr{47001, "data format error"}
	}
	var content any
	switch req.MsgType {
	case "text":
		if req.Text == nil || req.Text.Content == "" {
			return nil, &wxErr{44004, "empty content"}
		}
		content = *req.Text
	case "news":
		if req.News == nil || len(req.News.Articles) == 0 {
			return nil, &wxErr{44003, "empty news data"}
		}
		if len(req.News.Articles) > 1 {
			return nil, &wxErr{45008, "article size out of limit"}
		}
		content = map[string]any{"articles": req.News.Articles}
	case "image":
		if req.Image == nil || req.Image.MediaID == "" {
			return nil, &wxErr{40007, "invalid media_id"}
		}
		content = *req.Image
	default:
		return nil, &wxErr{40008, "invalid message type"}
	}
	if req.ToUser == "" {
		return nil, &wxErr{40003, "invalid openid"}
	}
	s.mu.Lock()
	f := s.state.followers[req.ToUser]
	now := s.now()
	switch {
	case f != nil && f.unsubscribed:
		s.mu.Unlock()
		return nil, &wxErr{43004, "require subscribe"}
	case f == nil || now.Sub(f.lastInteraction) > customWindow:
		s.mu.Unlock()
		return nil, &wxErr{45015, "response out of time limit or subscription is canceled"}
	case f.sentSince >= customMaxReplies:
		s.mu.Unlock()
		return nil, &wxErr{45047, "out of response count limit"}
	}
	f.sentSince++
	s.mu.Unlock()
	s.store.add(message{Channel: chOA, API: "message/custom/send", To: req.ToUser, Type: req.MsgType, Body: content, Time: now})
	return nil, nil
}

type templateReq struct {
	ToUser      string                     `json:"touser"`
	TemplateID  string                     `json:"template_id"`
	URL         string                     `json:"url"`
	Data        map[string]json.RawMessage `json:"data"`
	ClientMsgID string                     `json:"client_msg_id"`
}

type templateItem struct {
	Value *string `json:"value"`
	Color string  `json:"color,omitempty"`
}

func (s *sandbox) wechatTemplateSend(body []byte) (map[string]any, *wxErr) {
	var req templateReq
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &wxErr{47001, "data format error"}
	}
	switch {
	case req.ToUser == "":
		return nil, &wxErr{40003, "invalid openid"}
	case req.TemplateID == "":
		return nil, &wxErr{40037, "invalid template_id"}
	case len(req.Data) == 0:
		return nil, &wxErr{47003, "argument invalid! data is empty"}
	}
	fields := map[string]string{}
	for k, raw := range req.Data {
		var it templateItem
		if json.Unmarshal(raw, &it) != nil || it.Value == nil {
			return nil, &wxErr{47003, fmt.Sprintf("argument invalid! data.%s.value invalid", k)}
		}
		fields[k] = *it.Value
	}
	s.mu.Lock()
	if f := s.state.followers[req.ToUser]; f != nil && f.unsubscribed {
		s.mu.Unlock()
		return nil, &wxErr{43004, "require subscribe"}
	}
	s.state.nextMsgID++
	msgID := s.state.nextMsgID
	s.mu.Unlock()
	now := s.now()
	s.store.add(message{Channel: chOA, API: "message/template/send", To: req.ToUser, Type: "template",
		Body: map[string]any{"template_id": req.TemplateID, "url": req.URL, "data": fields, "msgid": msgID}, Time: now})
	if s.cfg.GatewayURL != "" {
		s.goBackground(func() {
			if s.sleepCtx(s.cfg.ReportDelay) {
				s.sendTemplateFinished(req.ToUser, msgID)
			}
		})
	}
	return map[string]any{"msgid": msgID}, nil
}
