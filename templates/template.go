package templates

import (
	"time"

	"github.com/journeygate/gateway/channels"
)

// Template is one message in every channel it can go out on. Its JSON is
// the admin API's (PUT /api/v1/templates/:id).
type Template struct {
	ID      string           `json:"id"`
	Name    string           `json:"name"`
	Purpose channels.Purpose `json:"purpose"` // transactional, service or marketing
	// Channels holds a body per channel; a nil body means the template is
	// not sent on that channel.
	Channels Channels `json:"channels"`
	// Vars declares the variables the bodies use, with a sample for
	// previews and a default for sends that lack them, so an editor sees
	// realistic text and a customer never gets "您好，" with a gap.
	Vars []Var `json:"vars,omitempty"`
	// Locales hold the bodies in other languages than the main zh-CN
	// ("en"), chosen by the contact's locale field or the message's
	// "locale" var; Variants hold A/B arms chosen by the "variant" var.
	// Both fall back to the main body channel by channel.
	Locales  map[string]LocaleBody  `json:"locales,omitempty"`
	Variants map[string]VariantBody `json:"variants,omitempty"`
	// Version, UpdatedAt and UpdatedBy are set by the Store on Save; what a
	// caller puts there is ignored.
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	// Status, PublishedVersion, PublishedAt and PublishedBy are set by the
	// Store on every read, so an editor sees at once whether what it shows
	// is live: Status is this version's (draft, published or superseded),
	// PublishedVersion the template's live version (0 while only drafts
	// exist), PublishedAt and PublishedBy this version's last publish.
	Status           Status     `json:"status,omitempty"`
	PublishedVersion int        `json:"published_version,omitempty"`
	PublishedAt      *time.Time `json:"published_at,omitempty"`
	PublishedBy      string     `json:"published_by,omitempty"`
}

// Status says whether sends use a version. Drafts let an editor save work
// in progress without changing what customers get.
type Status string

const (
	// StatusDraft is a version never published and newer than every
	// version that was: a candidate for the next publish.
	StatusDraft Status = "draft"
	// StatusPublished is the version sends use; exactly one per template.
	StatusPublished Status = "published"
	// StatusSuperseded is a version that was live and was replaced, or a
	// draft overtaken by a later publish.
	StatusSuperseded Status = "superseded"
)

// Var is one declared variable. Sample fills previews; Default fills a send
// whose data lacks the variable (missing, null or ""). Either may be a
// string, number, boolean, list or map, as the vars of a message can.
type Var struct {
	Name        string `json:"name"`
	Sample      any    `json:"sample,omitempty"`
	Default     any    `json:"default,omitempty"`
	Description string `json:"description,omitempty"`
}

// Channels are the per-channel bodies. Every string in them is template
// text except the platform ids (OABody.TemplateID, SMSBody.TemplateCode),
// which the platforms approved and must be sent as they are.
type Channels struct {
	WeCom           *WeComBody `json:"wecom,omitempty"`
	OfficialAccount *OABody    `json:"officialaccount,omitempty"`
	SMS             *SMSBody   `json:"sms,omitempty"`
	Email           *EmailBody `json:"email,omitempty"`
}

// WeComBody is a WeCom message: plain text, or a text card when Title and
// URL are set (Text is then the card's description).
type WeComBody struct {
	Text  string `json:"text"`
	Title string `json:"title,omitempty"`
	URL   string `json:"url,omitempty"`
}

// OABody is an official-account message. Text is the customer-service
// message, allowed only within 48 hours of the follower's last
// interaction; TemplateID and Fields make the template message sent
// outside that window. A body may carry both so the sender can choose.
type OABody struct {
	Text       string            `json:"text,omitempty"`
	TemplateID string            `json:"template_id,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`
	URL        string            `json:"url,omitempty"`
}

// SMSBody names an Aliyun template approved in the SMS console; only its
// parameters are ours to fill, the text itself lives at Aliyun. Text is an
// optional copy of that approved wording with its ${name} placeholders:
// with it, validation checks the params are exactly the placeholders, and
// previews show the message a phone gets and how many segments it costs.
type SMSBody struct {
	TemplateCode string            `json:"template_code"`
	Params       map[string]string `json:"params"`
	Text         string            `json:"text,omitempty"`
}

// EmailBody is an email; HTML is rendered with contextual escaping, Text
// is the plain-text alternative.
type EmailBody struct {
	Subject string `json:"subject"`
	HTML    string `json:"html,omitempty"`
	Text    string `json:"text,omitempty"`
}

// Summary is what a template list shows, without the bodies, which can be
// hundreds of kilobytes of email HTML each.
type Summary struct {
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Purpose   channels.Purpose   `json:"purpose"`
	Channels  []channels.Channel `json:"channels"`
	Version   int                `json:"version"`
	UpdatedAt time.Time          `json:"updated_at"`
	UpdatedBy string             `json:"updated_by,omitempty"`
	// Status is the newest version's; PublishedVersion the live one (0:
	// drafts only, nothing is sent from this template yet).
	Status           Status `json:"status,omitempty"`
	PublishedVersion int    `json:"published_version"`
}

// ChannelOrder lists the channels the template has a body for, in the
// order routing tries them: the conversational channels a customer reads
// first, then SMS, then email.
func (t *Template) ChannelOrder() []channels.Channel {
	order := make([]channels.Channel, 0, 4)
	if t.Channels.WeCom != nil {
		order = append(order, channels.WeCom)
	}
	if t.Channels.OfficialAccount != nil {
		order = append(order, channels.OfficialAccount)
	}
	if t.Channels.SMS != nil {
		order = append(order, channels.SMS)
	}
	if t.Channels.Email != nil {
		order = append(order, channels.Email)
	}
	return order
}
