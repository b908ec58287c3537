package wecom

import (
	"context"
	"net/url"
	"strings"

	"github.com/silenceper/wechat/v2/util"
	wcontext "github.com/silenceper/wechat/v2/work/context"
	"github.com/silenceper/wechat/v2/work/externalcontact"
	"github.com/silenceper/wechat/v2/work/kf"
	"github.com/silenceper/wechat/v2/work/kf/sendmsg"
	wxmessage "github.com/silenceper/wechat/v2/work/message"

	"github.com/journeygate/gateway/channels"
)

const (
	apiMessageSend  = "message/send"
	apiWelcome      = "externalcontact/send_welcome_msg"
	apiKFSend       = "kf/send_msg"
	apiGroupTask    = "externalcontact/add_msg_template"
	kfSendURL       = "https://qyapi.weixin.qq.com/cgi-bin/kf/send_msg?access_token="
	apiKFOnEvent    = "kf/send_msg_on_event"
	kfOnEventURL    = "https://qyapi.weixin.qq.com/cgi-bin/kf/send_msg_on_event?access_token="
	duplicateWindow = 1800 // seconds; WeCom's default and a retry's horizon
)

// The SDK types app messages as text, image and voice only; these carry the
// other two kinds through its generic Send.
type (
	textCardRequest struct {
		*wxmessage.SendRequestCommon
		TextCard textCard `json:"textcard"`
	}
	textCard struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		URL         string `json:"url"`
	}
	markdownRequest struct {
		*wxmessage.SendRequestCommon
		Markdown wxmessage.TextField `json:"markdown"`
	}
)

// checkFields refuses a message WeCom would refuse for a missing field,
// before spending a call (and, for a welcome, the one-shot code) on it.
func checkFields(m *channels.Outbound) error {
	var missing []string
	need := func(name, v string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	need("To", m.To)
	switch m.Kind {
	case channels.KindWeComTextCard:
		need("Title", m.Title)
		need("Description or Text", cardDescription(m))
		need("URL", m.URL)
	case channels.KindWeComWelcome:
		need("WelcomeCode", m.WelcomeCode)
		need("Text", m.Text)
	case channels.KindWeComKF:
		need("OpenKFID", m.OpenKFID)
		need("Text", m.Text)
	case channels.KindWeComGroupTask:
		need("Sender", m.Sender)
		need("Text", m.Text)
	default:
		need("Text", m.Text)
	}
	if len(missing) > 0 {
		return invalid(ErrIncomplete, "message %s of kind %q needs %s", m.ID, m.Kind, strings.Join(missing, ", "))
	}
	return nil
}

func cardDescription(m *channels.Outbound) string {
	if m.Description != "" {
		return m.Description
	}
	return m.Text
}

// sendApp sends an app message to one member (a rep).
func (s *Sender) sendApp(ctx context.Context, m *channels.Outbound) (channels.Receipt, error) {
	common := &wxmessage.SendRequestCommon{
		ToUser:  m.To,
		MsgType: m.Kind,
		AgentID: s.agentID,
		// A retry after a timeout whose send did land must not notify the rep
		// twice: WeCom drops an identical message within the window.
		EnableDuplicateCheck:   1,
		DuplicateCheckInterval: duplicateWindow,
	}
	resp, err := call(ctx, s, apiMessageSend, func(_ context.Context, sdk *wcontext.Context, _ string) (*wxmessage.SendResponse, error) {
		client := wxmessage.NewClient(sdk)
		switch m.Kind {
		case channels.KindWeComTextCard:
			return client.Send(apiMessageSend, textCardRequest{common, textCard{Title: m.Title, Description: cardDescription(m), URL: m.URL}})
		case channels.KindWeComMarkdown:
			return client.Send(apiMessageSend, markdownRequest{common, wxmessage.TextField{Content: m.Text}})
		}
		return client.SendText(wxmessage.SendTextRequest{SendRequestCommon: common, Text: wxmessage.TextField{Content: m.Text}})
	})
	if err != nil {
		return channels.Receipt{}, err
	}
	return appOutcome(resp, m)
}

// appOutcome reads an accepted message/send answer: WeCom answers errcode 0
// even when it drops some recipients, naming them in invaliduser (lower
// case) or unlicenseduser.
func appOutcome(resp *wxmessage.SendResponse, m *channels.Outbound) (channels.Receipt, error) {
	if resp == nil {
		return channels.Receipt{}, classify(apiMessageSend, errNoAnswer)
	}
	if listed(resp.InvalidUser, m.To) {
		return channels.Receipt{}, refused(apiMessageSend, "invaliduser", m.To)
	}
	if listed(resp.UnlicensedUser, m.To) {
		return channels.Receipt{}, refused(apiMessageSend, "unlicenseduser", m.To)
	}
	return channels.Receipt{PlatformID: resp.MsgID, Kind: m.Kind}, nil
}

// listed reports whether a '|'-separated userid list names id.
func listed(list, id string) bool {
	for _, u := range strings.Split(list, "|") {
		if u != "" && strings.EqualFold(strings.TrimSpace(u), id) {
			return true
		}
	}
	return false
}

// sendWelcome answers a new contact with the one-shot welcome code.
func (s *Sender) sendWelcome(ctx context.Context, m *channels.Outbound) (channels.Receipt, error) {
	req := &externalcontact.SendWelcomeMsgRequest{WelcomeCode: m.WelcomeCode, Text: externalcontact.MsgText{Content: m.Text}}
	_, err := call(ctx, s, apiWelcome, func(_ context.Context, sdk *wcontext.Context, _ string) (struct{}, error) {
		return struct{}{}, externalcontact.NewClient(sdk).SendWelcomeMsg(req)
	})
	if err != nil {
		return channels.Receipt{}, err
	}
	return channels.Receipt{Kind: m.Kind}, nil
}

// kfOnEventText is send_msg_on_event's text body. The SDK's type always
// sends msgid, empty or not; WeCom makes one up only when it is absent.
type kfOnEventText struct {
	Code    string `json:"code"`
	MsgType string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
}

// sendKF replies to a 微信客服 customer. The SDK's kf client builds its own
// per-process token handle from the config and cannot take the shared one,
// so the request goes through the SDK's HTTP helper with its message types.
// With a WelcomeCode (from an enter_session event) it is the session's
// welcome, which only send_msg_on_event takes.
func (s *Sender) sendKF(ctx context.Context, m *channels.Outbound) (channels.Receipt, error) {
	api, uri := apiKFSend, kfSendURL
	var req any
	if m.WelcomeCode != "" {
		w := kfOnEventText{Code: m.WelcomeCode, MsgType: "text"}
		w.Text.Content = m.Text
		api, uri, req = apiKFOnEvent, kfOnEventURL, w
	} else {
		t := sendmsg.Text{Message: sendmsg.Message{ToUser: m.To, OpenKFID: m.OpenKFID}, MsgType: "text"}
		t.Text.Content = m.Text
		req = t
	}
	resp, err := call(ctx, s, api, func(ctx context.Context, _ *wcontext.Context, token string) (*kf.SendMsgSchema, error) {
		body, err := util.PostJSONContext(ctx, uri+url.QueryEscape(token), req)
		if err != nil {
			return nil, err
		}
		resp := &kf.SendMsgSchema{}
		return resp, util.DecodeWithError(body, resp, api)
	})
	if err != nil {
		return channels.Receipt{}, err
	}
	return channels.Receipt{PlatformID: resp.MsgID, Kind: m.Kind}, nil
}

// sendGroupTask creates a one-customer group-send task that the rep
// confirms in their WeCom client.
func (s *Sender) sendGroupTask(ctx context.Context, m *channels.Outbound) (channels.Receipt, error) {
	req := &externalcontact.AddMsgTemplateRequest{
		ChatType:       "single",
		ExternalUserID: []string{m.To},
		Sender:         m.Sender,
		Text:           externalcontact.MsgText{Content: m.Text},
	}
	resp, err := call(ctx, s, apiGroupTask, func(_ context.Context, sdk *wcontext.Context, _ string) (*externalcontact.AddMsgTemplateResponse, error) {
		return externalcontact.NewClient(sdk).AddMsgTemplate(req)
	})
	if err != nil {
		return channels.Receipt{}, err
	}
	return groupTaskOutcome(resp, m)
}

// groupTaskOutcome reads an accepted add_msg_template answer: customers
// that cannot receive the task (not the sender's contact, over the monthly
// limit) come back in fail_list with errcode 0.
func groupTaskOutcome(resp *externalcontact.AddMsgTemplateResponse, m *channels.Outbound) (channels.Receipt, error) {
	if resp == nil {
		return channels.Receipt{}, classify(apiGroupTask, errNoAnswer)
	}
	for _, id := range resp.FailList {
		if id == m.To {
			return channels.Receipt{}, refused(apiGroupTask, "fail_list", m.To)
		}
	}
	return channels.Receipt{PlatformID: resp.MsgID, Kind: m.Kind}, nil
}
