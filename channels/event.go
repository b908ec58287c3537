// Package channels holds what every channel shares: the inbound Event that each
// callback decoder produces and the identities that tie it to a contact.
// One package per channel below it verifies, decodes and sends.
package channels

import "time"

// Channel names a path to a customer. The string values are part of the
// outside contract (routes, consent keys, API fields).
type Channel string

const (
	WeCom           Channel = "wecom"
	OfficialAccount Channel = "officialaccount"
	SMS             Channel = "sms"
	Email           Channel = "email"
	// API marks events posted by operators' systems to /api/v1/events.
	API Channel = "api"
)

// IdentityKind is the kind of platform id a customer is known by; the values
// match the contract's contact JSON keys.
type IdentityKind string

const (
	Phone          IdentityKind = "phone"
	EmailAddress   IdentityKind = "email"
	OpenID         IdentityKind = "openid"
	UnionID        IdentityKind = "unionid"
	ExternalUserID IdentityKind = "external_userid"
)

// Identity is one platform id of a customer.
type Identity struct {
	Kind  IdentityKind `json:"kind"`
	Value string       `json:"value"`
}

// KindFor maps a channel to the identity that reaches a customer on it, so a
// lookup by (channel, platform id) needs no other knowledge of the platform.
func KindFor(c Channel) (IdentityKind, bool) {
	switch c {
	case WeCom:
		return ExternalUserID, true
	case OfficialAccount:
		return OpenID, true
	case SMS:
		return Phone, true
	case Email:
		return EmailAddress, true
	}
	return "", false
}

// Event types shared by the decoders. Operators' API events use their own
// free-form types (e.g. whitepaper_download) next to these.
const (
	// A customer wrote to us (text, image, voice, location, link); Props["msg_type"] says which.
	TypeMessage = "message"
	// A WeCom member (a sales rep) wrote to our app.
	TypeMemberMessage = "member_message"

	// Official account.
	TypeSubscribe            = "subscribe"   // Props["scene"] holds the QR scene without "qrscene_"
	TypeUnsubscribe          = "unsubscribe" // the follower left: marketing consent ends
	TypeScan                 = "scan"        // an existing follower scanned a QR code; Props["scene"]
	TypeMenuClick            = "menu_click"  // Props["key"]
	TypeMenuView             = "menu_view"   // Props["url"]
	TypeTemplateSendFinished = "template_send_finished"

	// WeCom customer contact (change_external_contact and friends).
	TypeContactAdded          = "contact_added"      // Member is the rep; Props["state"], Props["welcome_code"]
	TypeContactHalfAdded      = "contact_half_added" // the customer accepted but has not been added back yet
	TypeContactEdited         = "contact_edited"
	TypeContactDeleted        = "contact_deleted" // the rep removed the customer
	TypeContactLeft           = "contact_left"    // the customer removed the rep: churn signal
	TypeContactTransferFailed = "contact_transfer_failed"
	TypeWeComTagChanged       = "wecom_tag_changed" // Props["tag_id"], ["tag_type"], ["change"]
	TypeKFPending             = "kf_pending"        // 微信客服 has messages to pull; Props["token"], ["open_kfid"]
	// 微信客服, pulled with kf/sync_msg. A customer's message there is a
	// TypeMessage with Props["open_kfid"].
	TypeKFSessionEntered  = "kf_session_entered"  // Props["open_kfid"], ["scene"], ["scene_param"], ["welcome_code"]
	TypeKFServicerMessage = "kf_servicer_message" // a human servicer wrote to the customer; Props["servicer"]
	TypeKFEvent           = "kf_event"            // another 微信客服 event; Props["event_type"]

	// SMS.
	TypeSMSDelivered = "sms_delivered"
	TypeSMSFailed    = "sms_failed" // Props["err_code"], ["err_msg"]
	TypeSMSReply     = "sms_reply"

	// Email.
	TypeEmailOpen        = "email_open"
	TypeEmailClick       = "email_click" // Props["url"]
	TypeEmailUnsubscribe = "email_unsubscribe"
	TypeEmailBounce      = "email_bounce" // Props["bounce"] is "hard" or "soft"
	TypeEmailComplaint   = "email_complaint"
)

// Event is every inbound fact in one shape: a platform callback or an API
// call. Decoders fill it; contacts, dialogs and outreach consume it.
type Event struct {
	// ID is the de-duplication key, stable across the platform's retries and
	// unique within Source (for example the WeChat MsgId).
	ID     string
	Source Channel
	Type   string
	At     time.Time
	// Contact lists the customer's identities, most specific first. It is
	// empty when the actor is a WeCom member rather than a customer.
	Contact []Identity
	// Member is the WeCom userid of the rep involved: the rep who added the
	// customer, or the member who wrote to the app.
	Member string
	// Text is what the customer (or member) wrote, if anything.
	Text  string
	Props map[string]string
}
