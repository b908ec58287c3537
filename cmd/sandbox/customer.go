package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The sandbox as a customer: it builds the XML the platforms push, signs and
// encrypts it with its own crypto, sends it to the gateway and checks the answer.

const callbackAttempts = 3 // WeChat and WeCom retry a callback that gets no answer in 5 s

// callGateway makes one request with the platforms' 5 s answer limit.
func (s *sandbox) callGateway(method, target, contentType string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("build request to %s: %w", target, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "Mozilla/4.0 (journeygate sandbox)")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: no answer from %s within the platform limit of %v: %v", ErrGateway, target, s.cfg.CallbackTimeout, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%w: reading the answer from %s: %v", ErrGateway, target, err)
	}
	return resp.StatusCode, b, nil
}

// deliver sends a callback like the platforms do: up to three attempts while
// the gateway does not answer, none after it answered with any status.
func (s *sandbox) deliver(kind, method, target string, body []byte) (callbackRecord, []byte, error) {
	rec := callbackRecord{Time: s.now(), Kind: kind, URL: target}
	var resp []byte
	var err error
	for rec.Attempts < callbackAttempts {
		rec.Attempts++
		rec.Status, resp, err = s.callGateway(method, target, "text/xml", body)
		if err == nil || s.ctx.Err() != nil {
			break
		}
	}
	if err == nil && rec.Status != http.StatusOK {
		err = fmt.Errorf("%w: HTTP %d from %s; the platform treats that as a failed push", ErrGateway, rec.Status, target)
	}
	rec.Response = string(resp)
	if err != nil {
		rec.Error = err.Error()
	}
	s.recordCallback(rec)
	return rec, resp, err
}

// cdata wraps s in CDATA, splitting any "]]>" the text contains.
func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

// xmlDoc renders flat fields in order; numbers go bare, text in CDATA, as the platforms write them.
func xmlDoc(fields ...[2]string) string {
	var b strings.Builder
	b.WriteString("<xml>")
	for _, f := range fields {
		v := f[1]
		if _, err := strconv.ParseInt(v, 10, 64); err != nil || f[0] == "Content" {
			v = cdata(v)
		}
		b.WriteString("<" + f[0] + ">" + v + "</" + f[0] + ">")
	}
	b.WriteString("</xml>")
	return b.String()
}

// playOA is a played official-account interaction.
type playOA struct {
	OpenID string `json:"openid"`
	Text   string `json:"text"`
	Event  string `json:"event"` // subscribe, unsubscribe, SCAN, CLICK, VIEW; empty with text for a message
	Scene  string `json:"scene"`
	Key    string `json:"key"`
	URL    string `json:"url"`
}

// playResult tells the caller what was sent and what the gateway answered.
type playResult struct {
	Sent     string         `json:"sent"`
	Callback callbackRecord `json:"callback"`
	Reply    *passiveReply  `json:"reply,omitempty"`
	Extra    map[string]any `json:"extra,omitempty"`
}

func (s *sandbox) playOfficialAccount(p playOA) (playResult, error) {
	if p.OpenID == "" {
		return playResult{}, fmt.Errorf("%w: openid is required", ErrBadRequest)
	}
	now := s.now()
	ts := strconv.FormatInt(now.Unix(), 10)
	fields := [][2]string{{"ToUserName", s.cfg.WeChatOriginalID}, {"FromUserName", p.OpenID}, {"CreateTime", ts}}
	event := p.Event
	switch strings.ToLower(event) {
	case "":
		if p.Text == "" {
			return playResult{}, fmt.Errorf("%w: give text, or an event (subscribe, unsubscribe, SCAN, CLICK, VIEW)", ErrBadRequest)
		}
		fields = append(fields, [2]string{"MsgType", "text"}, [2]string{"Content", p.Text},
			[2]string{"MsgId", platformMsgID()})
	case "subscribe":
		fields = append(fields, [2]string{"MsgType", "event"}, [2]string{"Event", "subscribe"})
		if p.Scene != "" {
			fields = append(fields, [2]string{"EventKey", "qrscene_" + p.Scene}, [2]string{"Ticket", randomString(64, tokenChars)})
		}
	case "unsubscribe":
		fields = append(fields, [2]string{"MsgType", "event"}, [2]string{"Event", "unsubscribe"}, [2]string{"EventKey", ""})
	case "scan":
		if p.Scene == "" {
			return playResult{}, fmt.Errorf("%w: SCAN needs scene", ErrBadRequest)
		}
		fields = append(fields, [2]string{"MsgType", "event"}, [2]string{"Event", "SCAN"}, [2]string{"EventKey", p.Scene},
			[2]string{"Ticket", randomString(64, tokenChars)})
	case "click":
		if p.Key == "" {
			return playResult{}, fmt.Errorf("%w: CLICK needs key", ErrBadRequest)
		}
		fields = append(fields, [2]string{"MsgType", "event"}, [2]string{"Event", "CLICK"}, [2]string{"EventKey", p.Key})
	case "view":
		if p.URL == "" {
			return playResult{}, fmt.Errorf("%w: VIEW needs url", ErrBadRequest)
		}
		fields = append(fields, [2]string{"MsgType", "event"}, [2]string{"Event", "VIEW"}, [2]string{"EventKey", p.URL})
	default:
		return playResult{}, fmt.Errorf("%w: unknown event %q; use subscribe, unsubscribe, SCAN, CLICK or VIEW", ErrBadRequest, event)
	}
	s.touchFollower(p.OpenID, strings.ToLower(event), now)
	return s.sendOA(p.OpenID, xmlDoc(fields...), "play_officialaccount")
}

// touchFollower records an interaction: it opens the 48-hour window, except an unfollow, which closes it.
func (s *sandbox) touchFollower(openID, event string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.state.followers[openID]
	if f == nil {
		pruneOldest(s.state.followers, maxEntries)
		f = &follower{}
		s.state.followers[openID] = f
	}
	if event == "unsubscribe" {
		*f = follower{unsubscribed: true}
		return
	}
	f.lastInteraction, f.sentSince, f.unsubscribed = now, 0, false
}

// sendOA pushes plain XML to the official-account callback, in safe mode when
// an AES key is configured, and records a passive reply as received.
func (s *sandbox) sendOA(openID, plain, kind string) (playResult, error) {
	if s.cfg.GatewayURL == "" {
		return playResult{}, fmt.Errorf("%w: no -gateway URL to send to", ErrConfig)
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := randomString(10, digits)
	q := url.Values{"signature": {wxSignature(s.cfg.WeChatToken, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "openid": {openID}}
	body := plain
	if s.wechatKey != nil {
		enc, err := encryptMsg(s.wechatKey, s.cfg.WeChatAppID, []byte(plain), nil)
		if err != nil {
			return playResult{}, err
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", wxSignature(s.cfg.WeChatToken, ts, nonce, enc))
		body = xmlDoc([2]string{"ToUserName", s.cfg.WeChatOriginalID}, [2]string{"Encrypt", enc})
	}
	rec, resp, err := s.deliver(kind, http.MethodPost, s.cfg.GatewayURL+"/callbacks/officialaccount?"+q.Encode(), []byte(body))
	res := playResult{Sent: plain, Callback: rec}
	if err != nil {
		return res, err
	}
	reply, err := decodePassiveReply(resp, s.wechatKey, s.cfg.WeChatToken, s.cfg.WeChatAppID)
	if err != nil {
		return res, err
	}
	if reply != nil {
		if reply.ToUserName != openID || reply.FromUserName != s.cfg.WeChatOriginalID {
			return res, fmt.Errorf("%w: passive reply goes from %q to %q, want from %q to %q",
				ErrGateway, reply.FromUserName, reply.ToUserName, s.cfg.WeChatOriginalID, openID)
		}
		res.Reply = reply
		s.store.add(message{Channel: chOA, API: "passive_reply", To: openID, Type: reply.MsgType, Body: reply, Time: s.now()})
	}
	return res, nil
}

// sendTemplateFinished pushes TEMPLATESENDJOBFINISH as WeChat does after a template message.
func (s *sandbox) sendTemplateFinished(openID string, msgID int64) {
	plain := xmlDoc([2]string{"ToUserName", s.cfg.WeChatOriginalID}, [2]string{"FromUserName", openID},
		[2]string{"CreateTime", strconv.FormatInt(s.now().Unix(), 10)}, [2]string{"MsgType", "event"},
		[2]string{"Event", "TEMPLATESENDJOBFINISH"}, [2]string{"MsgID", strconv.FormatInt(msgID, 10)}, [2]string{"Status", "success"})
	if _, err := s.sendOA(openID, plain, templateEventKind); err != nil {
		s.logf("template finished event for %s: %v", openID, err)
	}
}

// passiveReply is the gateway's synchronous answer to an official-account or WeCom push.
type passiveReply struct {
	ToUserName   string `xml:"ToUserName" json:"to"`
	FromUserName string `xml:"FromUserName" json:"from"`
	CreateTime   int64  `xml:"CreateTime" json:"create_time"`
	MsgType      string `xml:"MsgType" json:"msg_type"`
	Content      string `xml:"Content" json:"content,omitempty"`
	Image        *struct {
		MediaID string `xml:"MediaId" json:"media_id"`
	} `xml:"Image" json:"image,omitempty"`
	Articles []struct {
		Title       string `xml:"Title" json:"title"`
		Description string `xml:"Description" json:"description"`
		PicURL      string `xml:"PicUrl" json:"pic_url"`
		URL         string `xml:"Url" json:"url"`
	} `xml:"Articles>item" json:"articles,omitempty"`
}

type encryptedReply struct {
	Encrypt      string `xml:"Encrypt"`
	MsgSignature string `xml:"MsgSignature"`
	TimeStamp    string `xml:"TimeStamp"`
	Nonce        string `xml:"Nonce"`
}

var passiveTypes = map[string]bool{"text": true, "image": true, "voice": true, "video": true, "music": true,
	"news": true, "transfer_customer_service": true, "update_button": true}

// decodePassiveReply reads a gateway's answer: nil for no reply ("" or
// "success"); in safe mode (key != nil) it must be encrypted and signed.
func decodePassiveReply(body, key []byte, token, receiverID string) (*passiveReply, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || string(trimmed) == "success" {
		return nil, nil
	}
	inner := trimmed
	if key != nil {
		var enc encryptedReply
		if err := xml.Unmarshal(trimmed, &enc); err != nil || enc.Encrypt == "" {
			return nil, fmt.Errorf("%w: in safe mode the reply must be <xml><Encrypt>..., got %.80q", ErrGateway, trimmed)
		}
		if !wxSignatureOK(enc.MsgSignature, token, enc.TimeStamp, enc.Nonce, enc.Encrypt) {
			return nil, fmt.Errorf("%w: reply MsgSignature is not sha1(sort(token, TimeStamp, Nonce, Encrypt)): %w", ErrGateway, ErrSignature)
		}
		msg, rid, err := decryptMsg(key, enc.Encrypt)
		if err != nil {
			return nil, fmt.Errorf("%w: reply does not decrypt: %w", ErrGateway, err)
		}
		if rid != receiverID {
			return nil, fmt.Errorf("%w: reply encrypted for %q, want %q: %w", ErrGateway, rid, receiverID, ErrReceiverID)
		}
		inner = bytes.TrimSpace(msg)
		if len(inner) == 0 {
			return nil, fmt.Errorf("%w: encrypted reply is empty; answer \"success\" when there is nothing to say", ErrGateway)
		}
	}
	var r passiveReply
	if err := xml.Unmarshal(inner, &r); err != nil {
		return nil, fmt.Errorf("%w: reply is not XML: %v", ErrGateway, err)
	}
	if !passiveTypes[r.MsgType] {
		return nil, fmt.Errorf("%w: reply MsgType %q is not a passive reply type", ErrGateway, r.MsgType)
	}
	if r.MsgType == "text" && r.Content == "" {
		return nil, fmt.Errorf("%w: text reply has empty Content", ErrGateway)
	}
	if r.MsgType == "news" && len(r.Articles) == 0 {
		return nil, fmt.Errorf("%w: news reply has no Articles", ErrGateway)
	}
	return &r, nil
}

// playWeCom is a played WeCom push: a contact change, a 微信客服 message or a member's app message.
type playWeCom struct {
	ExternalUserID string `json:"external_userid"`
	UserID         string `json:"user_id"`
	Event          string `json:"event"` // change type, e.g. add_external_contact
	State          string `json:"state"`
	OpenKFID       string `json:"open_kfid"`
	Text           string `json:"text"`
}

var changeTypes = map[string]bool{"add_external_contact": true, "edit_external_contact": true,
	"add_half_external_contact": true, "del_external_contact": true, "del_follow_user": true}

func (s *sandbox) playWeCom(p playWeCom) (playResult, error) {
	now := s.now()
	ts := strconv.FormatInt(now.Unix(), 10)
	base := [][2]string{{"ToUserName", s.cfg.WeComCorpID}}
	extra := map[string]any{}
	var fields [][2]string
	switch {
	case p.Event != "":
		if !changeTypes[p.Event] {
			return playResult{}, fmt.Errorf("%w: event %q; use add_external_contact, edit_external_contact, add_half_external_contact, del_external_contact or del_follow_user", ErrBadRequest, p.Event)
		}
		if p.ExternalUserID == "" || p.UserID == "" {
			return playResult{}, fmt.Errorf("%w: %s needs external_userid and user_id", ErrBadRequest, p.Event)
		}
		fields = append(base, [2]string{"FromUserName", "sys"}, [2]string{"CreateTime", ts}, [2]string{"MsgType", "event"},
			[2]string{"Event", "change_external_contact"}, [2]string{"ChangeType", p.Event},
			[2]string{"UserID", p.UserID}, [2]string{"ExternalUserID", p.ExternalUserID})
		if strings.HasPrefix(p.Event, "add_") {
			code := randomString(43, tokenChars)
			s.mu.Lock()
			pruneOldest(s.state.welcomeCodes, maxEntries)
			s.state.welcomeCodes[code] = welcomeCode{issued: now, userID: p.UserID, extID: p.ExternalUserID}
			s.mu.Unlock()
			fields = append(fields, [2]string{"State", p.State}, [2]string{"WelcomeCode", code})
			extra["welcome_code"] = code
		}
	case p.OpenKFID != "":
		if p.ExternalUserID == "" || p.Text == "" {
			return playResult{}, fmt.Errorf("%w: a 微信客服 message needs external_userid, open_kfid and text", ErrBadRequest)
		}
		token := s.queueKF(p, now)
		fields = append(base, [2]string{"CreateTime", ts}, [2]string{"MsgType", "event"}, [2]string{"Event", "kf_msg_or_event"},
			[2]string{"Token", token}, [2]string{"OpenKfId", p.OpenKFID})
		extra["token"] = token
	case p.UserID != "" && p.Text != "":
		fields = append(base, [2]string{"FromUserName", p.UserID}, [2]string{"CreateTime", ts}, [2]string{"MsgType", "text"},
			[2]string{"Content", p.Text}, [2]string{"MsgId", platformMsgID()},
			[2]string{"AgentID", s.cfg.WeComAgentID})
	default:
		return playResult{}, fmt.Errorf("%w: give event with external_userid and user_id, or open_kfid with external_userid and text, or user_id with text", ErrBadRequest)
	}
	res, err := s.sendWeCom(xmlDoc(fields...), "play_wecom")
	res.Extra = extra
	return res, err
}

// queueKF stores a customer's 微信客服 message for sync_msg and opens the session.
func (s *sandbox) queueKF(p playWeCom, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.kfSeq++
	if len(s.state.kfMsgs) >= maxKFMessages {
		s.state.kfMsgs = append(s.state.kfMsgs[:0], s.state.kfMsgs[1:]...)
	}
	s.state.kfMsgs = append(s.state.kfMsgs, kfMessage{seq: s.state.kfSeq, body: map[string]any{
		"msgid": "from_msgid_" + randomString(19, digits), "open_kfid": p.OpenKFID, "external_userid": p.ExternalUserID,
		"send_time": now.Unix(), "origin": 3, "msgtype": "text", "text": map[string]any{"content": p.Text},
	}})
	if !s.state.kfAccounts[p.OpenKFID] {
		pruneOldest(s.state.kfAccounts, maxEntries)
		s.state.kfAccounts[p.OpenKFID] = true
	}
	key := p.OpenKFID + "/" + p.ExternalUserID
	if s.state.kfSessions[key] == nil {
		pruneOldest(s.state.kfSessions, maxEntries)
	}
	s.state.kfSessions[key] = &kfSession{lastCustomer: now}
	for t, k := range s.state.kfTokens {
		if now.After(k.expires) {
			delete(s.state.kfTokens, t)
		}
	}
	pruneOldest(s.state.kfTokens, maxEntries)
	token := "ENC" + randomString(40, alnum)
	s.state.kfTokens[token] = kfToken{openKFID: p.OpenKFID, expires: now.Add(kfTokenLife)}
	return token
}

// sendWeCom encrypts plain for the corp, signs it and pushes it to the WeCom callback.
func (s *sandbox) sendWeCom(plain, kind string) (playResult, error) {
	if s.cfg.GatewayURL == "" {
		return playResult{}, fmt.Errorf("%w: no -gateway URL to send to", ErrConfig)
	}
	enc, err := encryptMsg(s.wecomKey, s.cfg.WeComCorpID, []byte(plain), nil)
	if err != nil {
		return playResult{}, err
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := randomString(10, digits)
	q := url.Values{"msg_signature": {wxSignature(s.cfg.WeComToken, ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
	body := xmlDoc([2]string{"ToUserName", s.cfg.WeComCorpID}, [2]string{"Encrypt", enc}, [2]string{"AgentID", s.cfg.WeComAgentID})
	rec, resp, err := s.deliver(kind, http.MethodPost, s.cfg.GatewayURL+"/callbacks/wecom?"+q.Encode(), []byte(body))
	res := playResult{Sent: plain, Callback: rec}
	if err != nil {
		return res, err
	}
	reply, err := decodePassiveReply(resp, s.wecomKey, s.cfg.WeComToken, s.cfg.WeComCorpID)
	if err != nil {
		return res, err
	}
	if reply != nil {
		res.Reply = reply
		s.store.add(message{Channel: chWeCom, API: "passive_reply", To: reply.ToUserName, Type: reply.MsgType, Body: reply, Time: s.now()})
	}
	return res, nil
}

// verifyWeCom plays WeCom's URL check: the gateway must answer the decrypted echostr.
func (s *sandbox) verifyWeCom() (playResult, error) {
	if s.cfg.GatewayURL == "" {
		return playResult{}, fmt.Errorf("%w: no -gateway URL to send to", ErrConfig)
	}
	want := randomString(19, digits)
	echo, err := encryptMsg(s.wecomKey, s.cfg.WeComCorpID, []byte(want), nil)
	if err != nil {
		return playResult{}, err
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := randomString(10, digits)
	q := url.Values{"msg_signature": {wxSignature(s.cfg.WeComToken, ts, nonce, echo)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echo}}
	return s.checkEcho("verify_wecom", s.cfg.GatewayURL+"/callbacks/wecom?"+q.Encode(), want)
}

// verifyOA plays the official account's server check: the gateway must echo echostr.
func (s *sandbox) verifyOA() (playResult, error) {
	if s.cfg.GatewayURL == "" {
		return playResult{}, fmt.Errorf("%w: no -gateway URL to send to", ErrConfig)
	}
	echo := randomString(19, digits)
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := randomString(10, digits)
	q := url.Values{"signature": {wxSignature(s.cfg.WeChatToken, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echo}}
	return s.checkEcho("verify_officialaccount", s.cfg.GatewayURL+"/callbacks/officialaccount?"+q.Encode(), echo)
}

func (s *sandbox) checkEcho(kind, target, want string) (playResult, error) {
	rec, resp, err := s.deliver(kind, http.MethodGet, target, nil)
	res := playResult{Sent: want, Callback: rec}
	if err != nil {
		return res, err
	}
	if got := string(bytes.TrimSpace(resp)); got != want {
		return res, fmt.Errorf("%w: URL check answered %.80q, want %q", ErrGateway, got, want)
	}
	return res, nil
}

// playSMSUp pushes a customer's SMS reply (SmsUp) to the gateway.
func (s *sandbox) playSMSUp(phone, text string) (callbackRecord, error) {
	if s.cfg.GatewayURL == "" {
		return callbackRecord{}, fmt.Errorf("%w: no -gateway URL to send to", ErrConfig)
	}
	if !mobileRE.MatchString(phone) || text == "" {
		return callbackRecord{}, fmt.Errorf("%w: give a mainland mobile phone and text", ErrBadRequest)
	}
	body := fmt.Sprintf(`[{"phone_number":%q,"content":%q,"send_time":%q,"dest_code":"%s","sequence_id":%s}]`,
		phone, text, s.now().In(shanghai).Format(smsTimeFormat), randomString(4, digits), randomNumber(9))
	rec := s.pushJSON("sms_up", s.cfg.GatewayURL+"/callbacks/sms/up", []byte(body))
	if rec.Error != "" {
		return rec, fmt.Errorf("%w: SmsUp push failed after %d attempts: %s", ErrGateway, rec.Attempts, rec.Error)
	}
	return rec, nil
}

// platformMsgID draws a 19-digit message id that fits an int64, as WeChat's do;
// random rather than time based, so plays at the same instant stay distinct.
func platformMsgID() string {
	return "1" + randomString(18, digits)
}

// randomNumber draws an n-digit decimal with no leading zero, for ids the
// platforms send as JSON numbers (a leading zero is not valid JSON).
func randomNumber(n int) string {
	return randomString(1, digits[1:]) + randomString(n-1, digits)
}
