package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/util"
	wcontext "github.com/silenceper/wechat/v2/work/context"

	"github.com/journeygate/gateway/channels"
)

const (
	apiKFSync  = "kf/sync_msg"
	kfSyncURL  = "https://qyapi.weixin.qq.com/cgi-bin/kf/sync_msg?access_token="
	kfMaxLimit = 1000 // WeCom's default and largest page
	// errKFToken is sync_msg's answer to a callback token that has expired
	// (it lives 10 minutes) or belongs to another account.
	errKFToken = 95007
)

// Who wrote a 微信客服 message (sync_msg's origin field).
const (
	KFOriginCustomer = 3 // the WeChat user
	KFOriginEvent    = 4 // a system event (entered the session, a send failed, ...)
	KFOriginServicer = 5 // a human servicer writing from the WeCom client
)

// KFSyncRequest is one sync_msg call. Token is the kf_msg_or_event
// callback's token: with it WeCom allows a far higher pull rate, so the
// puller passes it while it is fresh and leaves it empty after.
type KFSyncRequest struct {
	Cursor   string
	Token    string
	OpenKFID string
	// Limit is the page size; zero or above 1000 asks for 1000.
	Limit int
}

// KFPage is one page of pulled messages. The caller applies Messages, then
// stores NextCursor, and pulls again while HasMore: WeCom documents that a
// page may be empty while more remain, so only HasMore ends a pull.
type KFPage struct {
	NextCursor string
	HasMore    bool
	Messages   []KFMessage
	// Skipped says why entries were left out: they lack the msgid or sender
	// that de-duplication and the contact need. One broken entry must not
	// stop the cursor, or every later message would be stuck behind it.
	Skipped []string
}

// KFMessage is one customer message, servicer message or event.
type KFMessage struct {
	MsgID          string
	OpenKFID       string
	ExternalUserID string
	SendTime       time.Time
	Origin         int
	MsgType        string
	// Text is what the customer wrote, or a short stand-in for other
	// message types ("[image]"), so a timeline or a keyword match has
	// something to show.
	Text string
	// Event is set for msgtype event.
	Event *KFEvent
}

// KFEvent is a system event inside the pulled list.
type KFEvent struct {
	Type           string // enter_session, msg_send_fail, session_status_change, ...
	OpenKFID       string
	ExternalUserID string
	Scene          string // the scene of the 客服 link the customer came through
	SceneParam     string
	// WelcomeCode answers enter_session once, within 20 s, through
	// send_msg_on_event; WeCom sends it only when no native welcome is set.
	WelcomeCode string
}

// SyncKF pulls one page of 微信客服 messages with the app's shared token.
// A callback token WeCom no longer takes is dropped and the page asked for
// again without it, since the pull itself is still allowed. Failures are
// *channels.SendError, so the caller tells a retry from a refusal as for
// sends.
func (s *Sender) SyncKF(ctx context.Context, req KFSyncRequest) (KFPage, error) {
	if req.Limit <= 0 || req.Limit > kfMaxLimit {
		req.Limit = kfMaxLimit
	}
	page, err := s.syncKF(ctx, req)
	var se *channels.SendError
	if errors.As(err, &se) && se.Code == strconv.Itoa(errKFToken) && req.Token != "" {
		req.Token = ""
		page, err = s.syncKF(ctx, req)
	}
	return page, err
}

// kfSyncBody is the documented request body.
type kfSyncBody struct {
	Cursor      string `json:"cursor,omitempty"`
	Token       string `json:"token,omitempty"`
	Limit       int    `json:"limit"`
	VoiceFormat int    `json:"voice_format"`
	OpenKFID    string `json:"open_kfid,omitempty"`
}

// syncKF is one call through the shared token and its errcode table.
func (s *Sender) syncKF(ctx context.Context, req KFSyncRequest) (KFPage, error) {
	body := kfSyncBody{Cursor: req.Cursor, Token: req.Token, Limit: req.Limit, OpenKFID: req.OpenKFID}
	var page KFPage
	_, err := call(ctx, s, apiKFSync, func(ctx context.Context, _ *wcontext.Context, token string) (struct{}, error) {
		raw, err := util.PostJSONContext(ctx, kfSyncURL+url.QueryEscape(token), body)
		if err != nil {
			return struct{}{}, err
		}
		page, err = decodeKFPage(raw)
		return struct{}{}, err
	})
	return page, err
}

// kfWirePage is sync_msg's answer; each entry is decoded on its own so one
// broken entry is skipped rather than losing the page.
type kfWirePage struct {
	ErrCode    *int64            `json:"errcode"`
	ErrMsg     string            `json:"errmsg"`
	NextCursor string            `json:"next_cursor"`
	HasMore    int               `json:"has_more"`
	MsgList    []json.RawMessage `json:"msg_list"`
}

type kfWireMsg struct {
	MsgID          string `json:"msgid"`
	OpenKFID       string `json:"open_kfid"`
	ExternalUserID string `json:"external_userid"`
	SendTime       int64  `json:"send_time"`
	Origin         int    `json:"origin"`
	MsgType        string `json:"msgtype"`
	Text           *struct {
		Content string `json:"content"`
	} `json:"text"`
	Link *struct {
		Title string `json:"title"`
	} `json:"link"`
	Location *struct {
		Name string `json:"name"`
	} `json:"location"`
	Event *struct {
		EventType      string `json:"event_type"`
		OpenKFID       string `json:"open_kfid"`
		ExternalUserID string `json:"external_userid"`
		Scene          string `json:"scene"`
		SceneParam     string `json:"scene_param"`
		WelcomeCode    string `json:"welcome_code"`
	} `json:"event"`
}

// decodeKFPage reads a sync_msg answer. A non-zero errcode comes back as
// the SDK's *util.CommonError, like every other WeCom refusal; a body that
// is not the documented JSON is an error, since storing its cursor could
// skip messages.
func decodeKFPage(body []byte) (KFPage, error) {
	var w kfWirePage
	if err := json.Unmarshal(body, &w); err != nil {
		return KFPage{}, fmt.Errorf("%s answer is not the documented JSON: %w", apiKFSync, err)
	}
	if w.ErrCode == nil {
		return KFPage{}, fmt.Errorf("%s answer has no errcode", apiKFSync)
	}
	if *w.ErrCode != 0 {
		return KFPage{}, util.NewCommonError(apiKFSync, *w.ErrCode, w.ErrMsg)
	}
	if w.HasMore != 0 && w.HasMore != 1 {
		return KFPage{}, fmt.Errorf("%s answer has has_more %d, want 0 or 1", apiKFSync, w.HasMore)
	}
	if w.NextCursor == "" && (len(w.MsgList) > 0 || w.HasMore == 1) {
		return KFPage{}, fmt.Errorf("%s answer has messages but no next_cursor", apiKFSync)
	}
	page := KFPage{NextCursor: w.NextCursor, HasMore: w.HasMore == 1, Messages: make([]KFMessage, 0, len(w.MsgList))}
	for i, raw := range w.MsgList {
		m, why := decodeKFMessage(raw)
		if why != "" {
			page.Skipped = append(page.Skipped, "entry "+strconv.Itoa(i)+": "+why)
			continue
		}
		page.Messages = append(page.Messages, m)
	}
	return page, nil
}

// decodeKFMessage reads one entry, or says why it cannot be used.
func decodeKFMessage(raw json.RawMessage) (KFMessage, string) {
	var w kfWireMsg
	if err := json.Unmarshal(raw, &w); err != nil {
		return KFMessage{}, "not a message object: " + err.Error()
	}
	m := KFMessage{MsgID: w.MsgID, OpenKFID: w.OpenKFID, ExternalUserID: w.ExternalUserID, Origin: w.Origin, MsgType: w.MsgType}
	switch {
	case w.MsgID == "":
		return KFMessage{}, "no msgid"
	case w.MsgType == "":
		return KFMessage{}, "msgid " + clip(w.MsgID) + " has no msgtype"
	case w.SendTime < 0:
		return KFMessage{}, "msgid " + clip(w.MsgID) + " has a negative send_time"
	}
	m.SendTime = time.Unix(w.SendTime, 0).UTC()
	switch w.MsgType {
	case "event":
		if w.Event == nil || w.Event.EventType == "" {
			return KFMessage{}, "msgid " + clip(w.MsgID) + " is an event without event_type"
		}
		e := w.Event
		m.Event = &KFEvent{Type: e.EventType, OpenKFID: e.OpenKFID, ExternalUserID: e.ExternalUserID,
			Scene: e.Scene, SceneParam: e.SceneParam, WelcomeCode: e.WelcomeCode}
		if m.OpenKFID == "" {
			m.OpenKFID = e.OpenKFID
		}
		if m.ExternalUserID == "" {
			m.ExternalUserID = e.ExternalUserID
		}
	case "text":
		if w.Text != nil {
			m.Text = w.Text.Content
		}
	case "link":
		m.Text = "[link]"
		if w.Link != nil && w.Link.Title != "" {
			m.Text = "[link] " + w.Link.Title
		}
	case "location":
		m.Text = "[location]"
		if w.Location != nil && w.Location.Name != "" {
			m.Text = "[location] " + w.Location.Name
		}
	default:
		m.Text = "[" + clip(w.MsgType) + "]"
	}
	if m.Origin == KFOriginCustomer && m.ExternalUserID == "" {
		return KFMessage{}, "msgid " + clip(w.MsgID) + " is from a customer but has no external_userid"
	}
	return m, ""
}
