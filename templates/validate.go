package templates

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"regexp"
	"unicode/utf8"

	"github.com/journeygate/gateway/channels"
)

var (
	idRE           = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
	smsCodeRE      = regexp.MustCompile(`^SMS_\d+$`)
	smsParamRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)
	oaTemplateIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	oaFieldRE      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
)

const maxNameRunes = 200

// ValidID reports whether id can name a template: 1 to 64 of a-z, 0-9,
// "_" and "-", so it is safe in URLs and Redis keys alike.
func ValidID(id string) bool { return idRE.MatchString(id) }

// Validate checks everything Save checks, without storing: the id,
// purpose and channel rules, and every body field parsed with the guards.
// It returns nil or an *InvalidError listing every problem.
func Validate(t Template) error {
	var v validator
	if !ValidID(t.ID) {
		v.add("id", "must be 1 to 64 characters of a-z, 0-9, _ and -, got %q", truncateForMessage(t.ID))
	}
	switch n := utf8.RuneCountInString(t.Name); {
	case n == 0:
		v.add("name", "is required: a name the console lists the template by")
	case n > maxNameRunes || !utf8.ValidString(t.Name):
		v.add("name", "must be valid UTF-8 of at most %d characters", maxNameRunes)
	}
	switch t.Purpose {
	case channels.Transactional, channels.Service, channels.Marketing:
	default:
		v.add("purpose", "must be transactional, service or marketing, got %q", truncateForMessage(string(t.Purpose)))
	}
	if len(t.ChannelOrder()) == 0 {
		v.add("channels", "at least one of wecom, officialaccount, sms and email is required")
	}
	v.rules(&t)
	v.vars(t.Vars)
	v.alternates(&t)
	for _, ch := range t.ChannelOrder() {
		specs, _ := bodyFields(&t, ch)
		for i := range specs {
			v.source(&specs[i])
		}
	}
	if len(v.problems) > 0 {
		return &InvalidError{Problems: v.problems}
	}
	return nil
}

type validator struct {
	problems []Problem
	stubs    map[string]any
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// rules checks what each platform requires of a body.
func (v *validator) rules(t *Template) {
	if b := t.Channels.WeCom; b != nil {
		if b.Text == "" {
			v.add("channels.wecom.text", "is required")
		}
		if (b.Title == "") != (b.URL == "") {
			v.add("channels.wecom", "a text card needs both title and url; leave both out for a plain text message")
		}
	}
	if b := t.Channels.OfficialAccount; b != nil {
		switch {
		case b.TemplateID != "":
			if !oaTemplateIDRE.MatchString(b.TemplateID) {
				v.add("channels.officialaccount.template_id", "must be the template id from the official account's console (letters, digits, _ and -)")
			}
			if len(b.Fields) == 0 {
				v.add("channels.officialaccount.fields", "a template message needs its fields, e.g. {\"first\": \"...\", \"keyword1\": \"...\"}")
			}
		case b.Text == "":
			v.add("channels.officialaccount.text", "is required unless template_id is set")
		}
		if b.TemplateID == "" && len(b.Fields) > 0 {
			v.add("channels.officialaccount.fields", "fields belong to a template message; set template_id as well")
		}
		v.keys("channels.officialaccount.fields", b.Fields, oaFieldRE, "a letter followed by letters, digits or _ (e.g. keyword1)")
	}
	if b := t.Channels.SMS; b != nil {
		if !smsCodeRE.MatchString(b.TemplateCode) {
			v.add("channels.sms.template_code", "must be the approved Aliyun template code, like SMS_123456, got %q", truncateForMessage(b.TemplateCode))
		}
		if len(b.Params) == 0 {
			v.add("channels.sms.params", "at least one parameter is required, named as in the Aliyun template (e.g. {\"name\": \"{{.name}}\"})")
		}
		v.keys("channels.sms.params", b.Params, smsParamRE, "a letter followed by letters, digits or _, as in the Aliyun template's ${name}")
		v.smsText(b)
	}
	if b := t.Channels.Email; b != nil {
		if b.Subject == "" {
			v.add("channels.email.subject", "is required")
		}
		if b.Text == "" {
			v.add("channels.email.text", "is required: the plain-text part shown by mail clients that do not render HTML (spam filters expect it too)")
		}
	}
}

func (v *validator) keys(path string, m map[string]string, re *regexp.Regexp, want string) {
	if len(m) > maxMapEntries {
		v.add(path, "has %d entries; at most %d are allowed", len(m), maxMapEntries)
		return
	}
	for _, k := range sortedKeys(m) {
		if !re.MatchString(k) {
			v.add(path, "%q is not a valid name: use %s", truncateForMessage(k), want)
		}
	}
}

// source parses one field with the guards and checks what can be known
// without data: its size and the text it always writes.
func (v *validator) source(f *fieldSpec) {
	limit := maxSourceBytes
	if f.role == roleHTML || f.role == roleTextBody {
		limit = maxEmailSourceBytes
	}
	if len(f.src) > limit {
		v.add(f.path, "is %d bytes; templates are limited to %d", len(f.src), limit)
		return
	}
	if !utf8.ValidString(f.src) {
		v.add(f.path, "is not valid UTF-8")
		return
	}
	if v.stubs == nil {
		v.stubs = stubFuncs()
	}
	p, err := compile(f.path, f.src, f.html, v.stubs)
	if err != nil {
		v.add(f.path, "%s", err)
		return
	}
	switch {
	case f.maxRunes > 0 && p.staticRunes > f.maxRunes:
		v.add(f.path, "its fixed text alone is %d characters, over %s", p.staticRunes, f.limitText())
		return
	case p.staticBytes > f.maxBytes:
		v.add(f.path, "its fixed text alone is %d bytes, over %s", p.staticBytes, f.limitText())
		return
	}
	if f.html {
		// html/template escapes on first execution; an escaping error (an
		// action inside an unclosed attribute, say) comes before any output.
		var he *htmltemplate.Error
		if err := p.execute(io.Discard, map[string]any{}); errors.As(err, &he) {
			v.add(f.path, "%s", htmlProblem(he))
		}
	}
}
