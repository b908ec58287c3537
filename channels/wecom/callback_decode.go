package wecom

import (
	"fmt"
	"strconv"
	"time"

	"github.com/journeygate/gateway/channels"
)

// decodeInner maps one decrypted WeCom message to an Event.
func decodeInner(doc []byte) (channels.Event, error) {
	var m message
	if err := m.parse(doc); err != nil {
		return channels.Event{}, err
	}
	switch t := m.f[fMsgType]; t {
	case "":
		return channels.Event{}, fmt.Errorf("%w: MsgType is missing", ErrMalformed)
	case "event":
		return m.event()
	case "text", "image", "voice", "video", "location", "link":
		return m.memberMessage(t)
	default:
		return channels.Event{}, fmt.Errorf("%w: MsgType %q (handled: text, image, voice, video, location, link, event)", ErrUnsupported, clip(t))
	}
}

// prop copies an optional field into Props under key when it is present.
type prop struct {
	key string
	f   field
}

// memberMessage maps what a member (a rep) wrote to our app.
func (m *message) memberMessage(msgType string) (channels.Event, error) {
	if err := m.require(fFromUserName, fMsgID, fCreateTime); err != nil {
		return channels.Event{}, err
	}
	at, err := m.at()
	if err != nil {
		return channels.Event{}, err
	}
	props := m.props(2, []prop{
		{"agent_id", fAgentID}, {"media_id", fMediaID}, {"pic_url", fPicURL}, {"url", fURL},
		{"title", fTitle}, {"label", fLabel}, {"location_x", fLocationX}, {"location_y", fLocationY},
	})
	props["msg_type"] = msgType
	props["msg_id"] = m.f[fMsgID]
	return channels.Event{
		ID:     "wecom:msg:" + m.f[fMsgID],
		Source: channels.WeCom,
		Type:   channels.TypeMemberMessage,
		At:     at,
		Member: m.f[fFromUserName],
		Text:   m.text(msgType),
		Props:  props,
	}, nil
}

// text gives non-text messages a short readable stand-in, so a timeline or a
// dialog keyword match has something to show.
func (m *message) text(msgType string) string {
	switch msgType {
	case "text":
		return m.f[fContent]
	case "image":
		return "[image]"
	case "voice":
		return "[voice]"
	case "video":
		return "[video]"
	case "location":
		if l := m.f[fLabel]; l != "" {
			return "[location] " + l
		}
		return "[location]"
	case "link":
		if t := m.f[fTitle]; t != "" {
			return "[link] " + t
		}
		return "[link]"
	}
	return ""
}

func (m *message) event() (channels.Event, error) {
	switch ev := m.f[fEvent]; ev {
	case "":
		return channels.Event{}, fmt.Errorf("%w: MsgType is event but Event is missing", ErrMalformed)
	case "change_external_contact":
		return m.contactEvent()
	case "change_external_tag":
		return m.tagEvent()
	case "kf_msg_or_event":
		return m.kfEvent()
	default:
		return channels.Event{}, fmt.Errorf("%w: Event %q (handled: change_external_contact, change_external_tag, kf_msg_or_event)", ErrUnsupported, clip(ev))
	}
}

// contactEvent maps change_external_contact: a customer and a rep became,
// stopped being or changed as contacts.
func (m *message) contactEvent() (channels.Event, error) {
	var typ string
	var opt []prop
	switch ct := m.f[fChangeType]; ct {
	case "":
		return channels.Event{}, fmt.Errorf("%w: change_external_contact without ChangeType", ErrMalformed)
	case "add_external_contact":
		typ, opt = channels.TypeContactAdded, []prop{{"state", fState}, {"welcome_code", fWelcomeCode}}
	case "add_half_external_contact":
		typ, opt = channels.TypeContactHalfAdded, []prop{{"state", fState}, {"welcome_code", fWelcomeCode}}
	case "edit_external_contact":
		typ = channels.TypeContactEdited
	case "del_external_contact":
		// Source is DELETE_BY_TRANSFER when the customer moved to another rep.
		typ, opt = channels.TypeContactDeleted, []prop{{"source", fSource}}
	case "del_follow_user":
		typ = channels.TypeContactLeft
	case "transfer_fail":
		typ, opt = channels.TypeContactTransferFailed, []prop{{"fail_reason", fFailReason}}
	default:
		return channels.Event{}, fmt.Errorf("%w: change_external_contact ChangeType %q", ErrUnsupported, clip(ct))
	}
	if err := m.require(fUserID, fExternalUserID, fCreateTime); err != nil {
		return channels.Event{}, err
	}
	at, err := m.at()
	if err != nil {
		return channels.Event{}, err
	}
	return channels.Event{
		ID:      m.eventID(),
		Source:  channels.WeCom,
		Type:    typ,
		At:      at,
		Contact: []channels.Identity{{Kind: channels.ExternalUserID, Value: m.f[fExternalUserID]}},
		Member:  m.f[fUserID],
		Props:   m.props(0, opt),
	}, nil
}

// tagEvent maps change_external_tag: an admin changed the corp's tag library,
// not any one customer's tags.
func (m *message) tagEvent() (channels.Event, error) {
	ct := m.f[fChangeType]
	switch ct {
	case "":
		return channels.Event{}, fmt.Errorf("%w: change_external_tag without ChangeType", ErrMalformed)
	case "create", "update", "delete":
		if err := m.require(fTagID); err != nil {
			return channels.Event{}, err
		}
	case "shuffle": // a reorder; Id names the group, or is empty for all groups
	default:
		return channels.Event{}, fmt.Errorf("%w: change_external_tag ChangeType %q", ErrUnsupported, clip(ct))
	}
	if err := m.require(fCreateTime); err != nil {
		return channels.Event{}, err
	}
	at, err := m.at()
	if err != nil {
		return channels.Event{}, err
	}
	props := m.props(1, []prop{{"tag_id", fTagID}, {"tag_type", fTagType}, {"strategy_id", fStrategyID}})
	props["change"] = ct
	return channels.Event{
		ID:     m.eventID(),
		Source: channels.WeCom,
		Type:   channels.TypeWeComTagChanged,
		At:     at,
		Props:  props,
	}, nil
}

// kfEvent maps kf_msg_or_event, which only says that 微信客服 messages are
// waiting to be pulled with the token it carries.
func (m *message) kfEvent() (channels.Event, error) {
	if err := m.require(fToken, fOpenKfID, fCreateTime); err != nil {
		return channels.Event{}, err
	}
	at, err := m.at()
	if err != nil {
		return channels.Event{}, err
	}
	return channels.Event{
		ID:     m.eventID(),
		Source: channels.WeCom,
		Type:   channels.TypeKFPending,
		At:     at,
		Props:  map[string]string{"token": m.f[fToken], "open_kfid": m.f[fOpenKfID]},
	}, nil
}

// eventID builds the de-duplication key of an event, which has no MsgId:
// WeCom retries resend the same plaintext, so the same fields give the same
// key, while the ids involved keep two events of one second apart.
func (m *message) eventID() string {
	return "wecom:ev:" + m.f[fFromUserName] + "|" + m.f[fCreateTime] + "|" + m.f[fEvent] + "|" +
		m.f[fChangeType] + "|" + m.f[fUserID] + "|" + m.f[fExternalUserID] + "|" + m.f[fTagID] + "|" + m.f[fToken]
}

func (m *message) require(fs ...field) error {
	for _, f := range fs {
		if m.f[f] == "" {
			return fmt.Errorf("%w: %s needs %s", ErrMalformed, m.kind(), f)
		}
	}
	return nil
}

// kind names the message for error text, e.g. "event/change_external_contact/add_external_contact".
func (m *message) kind() string {
	k := clip(m.f[fMsgType])
	for _, f := range []field{fEvent, fChangeType} {
		if v := m.f[f]; v != "" {
			k += "/" + clip(v)
		}
	}
	return k
}

func (m *message) at() (time.Time, error) {
	ct := m.f[fCreateTime]
	sec, err := strconv.ParseInt(ct, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, fmt.Errorf("%w: CreateTime %q is not unix seconds", ErrMalformed, clip(ct))
	}
	return time.Unix(sec, 0).UTC(), nil
}

// props returns the present optional fields with room for fixed more
// entries, or nil when there is nothing to hold.
func (m *message) props(fixed int, opt []prop) map[string]string {
	n := fixed
	for _, o := range opt {
		if m.f[o.f] != "" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	props := make(map[string]string, n)
	for _, o := range opt {
		if v := m.f[o.f]; v != "" {
			props[o.key] = v
		}
	}
	return props
}

func (f field) String() string {
	names := [numFields]string{
		"ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "ChangeType", "MsgId", "AgentID",
		"Content", "MediaId", "PicUrl", "Url", "Title", "Label", "Location_X", "Location_Y", "UserID",
		"ExternalUserID", "State", "WelcomeCode", "FailReason", "Source", "Id", "TagType", "StrategyId",
		"Token", "OpenKfId",
	}
	if f < numFields {
		return names[f]
	}
	return "field(" + strconv.Itoa(int(f)) + ")"
}
