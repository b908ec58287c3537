package channels

import (
	"errors"
	"fmt"
	"time"
)

// Purpose says why a message is sent; consent and caps depend on it.
type Purpose string

const (
	Transactional Purpose = "transactional" // an order, a password, a booking: needs no marketing consent
	Service       Purpose = "service"       // a reply in a conversation the customer started
	Marketing     Purpose = "marketing"     // everything else: needs consent, counts against caps
)

// Outbound kinds, per channel. A sender rejects a kind it does not carry
// with a permanent error.
const (
	// WeCom.
	KindWeComText      = "text"       // app message to a member (Outbound.To is a member userid)
	KindWeComTextCard  = "textcard"   // app message card: Title, Description (Text), URL
	KindWeComMarkdown  = "markdown"   // app message in WeCom markdown
	KindWeComWelcome   = "welcome"    // welcome message to a new external contact: WelcomeCode, Text
	KindWeComKF        = "kf"         // 微信客服 reply inside an open session: OpenKFID, Text
	KindWeComGroupTask = "group_task" // customer group-send task the rep confirms: Sender (rep), Text
	// Official account.
	KindOAText     = "text"     // customer-service text inside the 48-hour window
	KindOANews     = "news"     // customer-service link card: Title, Description, URL, PicURL
	KindOAImage    = "image"    // customer-service image: MediaID
	KindOATemplate = "template" // template message outside the window: TemplateID, Fields, URL
	// SMS and email have one kind each.
	KindSMS   = "sms"   // TemplateCode + Params
	KindEmail = "email" // Subject, HTML, Text, Headers
)

// Outbound is one rendered message to one recipient over one channel: what a
// sender needs and nothing it would have to look up.
type Outbound struct {
	// ID is our message id: the platform's idempotency or correlation key
	// where it has one (SMS OutId, the email Message-ID).
	ID      string
	Channel Channel
	Purpose Purpose
	Kind    string
	// To is the recipient on this channel: an external_userid, openid, phone
	// (canonical +86…), email address, or a WeCom member userid.
	To string
	// ContactID and Campaign travel into tracking links and receipts.
	ContactID string
	Campaign  string

	Text        string
	Title       string
	Description string
	URL         string
	PicURL      string
	MediaID     string

	TemplateID   string            // official-account template message
	Fields       map[string]string // its fields (rendered)
	TemplateCode string            // Aliyun SMS template code
	Params       map[string]string // its parameters (rendered)

	Subject string            // email
	HTML    string            // email HTML part
	Headers map[string]string // extra email headers

	WelcomeCode string // WeCom welcome message
	OpenKFID    string // 微信客服 account
	Sender      string // WeCom userid that sends a group task

	// LastInbound is when the customer last wrote or acted on this channel;
	// the official account may use customer-service messages only within 48 h of it.
	LastInbound time.Time
}

// Receipt is what the platform said about an accepted message.
type Receipt struct {
	// PlatformID is the platform's id for the message (msgid, BizId, the
	// SMTP queue id), kept on the timeline to match later reports.
	PlatformID string
	// Kind is the kind actually sent, which may differ from the one asked
	// for (an official-account text outside its window goes as a template).
	Kind string
}

// ErrorKind tells the pipeline what to do after a failed send.
type ErrorKind int

const (
	// Transient: retry later with back-off (timeouts, 5xx, flow control).
	Transient ErrorKind = iota + 1
	// Permanent: this message will never go out on this channel as it is;
	// fall back to the next channel.
	Permanent
	// OutsideWindow: the channel's conversation window is closed (official
	// account 48 h, 微信客服 session); another kind or channel may work.
	OutsideWindow
	// NoConsent: the recipient opted out on the platform (blacklisted
	// number, unfollowed); record it and do not retry.
	NoConsent
)

func (k ErrorKind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case OutsideWindow:
		return "outside_window"
	case NoConsent:
		return "no_consent"
	}
	return "unknown"
}

// SendError is the error every sender returns for a failed send.
type SendError struct {
	Kind ErrorKind
	// Code is the platform's own error code (errcode, Aliyun Code, SMTP
	// reply code) for statistics and the timeline.
	Code string
	Err  error
}

func (e *SendError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s failure (%s): %v", e.Kind, e.Code, e.Err)
	}
	return fmt.Sprintf("%s failure: %v", e.Kind, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// ErrOutcomeUnknown marks a failure after the request may have reached the
// platform (a timeout after writing it, a 5xx): the message may have gone
// out. Senders of platforms without idempotency wrap it, and the pipeline
// never resends such a message.
var ErrOutcomeUnknown = errors.New("outcome unknown: the platform may have accepted the message")

// KindOfError classifies any error from a sender; an error that is not a
// SendError (a bug, a cancelled context) counts as transient.
func KindOfError(err error) ErrorKind {
	var se *SendError
	if errors.As(err, &se) {
		return se.Kind
	}
	return Transient
}
