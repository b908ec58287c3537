package templates

import (
	"sort"
	"strconv"

	"github.com/journeygate/gateway/channels"
)

// Platform limits on rendered output. Rendering refuses to produce more,
// so a message never fails at the platform (or arrives cut) for length.
const (
	// WeCom message/send: text content up to 2048 bytes; a text card's
	// title up to 128 bytes and its description up to 512 bytes.
	weComTextBytes      = 2048
	weComCardTitleBytes = 128
	weComCardDescBytes  = 512
	// Official account customer-service text.
	oaTextBytes = 2048
	// A template-message field; WeChat's per-type limits are stricter
	// (e.g. 20 characters for a "thing"), this only stops runaway output.
	oaFieldBytes = 1024
	// URLs behind cards and template messages.
	urlBytes = 2048
	// Aliyun notification and marketing templates take 1 to 35 characters
	// per variable; an empty variable is refused too.
	smsParamRunes = 35
	// Email subject (characters) and each email body part.
	subjectRunes   = 200
	emailPartBytes = 512 << 10
)

// Limits on template source, checked on Save.
const (
	maxSourceBytes      = 16 << 10  // every field except the email bodies
	maxEmailSourceBytes = 512 << 10 // email HTML and text
	maxMapEntries       = 50        // SMS params, template-message fields
)

// role says which Rendered field a body field fills.
type role int

const (
	roleText role = iota
	roleTitle
	roleURL
	roleField
	roleParam
	roleSubject
	roleHTML
	roleTextBody
)

// fieldSpec is one template-text field of a body with the rules its
// output must meet.
type fieldSpec struct {
	path     string // e.g. channels.sms.params.name
	role     role
	key      string // the map key for fields and params
	src      string
	html     bool
	maxBytes int    // output cap in bytes
	maxRunes int    // output cap in characters, 0 for none
	limit    string // whose limit it is, for messages
	required bool   // must not render empty
	url      bool   // must render an absolute http(s) URL when not empty
	oneLine  bool   // must not contain line breaks (mail headers)
}

// bodyFields lists the template-text fields of the channel's body in a
// fixed order, or reports that the template has no such body.
func bodyFields(t *Template, ch channels.Channel) ([]fieldSpec, bool) {
	switch ch {
	case channels.WeCom:
		b := t.Channels.WeCom
		if b == nil {
			return nil, false
		}
		card := b.Title != "" || b.URL != ""
		text := fieldSpec{path: "channels.wecom.text", role: roleText, src: b.Text, maxBytes: weComTextBytes,
			limit: "WeCom's text limit", required: true}
		if card {
			text.maxBytes, text.limit = weComCardDescBytes, "WeCom's text card description limit"
		}
		fs := []fieldSpec{text}
		if card {
			fs = append(fs,
				fieldSpec{path: "channels.wecom.title", role: roleTitle, src: b.Title, maxBytes: weComCardTitleBytes,
					limit: "WeCom's text card title limit", required: true, oneLine: true},
				fieldSpec{path: "channels.wecom.url", role: roleURL, src: b.URL, maxBytes: urlBytes,
					limit: "the URL limit", required: true, url: true})
		}
		return fs, true
	case channels.OfficialAccount:
		b := t.Channels.OfficialAccount
		if b == nil {
			return nil, false
		}
		var fs []fieldSpec
		if b.Text != "" || b.TemplateID == "" {
			fs = append(fs, fieldSpec{path: "channels.officialaccount.text", role: roleText, src: b.Text,
				maxBytes: oaTextBytes, limit: "the official account's text limit", required: true})
		}
		for _, k := range sortedKeys(b.Fields) {
			fs = append(fs, fieldSpec{path: "channels.officialaccount.fields." + k, role: roleField, key: k,
				src: b.Fields[k], maxBytes: oaFieldBytes, limit: "the template-message field limit"})
		}
		if b.URL != "" {
			fs = append(fs, fieldSpec{path: "channels.officialaccount.url", role: roleURL, src: b.URL,
				maxBytes: urlBytes, limit: "the URL limit", url: true})
		}
		return fs, true
	case channels.SMS:
		b := t.Channels.SMS
		if b == nil {
			return nil, false
		}
		fs := make([]fieldSpec, 0, len(b.Params))
		for _, k := range sortedKeys(b.Params) {
			fs = append(fs, fieldSpec{path: "channels.sms.params." + k, role: roleParam, key: k, src: b.Params[k],
				maxBytes: smsParamRunes * 4, maxRunes: smsParamRunes, limit: "Aliyun's variable limit",
				required: true, oneLine: true})
		}
		return fs, true
	case channels.Email:
		b := t.Channels.Email
		if b == nil {
			return nil, false
		}
		fs := []fieldSpec{{path: "channels.email.subject", role: roleSubject, src: b.Subject,
			maxBytes: subjectRunes * 4, maxRunes: subjectRunes, limit: "the subject limit", required: true, oneLine: true}}
		if b.HTML != "" {
			fs = append(fs, fieldSpec{path: "channels.email.html", role: roleHTML, src: b.HTML, html: true,
				maxBytes: emailPartBytes, limit: "the email body limit"})
		}
		if b.Text != "" {
			fs = append(fs, fieldSpec{path: "channels.email.text", role: roleTextBody, src: b.Text,
				maxBytes: emailPartBytes, limit: "the email body limit"})
		}
		return fs, true
	}
	return nil, false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// limitText describes a field's cap for messages.
func (f *fieldSpec) limitText() string {
	if f.maxRunes > 0 {
		return strconv.Itoa(f.maxRunes) + " characters (" + f.limit + ")"
	}
	return strconv.Itoa(f.maxBytes) + " bytes (" + f.limit + ")"
}
