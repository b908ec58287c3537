package templates

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func TestValidateAcceptsSample(t *testing.T) {
	if err := Validate(sample()); err != nil {
		t.Fatal(err)
	}
}

// TestValidateContractBody decodes the admin API's documented example
// body and validates it.
func TestValidateContractBody(t *testing.T) {
	body := `{"name": "Webinar reminder", "purpose": "marketing",
	 "channels": {
	   "wecom": {"text": "{{.name}}，研讨会明天开始"},
	   "officialaccount": {"text": "...", "template_id": "tmpl-1", "fields": {"first": "..."}},
	   "sms": {"template_code": "SMS_123456", "params": {"name": "{{.name}}"}},
	   "email": {"subject": "...", "html": "...", "text": "..."}}}`
	var tmpl Template
	if err := json.Unmarshal([]byte(body), &tmpl); err != nil {
		t.Fatal(err)
	}
	tmpl.ID = "webinar"
	if err := Validate(tmpl); err != nil {
		t.Fatal(err)
	}
	want := []channels.Channel{channels.WeCom, channels.OfficialAccount, channels.SMS, channels.Email}
	if diff := cmp.Diff(want, tmpl.ChannelOrder()); diff != "" {
		t.Errorf("ChannelOrder (-want +got)\n%s", diff)
	}
}

func TestValidateProblems(t *testing.T) {
	base := func(c Channels) Template {
		return Template{ID: "t", Name: "n", Purpose: channels.Service, Channels: c}
	}
	tests := []struct {
		name string
		tmpl Template
		want []Problem
	}{
		{"everything missing", Template{}, []Problem{
			{"id", `must be 1 to 64 characters of a-z, 0-9, _ and -, got ""`},
			{"name", "is required: a name the console lists the template by"},
			{"purpose", `must be transactional, service or marketing, got ""`},
			{"channels", "at least one of wecom, officialaccount, sms and email is required"},
		}},
		{"bad id and purpose", Template{ID: "Bad Id", Name: "n", Purpose: "promo", Channels: Channels{WeCom: &WeComBody{Text: "x"}}}, []Problem{
			{"id", `must be 1 to 64 characters of a-z, 0-9, _ and -, got "Bad Id"`},
			{"purpose", `must be transactional, service or marketing, got "promo"`},
		}},
		{"id too long", Template{ID: strings.Repeat("a", 65), Name: "n", Purpose: channels.Marketing, Channels: Channels{WeCom: &WeComBody{Text: "x"}}}, []Problem{
			{"id", `must be 1 to 64 characters of a-z, 0-9, _ and -, got "` + strings.Repeat("a", 65) + `"`},
		}},
		{"wecom needs text", base(Channels{WeCom: &WeComBody{}}), []Problem{
			{"channels.wecom.text", "is required"},
		}},
		{"wecom card needs title and url", base(Channels{WeCom: &WeComBody{Text: "x", Title: "t"}}), []Problem{
			{"channels.wecom", "a text card needs both title and url; leave both out for a plain text message"},
		}},
		{"official account needs text or template", base(Channels{OfficialAccount: &OABody{}}), []Problem{
			{"channels.officialaccount.text", "is required unless template_id is set"},
		}},
		{"official account template needs fields", base(Channels{OfficialAccount: &OABody{TemplateID: "abc"}}), []Problem{
			{"channels.officialaccount.fields", `a template message needs its fields, e.g. {"first": "...", "keyword1": "..."}`},
		}},
		{"official account fields need a template", base(Channels{OfficialAccount: &OABody{Text: "x", Fields: map[string]string{"first": "y"}}}), []Problem{
			{"channels.officialaccount.fields", "fields belong to a template message; set template_id as well"},
		}},
		{"official account bad ids", base(Channels{OfficialAccount: &OABody{TemplateID: "a b", Fields: map[string]string{"1st": "y"}}}), []Problem{
			{"channels.officialaccount.template_id", "must be the template id from the official account's console (letters, digits, _ and -)"},
			{"channels.officialaccount.fields", `"1st" is not a valid name: use a letter followed by letters, digits or _ (e.g. keyword1)`},
		}},
		{"sms needs code and params", base(Channels{SMS: &SMSBody{TemplateCode: "123456"}}), []Problem{
			{"channels.sms.template_code", `must be the approved Aliyun template code, like SMS_123456, got "123456"`},
			{"channels.sms.params", `at least one parameter is required, named as in the Aliyun template (e.g. {"name": "{{.name}}"})`},
		}},
		{"sms param names", base(Channels{SMS: &SMSBody{TemplateCode: "SMS_1", Params: map[string]string{"my-name": "x"}}}), []Problem{
			{"channels.sms.params", `"my-name" is not a valid name: use a letter followed by letters, digits or _, as in the Aliyun template's ${name}`},
		}},
		{"sms fixed text over 35 characters", base(Channels{SMS: &SMSBody{TemplateCode: "SMS_1", Params: map[string]string{"p": strings.Repeat("字", 36)}}}), []Problem{
			{"channels.sms.params.p", "its fixed text alone is 36 characters, over 35 characters (Aliyun's variable limit)"},
		}},
		{"email needs subject and a body", base(Channels{Email: &EmailBody{}}), []Problem{
			{"channels.email.subject", "is required"},
			{"channels.email.text", "is required: the plain-text part shown by mail clients that do not render HTML (spam filters expect it too)"},
		}},
		{"wecom fixed text over the limit", base(Channels{WeCom: &WeComBody{Text: strings.Repeat("x", 2049) + "{{.a}}"}}), []Problem{
			{"channels.wecom.text", "its fixed text alone is 2049 bytes, over 2048 bytes (WeCom's text limit)"},
		}},
		{"source too large", base(Channels{WeCom: &WeComBody{Text: strings.Repeat("{{.a}}", 3000)}}), []Problem{
			{"channels.wecom.text", "is 18000 bytes; templates are limited to 16384"},
		}},
		{"syntax error", base(Channels{WeCom: &WeComBody{Text: "Hi {{.name"}}), []Problem{
			{"channels.wecom.text", "line 1: unclosed action"},
		}},
		{"unclosed HTML attribute", base(Channels{Email: &EmailBody{Subject: "s", HTML: `<a href="{{.u}}>x</a>`, Text: "x"}}), []Problem{
			{"channels.email.html", "ends inside a tag, an attribute, a comment or a script; close it"},
		}},
		{"urlquery in HTML", base(Channels{Email: &EmailBody{Subject: "s", HTML: `<p>{{urlquery .u}}</p>`, Text: "x"}}), []Problem{
			{"channels.email.html", `line 1: function "urlquery" is not allowed in templates; use one of: default, upper, lower, trim, truncate, date, and, or, not, eq, ne, lt, le, gt, ge, len, index`},
		}},
		{"problems in several channels at once", base(Channels{WeCom: &WeComBody{Text: "{{call .f}}"}, Email: &EmailBody{Subject: "{{template \"x\"}}", Text: "x"}}), []Problem{
			{"channels.wecom.text", `line 1: function "call" is not allowed in templates; use one of: default, upper, lower, trim, truncate, date, urlquery, and, or, not, eq, ne, lt, le, gt, ge, len, index`},
			{"channels.email.subject", "line 1: {{template}} and {{block}} are not allowed: a field cannot include other templates"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.tmpl)
			var ie *InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want an *InvalidError", err)
			}
			if diff := cmp.Diff(tc.want, ie.Problems); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestGuards lists what template text may not do; each is refused at
// Save time with the line it is on.
func TestGuards(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"call", "{{call .f 1}}", `line 1: function "call" is not allowed in templates`},
		{"printf", "a\n{{printf \"%0999999999d\" 1}}", `line 2: function "printf" is not allowed in templates`},
		{"print", "{{print .a}}", `function "print" is not allowed`},
		{"html", "{{html .a}}", `function "html" is not allowed`},
		{"js", "{{js .a}}", `function "js" is not allowed`},
		{"slice", "{{slice .a 1}}", `function "slice" is not allowed`},
		{"unknown function", "{{exec \"rm\"}}", `function "exec" is not allowed`},
		{"hidden guard", "{{_range $ 1 1 .a}}", `function "_range" is not allowed`},
		{"hidden lookup", "{{_lookup . \"a\"}}", `function "_lookup" is not allowed`},
		{"define", "{{define \"x\"}}hi{{end}}", "{{define}} and {{block}} are not allowed"},
		{"define over the field's own name", "{{define \"channels.wecom.text\"}}hi{{end}}", "{{define}} and {{block}} are not allowed"},
		{"define inside an action", "{{if .a}}{{define \"y\"}}{{end}}{{end}}", "line 1: unexpected <define> in command ({{define}}, {{block}} and {{template}} are not allowed)"},
		{"block", "{{block \"x\" .}}b{{end}}", "{{define}} and {{block}} are not allowed"},
		{"template", "x\n\n{{template \"x\" .}}", "line 3: {{template}} and {{block}} are not allowed"},
		{"assigning $", "{{$ = 1}}", "line 1: the variable $ cannot be assigned"},
		{"declaring $ in a loop", "{{range $ := .a}}{{end}}", "the variable $ cannot be assigned"},
		{"range over a constant", "{{range 1000000000}}{{end}}", "line 1: range needs a list or a map from the data, not a constant"},
		{"function without its arguments", "{{default \"x\" upper}}", "line 1: upper needs its arguments in parentheses here: (upper ...)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(wecomText(tc.src))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

func TestValidIDs(t *testing.T) {
	got := map[string]bool{}
	for _, id := range []string{"a", "webinar-reminder_2", strings.Repeat("z", 64), "", "A", "a b", "a/b", "{x}", strings.Repeat("z", 65), "模板"} {
		got[id] = ValidID(id)
	}
	want := map[string]bool{"a": true, "webinar-reminder_2": true, strings.Repeat("z", 64): true, "": false, "A": false,
		"a b": false, "a/b": false, "{x}": false, strings.Repeat("z", 65): false, "模板": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestChannelOrder(t *testing.T) {
	tests := []struct {
		name string
		c    Channels
		want []channels.Channel
	}{
		{"none", Channels{}, []channels.Channel{}},
		{"email and wecom", Channels{Email: &EmailBody{}, WeCom: &WeComBody{}}, []channels.Channel{channels.WeCom, channels.Email}},
		{"sms and official account", Channels{SMS: &SMSBody{}, OfficialAccount: &OABody{}}, []channels.Channel{channels.OfficialAccount, channels.SMS}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := Template{Channels: tc.c}
			if diff := cmp.Diff(tc.want, tmpl.ChannelOrder()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}
