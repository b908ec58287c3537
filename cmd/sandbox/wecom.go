package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WeCom (企业微信) server API stand-in. Error codes and messages follow
// WeCom's global error code table; the errmsg carries a hint and a
// "more info" link as the real one does.

const (
	wecomTokenLen   = 96
	welcomeCodeLife = 20 * time.Second
	kfTokenLife     = 10 * time.Minute
	sessionWindow   = 48 * time.Hour
	kfMaxReplies    = 5
	wecomMaxUsers   = 1000
	wecomTextLimit  = 2048
)

// wxErr is a platform error code with its message, for WeCom and WeChat alike.
type wxErr struct {
	code int
	msg  string
}

func (s *sandbox) wecomHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/gettoken", s.wecomGetToken)
	mux.HandleFunc("POST /cgi-bin/message/send", s.wecomAPI(s.wecomMessageSend))
	mux.HandleFunc("POST /cgi-bin/externalcontact/send_welcome_msg", s.wecomAPI(s.wecomSendWelcome))
	mux.HandleFunc("POST /cgi-bin/externalcontact/add_msg_template", s.wecomAPI(s.wecomAddMsgTemplate))
	mux.HandleFunc("POST /cgi-bin/externalcontact/mark_tag", s.wecomAPI(s.wecomMarkTag))
	mux.HandleFunc("POST /cgi-bin/kf/sync_msg", s.wecomAPI(s.wecomKFSync))
	mux.HandleFunc("POST /cgi-bin/kf/send_msg", s.wecomAPI(s.wecomKFSend))
	mux.HandleFunc("POST /cgi-bin/kf/send_msg_on_event", s.wecomAPI(s.wecomKFOnEvent))
	return mux
}

func (s *sandbox) wecomReply(w http.ResponseWriter, r *http.Request, e *wxErr, fields map[string]any) {
	out := map[string]any{"errcode": 0, "errmsg": "ok"}
	if e != nil {
		out["errcode"] = e.code
		out["errmsg"] = fmt.Sprintf("%s, hint: [%d%s], from ip: %s, more info at https://open.work.weixin.qq.com/devtool/query?e=%d",
			e.msg, s.now().Unix(), randomString(12, digits), clientIP(r), e.code)
	}
	for k, v := range fields {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *sandbox) wecomGetToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	corpID, secret := q.Get("corpid"), q.Get("corpsecret")
	var e *wxErr
	switch {
	case corpID == "":
		e = &wxErr{41002, "corpid missing"}
	case corpID != s.cfg.WeComCorpID:
		e = &wxErr{40013, "invalid corpid"}
	case secret == "":
		e = &wxErr{41004, "corpsecret missing"}
	case secret != s.cfg.WeComSecret:
		e = &wxErr{40001, "invalid credential"}
	}
	if e != nil {
		s.wecomReply(w, r, e, nil)
		return
	}
	tok := s.issueToken(chWeCom, wecomTokenLen)
	s.wecomReply(w, r, nil, map[string]any{"access_token": tok, "expires_in": int(tokenLife.Seconds())})
}

// wecomAPI checks the access token, injects faults and rejects bodies that
// are not JSON before h sees the request.
func (s *sandbox) wecomAPI(h func(body []byte) (map[string]any, *wxErr)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch s.checkToken(chWeCom, r.URL.Query().Get("access_token")) {
		case tokenMissing:
			s.wecomReply(w, r, &wxErr{41001, "access_token missing"}, nil)
			return
		case tokenUnknown:
			s.wecomReply(w, r, &wxErr{40014, "invalid access_token"}, nil)
			return
		case tokenExpired:
			s.wecomReply(w, r, &wxErr{42001, "access_token expired"}, nil)
			return
		}
		body, err := readBody(r)
		if err != nil || !json.Valid(body) {
			s.wecomReply(w, r, &wxErr{47001, "data format error"}, nil)
			return
		}
		if s.applyFault(w, r, chWeCom, func() { s.wecomReply(w, r, &wxErr{45009, "api freq out of limit"}, nil) }, nil) {
			return
		}
		out, e := h(body)
		s.wecomReply(w, r, e, out)
	}
}

// flexString accepts a JSON string or number: the WeChat SDK sends agentid as
// a string although WeCom documents an integer, and WeCom takes both.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*f = flexString(str)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number: %w", err)
	}
	*f = flexString(n.String())
	return nil
}

type wecomSendReq struct {
	ToUser   string         `json:"touser"`
	ToParty  string         `json:"toparty"`
	ToTag    string         `json:"totag"`
	MsgType  string         `json:"msgtype"`
	AgentID  *flexString    `json:"agentid"`
	Text     *wecomContent  `json:"text"`
	TextCard *wecomTextCard `json:"textcard"`
	Markdown *wecomContent  `json:"markdown"`
	Raw      map[string]any `json:"-"`
}

type wecomContent struct {
	Content string `json:"content"`
}

type wecomTextCard struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	BtnTxt      string `json:"btntxt,omitempty"`
}

func (s *sandbox) wecomMessageSend(body []byte) (map[string]any, *wxErr) {
	var req wecomSendReq
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &wxErr{47001, "data format error"}
	}
	if req.AgentID == nil || *req.AgentID == "" {
		return nil, &wxErr{41011, "agentid missing"}
	}
	if string(*req.AgentID) != s.cfg.WeComAgentID {
		return nil, &wxErr{40056, "invalid agentid"}
	}
	recipients := splitBar(req.ToUser)
	for _, p := range splitBar(req.ToParty) {
		recipients = append(recipients, "party:"+p)
	}
	for _, t := range splitBar(req.ToTag) {
		recipients = append(recipients, "tag:"+t)
	}
	if len(recipients) == 0 {
		return nil, &wxErr{82001, "All touser & toparty & totag invalid"}
	}
	if len(splitBar(req.ToUser)) > wecomMaxUsers {
		return nil, &wxErr{40032, "invalid userid list size"}
	}
	var content any
	switch req.MsgType {
	case "text":
		if req.Text == nil || req.Text.Content == "" {
			return nil, &wxErr{44004, "empty content"}
		}
		c := *req.Text
		c.Content = truncateUTF8(c.Content, wecomTextLimit) // WeCom cuts long text instead of refusing it
		content = c
	case "textcard":
		c := req.TextCard
		switch {
		case c == nil || c.Title == "":
			return nil, &wxErr{41016, "title missing"}
		case c.Description == "":
			return nil, &wxErr{41033, "description missing"}
		case c.URL == "":
			return nil, &wxErr{41010, "url missing"}
		}
		content = *c
	case "markdown":
		if req.Markdown == nil || req.Markdown.Content == "" {
			return nil, &wxErr{44004, "empty content"}
		}
		if len(req.Markdown.Content) > wecomTextLimit {
			return nil, &wxErr{45002, "content size out of limit"}
		}
		content = *req.Markdown
	default:
		return nil, &wxErr{40008, "invalid message type"}
	}
	msgID := randomString(44, tokenChars)
	now := s.now()
	for _, to := range recipients {
		s.store.add(message{Channel: chWeCom, API: "message/send", To: to, Type: req.MsgType, Body: content, Time: now})
	}
	return map[string]any{"invaliduser": "", "invalidparty": "", "invalidtag": "", "unlicenseduser": "", "msgid": msgID}, nil
}

func splitBar(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "|") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

type welcomeReq struct {
	WelcomeCode string           `json:"welcome_code"`
	Text        wecomContent     `json:"text"`
	Attachments []map[string]any `json:"attachments"`
}

func (s *sandbox) wecomSendWelcome(body []byte) (map[string]any, *wxErr) {
	var req welcomeReq
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &wxErr{47001, "data format error"}
	}
	if req.WelcomeCode == "" || (req.Text.Content == "" && len(req.Attachments) == 0) {
		return nil, &wxErr{40063, "some parameters are empty"}
	}
	if len(req.Attachments) > 9 {
		return nil, &wxErr{40035, "invalid parameter: at most 9 attachments"}
	}
	s.mu.Lock()
	wc, ok := s.state.welcomeCodes[req.WelcomeCode]
	now := s.now()
	switch {
	case !ok:
		s.mu.Unlock()
		return nil, &wxErr{40035, "invalid welcome_code"}
	case wc.used || now.Sub(wc.issued) > welcomeCodeLife:
		s.mu.Unlock()
		// WeCom answers a spent or late code as if the customer already chatted.
		return nil, &wxErr{41051, "externaluser has started chatting"}
	}
	wc.used = true
	s.state.welcomeCodes[req.WelcomeCode] = wc
	s.mu.Unlock()
	s.store.add(message{Channel: chWeCom, API: "externalcontact/send_welcome_msg", To: wc.extID, Type: "welcome",
		Body: map[string]any{"user_id": wc.userID, "text": req.Text.Content, "attachments": req.Attachments}, Time: now})
	return nil, nil
}

type groupMsgReq struct {
	ChatType       string           `json:"chat_type"`
	ExternalUserID []string         `json:"external_userid"`
	ChatIDList     []string         `json:"chat_id_list"`
	Sender         string           `json:"sender"`
	Text           wecomContent     `json:"text"`
	Attachments    []map[string]any `json:"attachments"`
}

// shanghai is the day boundary of WeCom's one-group-message-per-day rule.
var shanghai = time.FixedZone("CST", 8*3600)

func (s *sandbox) wecomAddMsgTemplate(body []byte) (map[string]any, *wxErr) {
	var req groupMsgReq
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &wxErr{47001, "data format error"}
	}
	if req.Text.Content == "" && len(req.Attachments) == 0 {
		return nil, &wxErr{40063, "some parameters are empty"}
	}
	now := s.now()
	body2 := map[string]any{"sender": req.Sender, "text": req.Text.Content, "attachments": req.Attachments}
	msgID := "msg" + randomString(27, tokenChars)
	switch req.ChatType {
	case "", "single":
		if len(req.ExternalUserID) == 0 && req.Sender == "" {
			return nil, &wxErr{40063, "some parameters are empty"}
		}
		fail := []string{}
		day := now.In(shanghai).Format(time.DateOnly)
		s.mu.Lock()
		var accepted []string
		for _, ext := range req.ExternalUserID {
			if s.state.groupSends[ext] == day {
				fail = append(fail, ext)
				continue
			}
			pruneOldest(s.state.groupSends, maxEntries)
			s.state.groupSends[ext] = day
			accepted = append(accepted, ext)
		}
		s.mu.Unlock()
		if len(req.ExternalUserID) == 0 {
			accepted = []string{"customers-of:" + req.Sender}
		}
		for _, ext := range accepted {
			s.store.add(message{Channel: chWeCom, API: "externalcontact/add_msg_template", To: ext, Type: "group_msg", Body: body2, Time: now})
		}
		return map[string]any{"fail_list": fail, "msgid": msgID}, nil
	case "group":
		if len(req.ChatIDList) == 0 && req.Sender == "" {
			return nil, &wxErr{40063, "some parameters are empty"}
		}
		for _, chat := range req.ChatIDList {
			s.store.add(message{Channel: chWeCom, API: "externalcontact/add_msg_template", To: chat, Type: "group_msg", Body: body2, Time: now})
		}
		return map[string]any{"fail_list": []string{}, "msgid": msgID}, nil
	}
	return nil, &wxErr{40035, "invalid parameter: chat_type must be single or group"}
}

type markTagReq struct {
	UserID         string   `json:"userid"`
	ExternalUserID string   `json:"external_userid"`
	AddTag         []string `json:"add_tag"`
	RemoveTag      []string `json:"remove_tag"`
}

func (s *sandbox) wecomMarkTag(body []byte) (map[string]any, *wxErr) {
	var req markTagReq
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &wxErr{47001, "data format error"}
	}
	switch {
	case req.UserID == "":
		return nil, &wxErr{41009, "userid missing"}
	case req.ExternalUserID == "":
		return nil, &wxErr{40096, "invalid external userid"}
	case len(req.AddTag) == 0 && len(req.RemoveTag) == 0:
		return nil, &wxErr{41017, "tagid missing"}
	}
	for _, t := range append(append([]string{}, req.AddTag...), req.RemoveTag...) {
		if strings.TrimSpace(t) == "" {
			return nil, &wxErr{40068, "invalid tagid"}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.state.tags[req.ExternalUserID]
	if set == nil {
		pruneOldest(s.state.tags, maxEntries)
		set = map[string]bool{}
		s.state.tags[req.ExternalUserID] = set
	}
	for _, t := range req.AddTag {
		set[t] = true
	}
	for _, t := range req.RemoveTag {
		delete(set, t)
	}
	return nil, nil
}

// tagsOf lists the tags mark_tag left on a customer, for the control API.
func (s *sandbox) tagsOf(extID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for t := range s.state.tags[extID] {
		out = append(out, t)
	}
	sortStrings(out)
	return out
}

type kfSyncReq struct {
	Cursor   string `json:"cursor"`
	Token    string `json:"token"`
	Limit    int    `json:"limit"`
	OpenKFID string `json:"open_kfid"`
}

func (s *sandbox) wecomKFSync(body []byte) (map[string]any, *wxErr) {
	var req kfSyncReq
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &wxErr{47001, "data format error"}
	}
	if req.Limit <= 0 || req.Limit > 1000 {
		req.Limit = 1000
	}
	var after uint64
	if req.Cursor != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(req.Cursor, "kfc"), 36, 64)
		if err != nil || !strings.HasPrefix(req.Cursor, "kfc") {
			return nil, &wxErr{40035, "invalid parameter: cursor"}
		}
		after = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if req.Token != "" {
		t, ok := s.state.kfTokens[req.Token]
		if !ok || now.After(t.expires) {
			return nil, &wxErr{95007, "invalid msg token"}
		}
	}
	list := []map[string]any{}
	next := after
	hasMore := 0
	for _, m := range s.state.kfMsgs {
		if m.seq <= after {
			continue
		}
		if len(list) == req.Limit {
			hasMore = 1
			break
		}
		next = m.seq
		if req.OpenKFID != "" && kfAccountOf(m.body) != req.OpenKFID {
			continue
		}
		list = append(list, m.body)
	}
	return map[string]any{"next_cursor": "kfc" + strconv.FormatUint(next, 36), "has_more": hasMore, "msg_list": list}, nil
}

type kfSendReq struct {
	ToUser   string        `json:"touser"`
	OpenKFID string        `json:"open_kfid"`
	MsgID    string        `json:"msgid"`
	MsgType  string        `json:"msgtype"`
	Text     *wecomContent `json:"text"`
}

var kfMsgTypes = map[string]bool{"text": true, "image": true, "voice": true, "video": true, "file": true,
	"link": true, "miniprogram": true, "msgmenu": true, "location": true, "ca_link": true}

func (s *sandbox) wecomKFSend(body []byte) (map[string]any, *wxErr) {
	var req kfSendReq
	var raw map[string]any
	if json.Unmarshal(body, &req) != nil || json.Unmarshal(body, &raw) != nil {
		return nil, &wxErr{47001, "data format error"}
	}
	switch {
	case !kfMsgTypes[req.MsgType]:
		return nil, &wxErr{40008, "invalid message type"}
	case req.MsgType == "text" && (req.Text == nil || req.Text.Content == ""):
		return nil, &wxErr{44004, "empty content"}
	case req.MsgType != "text" && raw[req.MsgType] == nil:
		return nil, &wxErr{40063, "some parameters are empty"}
	case req.ToUser == "":
		return nil, &wxErr{40096, "invalid external userid"}
	}
	s.mu.Lock()
	if !s.state.kfAccounts[req.OpenKFID] {
		s.mu.Unlock()
		return nil, &wxErr{95000, "invalid open_kfid"}
	}
	now := s.now()
	sess := s.state.kfSessions[req.OpenKFID+"/"+req.ToUser]
	if sess == nil || now.Sub(sess.lastCustomer) > sessionWindow {
		s.mu.Unlock()
		return nil, &wxErr{95018, "send msg session status invalid"}
	}
	if sess.sentSince >= kfMaxReplies {
		s.mu.Unlock()
		return nil, &wxErr{95001, "send msg count limit"}
	}
	sess.sentSince++
	s.mu.Unlock()
	if req.MsgID == "" {
		req.MsgID = randomString(32, alnum)
	}
	s.store.add(message{Channel: chWeCom, API: "kf/send_msg", To: req.ToUser, Type: req.MsgType,
		Body: map[string]any{"open_kfid": req.OpenKFID, req.MsgType: raw[req.MsgType]}, Time: now})
	return map[string]any{"msgid": req.MsgID}, nil
}
