package templates

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Aliyun bills an SMS by segments: up to 70 characters (the 【sign】
// included) is one; a longer message is split into segments of 67, each
// carrying a header that joins them on the phone.
const (
	smsSingleRunes  = 70
	smsPartRunes    = 67
	maxSMSTextRunes = 500
)

var smsPlaceholderRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// SMSInfo is what an SMS preview adds: the text the phone shows and what
// it costs.
type SMSInfo struct {
	Text     string `json:"text"`
	Chars    int    `json:"chars"`
	Segments int    `json:"segments"`
}

// Segments is how many SMS a text of n characters is sent as.
func Segments(n int) int {
	switch {
	case n <= 0:
		return 0
	case n <= smsSingleRunes:
		return 1
	}
	return (n + smsPartRunes - 1) / smsPartRunes
}

// smsPlaceholders lists the ${name} placeholders of an approved text.
func smsPlaceholders(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range smsPlaceholderRE.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// smsText checks an SMS body's approved text against its params: Aliyun
// refuses a send whose TemplateParam has a name the template lacks, and
// sends "${name}" verbatim for one it is missing.
func (v *validator) smsText(b *SMSBody) {
	if b.Text == "" {
		return
	}
	if n := utf8.RuneCountInString(b.Text); n > maxSMSTextRunes || !utf8.ValidString(b.Text) {
		v.add("channels.sms.text", "must be valid UTF-8 of at most %d characters, as approved in the SMS console", maxSMSTextRunes)
		return
	}
	names := smsPlaceholders(b.Text)
	for _, name := range names {
		if !smsParamRE.MatchString(name) {
			v.add("channels.sms.text", "${%s} is not a valid placeholder: use a letter followed by letters, digits or _", truncateForMessage(name))
		} else if _, ok := b.Params[name]; !ok {
			v.add("channels.sms.params", "the approved text uses ${%s}; add a %q param", name, name)
		}
	}
	for _, k := range sortedKeys(b.Params) {
		if !strings.Contains(b.Text, "${"+k+"}") {
			v.add("channels.sms.params."+k, "is not in the approved text; Aliyun refuses params the template does not have (the text has %s)", placeholderList(names))
		}
	}
}

func placeholderList(names []string) string {
	if len(names) == 0 {
		return "no placeholders"
	}
	return "${" + strings.Join(names, "}, ${") + "}"
}

// smsPreview fills the approved text with the rendered params and counts
// the result with the sign, as the phone will show it.
func smsPreview(b *SMSBody, params map[string]string, sign string) *SMSInfo {
	if b == nil || b.Text == "" {
		return nil
	}
	text := smsPlaceholderRE.ReplaceAllStringFunc(b.Text, func(m string) string {
		if p, ok := params[m[2:len(m)-1]]; ok {
			return p
		}
		return m
	})
	if sign != "" {
		text = "【" + sign + "】" + text
	}
	n := utf8.RuneCountInString(text)
	return &SMSInfo{Text: text, Chars: n, Segments: Segments(n)}
}
