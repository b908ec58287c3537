package officialaccount

import (
	"fmt"
	"strconv"
	"time"

	"github.com/journeygate/gateway/channels"
)

// message holds the inner XML fields the gateway maps, named as WeChat (and
// the SDK's message.MixMessage) names them.
type message struct {
	ToUserName, FromUserName, CreateTime, MsgType string

	MsgId, Content, Recognition, PicUrl, MediaId, Format, ThumbMediaId string
	LocationX, LocationY, Scale, Label, Title, Description, Url        string

	Event, EventKey, Ticket, Latitude, Longitude, Precision string
	MsgID, Status                                           string // TEMPLATESENDJOBFINISH
}

// field returns where a leaf element's text goes, or nil for elements the
// gateway ignores. Names are case-sensitive: MsgId (messages) and MsgID
// (template results) are different fields.
func (m *message) field(name []byte) *string {
	switch string(name) {
	case "ToUserName":
		return &m.ToUserName
	case "FromUserName":
		return &m.FromUserName
	case "CreateTime":
		return &m.CreateTime
	case "MsgType":
		return &m.MsgType
	case "MsgId":
		return &m.MsgId
	case "Content":
		return &m.Content
	case "Recognition":
		return &m.Recognition
	case "PicUrl":
		return &m.PicUrl
	case "MediaId":
		return &m.MediaId
	case "Format":
		return &m.Format
	case "ThumbMediaId":
		return &m.ThumbMediaId
	case "Location_X":
		return &m.LocationX
	case "Location_Y":
		return &m.LocationY
	case "Scale":
		return &m.Scale
	case "Label":
		return &m.Label
	case "Title":
		return &m.Title
	case "Description":
		return &m.Description
	case "Url":
		return &m.Url
	case "Event":
		return &m.Event
	case "EventKey":
		return &m.EventKey
	case "Ticket":
		return &m.Ticket
	case "Latitude":
		return &m.Latitude
	case "Longitude":
		return &m.Longitude
	case "Precision":
		return &m.Precision
	case "MsgID":
		return &m.MsgID
	case "Status":
		return &m.Status
	}
	return nil
}

// decodeMessage maps a decrypted (or plain-mode) message to an Inbound. It
// trusts nothing: the caller has checked the signature, not the content.
func decodeMessage(doc []byte) (*Inbound, error) {
	var m message
	err := channels.ScanXML(doc, func(name, value []byte) {
		if p := m.field(name); p != nil {
			*p = string(value)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	switch {
	case m.FromUserName == "":
		return nil, fmt.Errorf("%w: message has no FromUserName", ErrMalformed)
	case m.ToUserName == "":
		return nil, fmt.Errorf("%w: message has no ToUserName", ErrMalformed)
	case m.MsgType == "":
		return nil, fmt.Errorf("%w: message has no MsgType", ErrMalformed)
	}
	created, ok := parseDigits(m.CreateTime)
	if !ok {
		return nil, fmt.Errorf("%w: CreateTime %q is not a Unix time in seconds", ErrMalformed, m.CreateTime)
	}
	ev := channels.Event{
		Source:  channels.OfficialAccount,
		At:      time.Unix(created, 0).UTC(),
		Contact: []channels.Identity{{Kind: channels.OpenID, Value: m.FromUserName}},
		Props:   make(map[string]string, 4),
	}
	if m.MsgType == "event" {
		err = m.mapEvent(&ev)
	} else {
		err = m.mapMessage(&ev)
	}
	if err != nil {
		return nil, err
	}
	return &Inbound{Event: ev, Account: m.ToUserName, OpenID: m.FromUserName}, nil
}

// mapMessage handles what a follower sends: text, media, location and links.
func (m *message) mapMessage(ev *channels.Event) error {
	ev.Type = channels.TypeMessage
	switch m.MsgType {
	case "text":
		ev.Text = m.Content
	case "voice":
		ev.Text = m.Recognition
	case "location":
		ev.Text = m.Label
	case "link":
		ev.Text = m.Title
	case "image", "video", "shortvideo":
	default:
		return fmt.Errorf("%w: MsgType %q is not handled: answer success and ignore it", ErrUnsupported, m.MsgType)
	}
	if !isMsgID(m.MsgId) {
		return fmt.Errorf("%w: %s message has MsgId %q, want a decimal id", ErrMalformed, m.MsgType, m.MsgId)
	}
	ev.ID = "oa:msg:" + m.MsgId
	p := ev.Props
	p["msg_type"] = m.MsgType
	p["msg_id"] = m.MsgId
	put(p, "media_id", m.MediaId)
	put(p, "thumb_media_id", m.ThumbMediaId)
	put(p, "pic_url", m.PicUrl)
	put(p, "format", m.Format)
	put(p, "location_x", m.LocationX)
	put(p, "location_y", m.LocationY)
	put(p, "scale", m.Scale)
	put(p, "label", m.Label)
	put(p, "title", m.Title)
	put(p, "description", m.Description)
	put(p, "url", m.Url)
	return nil
}

// mapEvent handles MsgType=event. Events carry no MsgId, so the id is the
// de-duplication key WeChat documents for them: FromUserName + CreateTime
// (plus the event name, since one second can hold, say, a subscribe and a
// LOCATION report).
func (m *message) mapEvent(ev *channels.Event) error {
	ev.ID = "oa:ev:" + m.FromUserName + ":" + m.CreateTime + ":" + m.Event
	p := ev.Props
	switch m.Event {
	case "subscribe":
		ev.Type = channels.TypeSubscribe
		scene := m.EventKey
		if len(scene) >= len("qrscene_") && scene[:len("qrscene_")] == "qrscene_" {
			scene = scene[len("qrscene_"):]
		}
		put(p, "scene", scene)
		put(p, "ticket", m.Ticket)
	case "unsubscribe":
		ev.Type = channels.TypeUnsubscribe
	case "SCAN":
		ev.Type = channels.TypeScan
		put(p, "scene", m.EventKey)
		put(p, "ticket", m.Ticket)
	case "CLICK":
		ev.Type = channels.TypeMenuClick
		put(p, "key", m.EventKey)
	case "VIEW":
		ev.Type = channels.TypeMenuView
		put(p, "url", m.EventKey)
	case "LOCATION":
		ev.Type = channels.TypeMessage
		p["msg_type"] = "location_report"
		put(p, "latitude", m.Latitude)
		put(p, "longitude", m.Longitude)
		put(p, "precision", m.Precision)
	case "TEMPLATESENDJOBFINISH":
		if !isMsgID(m.MsgID) {
			return fmt.Errorf("%w: TEMPLATESENDJOBFINISH has MsgID %q, want a decimal id", ErrMalformed, m.MsgID)
		}
		ev.Type = channels.TypeTemplateSendFinished
		ev.ID = "oa:tpl:" + m.MsgID
		p["msg_id"] = m.MsgID
		put(p, "status", m.Status)
	case "":
		return fmt.Errorf("%w: event message has no Event", ErrMalformed)
	default:
		return fmt.Errorf("%w: event %s is not handled: answer success and ignore it", ErrUnsupported, strconv.Quote(m.Event))
	}
	return nil
}

func put(props map[string]string, key, value string) {
	if value != "" {
		props[key] = value
	}
}

// isMsgID accepts WeChat's numeric message ids (64-bit, so at most 20 digits);
// the check keeps separators and junk out of the de-duplication key.
func isMsgID(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
