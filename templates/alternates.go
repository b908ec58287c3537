package templates

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/journeygate/gateway/channels"
)

// MainLocale is the language of a template's main body. Chinese marketing
// teams write in it first; other languages are alternates.
const MainLocale = "zh-CN"

// LocaleBody is a template's bodies in another language. A channel it
// leaves out falls back to the main body's, so a team can translate the
// email first and the SMS later.
type LocaleBody struct {
	Channels Channels `json:"channels"`
}

// VariantBody is an A/B arm inside one template, chosen by the message's
// "variant" var (campaigns set it to the arm's name). Channels it leaves
// out fall back to the main body's; Locales translate the arm itself.
type VariantBody struct {
	Channels Channels              `json:"channels"`
	Locales  map[string]LocaleBody `json:"locales,omitempty"`
}

var (
	localeRE  = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$`)
	variantRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
)

const maxAlternates = 10

// isMainLocale reports whether a requested locale is the main body's:
// empty, zh, zh-CN, zh-Hans and the like (zh-TW and zh-HK may have their
// own traditional-character bodies).
func isMainLocale(l string) bool {
	l = strings.ToLower(strings.ReplaceAll(l, "_", "-"))
	switch l {
	case "", "zh", "zh-cn", "zh-hans", "zh-hans-cn", "zh-sg":
		return true
	}
	return false
}

// matchLocale picks the key of locales that serves the requested locale:
// the same tag (any case, _ or -), else the same language ("en-US" takes
// "en"); "" means the main body.
func matchLocale[T any](locales map[string]T, want string) string {
	if isMainLocale(want) || len(locales) == 0 {
		return ""
	}
	want = strings.ToLower(strings.ReplaceAll(want, "_", "-"))
	keys := make([]string, 0, len(locales))
	for k := range locales {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.ToLower(k) == want {
			return k
		}
	}
	lang, _, _ := strings.Cut(want, "-")
	for _, k := range keys {
		if kl, _, _ := strings.Cut(strings.ToLower(k), "-"); kl == lang {
			return k
		}
	}
	return ""
}

// choice is which alternate bodies a render used.
type choice struct{ locale, variant string }

func (c choice) key() string { return c.locale + "/" + c.variant }

// resolve returns the template with each channel's body taken from, in
// order: the variant's translation, the main translation, the variant,
// the main body. Language comes before the A/B arm: an English reader
// gets English even where the arm was only written in Chinese.
func (t *Template) resolve(locale, variant string) (Template, choice) {
	var c choice
	out := *t
	layers := []*Channels{&t.Channels}
	if v, ok := t.Variants[variant]; ok && variant != "" {
		c.variant = variant
		layers = append(layers, &v.Channels)
		if k := matchLocale(t.Locales, locale); k != "" {
			c.locale = k
			b := t.Locales[k]
			layers = append(layers, &b.Channels)
		}
		if k := matchLocale(v.Locales, locale); k != "" {
			c.locale = k
			b := v.Locales[k]
			layers = append(layers, &b.Channels)
		}
	} else if k := matchLocale(t.Locales, locale); k != "" {
		c.locale = k
		b := t.Locales[k]
		layers = append(layers, &b.Channels)
	}
	if len(layers) == 1 {
		return out, c
	}
	ch := t.Channels
	for _, l := range layers[1:] {
		if l.WeCom != nil && ch.WeCom != nil {
			ch.WeCom = l.WeCom
		}
		if l.OfficialAccount != nil && ch.OfficialAccount != nil {
			ch.OfficialAccount = l.OfficialAccount
		}
		if l.SMS != nil && ch.SMS != nil {
			ch.SMS = l.SMS
		}
		if l.Email != nil && ch.Email != nil {
			ch.Email = l.Email
		}
	}
	out.Channels = ch
	return out, c
}

// choose reads the locale and variant a render asks for from its data:
// the contact's locale field or the message's "locale" var, and the
// campaign's (or message's) "variant" var.
func choose(data map[string]any) (locale, variant string) {
	locale, _ = data["locale"].(string)
	variant, _ = data["variant"].(string)
	return locale, variant
}

// alternates validates the translations and arms: valid names, only
// channels the main body has (routing follows the main body), and every
// body under the same rules as the main one.
func (v *validator) alternates(t *Template) {
	if len(t.Locales) > maxAlternates {
		v.add("locales", "has %d entries; at most %d are allowed", len(t.Locales), maxAlternates)
	}
	if len(t.Variants) > maxAlternates {
		v.add("variants", "has %d entries; at most %d are allowed", len(t.Variants), maxAlternates)
	}
	for _, k := range sortedMapKeys(t.Locales) {
		v.locale("locales."+k, k, t.Locales[k].Channels, &t.Channels)
	}
	for _, name := range sortedMapKeys(t.Variants) {
		path := "variants." + name
		if !variantRE.MatchString(name) {
			v.add("variants", "%q is not a valid variant name: use 1 to 32 letters, digits, _ or -", truncateForMessage(name))
			continue
		}
		vb := t.Variants[name]
		v.body(path, vb.Channels, &t.Channels)
		if len(vb.Locales) > maxAlternates {
			v.add(path+".locales", "has %d entries; at most %d are allowed", len(vb.Locales), maxAlternates)
		}
		for _, k := range sortedMapKeys(vb.Locales) {
			v.locale(path+".locales."+k, k, vb.Locales[k].Channels, &t.Channels)
		}
	}
}

func (v *validator) locale(path, key string, chs Channels, main *Channels) {
	switch {
	case !localeRE.MatchString(key):
		v.add(path, "%q is not a locale: use a tag like en, en-US or zh-TW", truncateForMessage(key))
	case isMainLocale(key):
		v.add(path, "%s is the main body's language (%s); write it under channels", key, MainLocale)
	default:
		v.body(path, chs, main)
	}
}

// body checks one alternate's channels as a template of their own would
// be checked, with the paths under prefix.
func (v *validator) body(prefix string, chs Channels, main *Channels) {
	alt := Template{Channels: chs}
	order := alt.ChannelOrder()
	if len(order) == 0 {
		v.add(prefix+".channels", "at least one channel body is required")
		return
	}
	mainT := Template{Channels: *main}
	for _, ch := range order {
		if !containsChannel(mainT.ChannelOrder(), ch) {
			v.add(prefix+".channels."+string(ch), "the main body has no %s body; add it there first (routing follows the main body)", ch)
		}
	}
	var sub validator
	sub.stubs = v.stubs
	sub.rules(&alt)
	for _, ch := range order {
		specs, _ := bodyFields(&alt, ch)
		for i := range specs {
			sub.source(&specs[i])
		}
	}
	v.stubs = sub.stubs
	for _, p := range sub.problems {
		v.problems = append(v.problems, Problem{Path: prefix + "." + p.Path, Message: p.Message})
	}
}

func containsChannel(list []channels.Channel, ch channels.Channel) bool {
	for _, c := range list {
		if c == ch {
			return true
		}
	}
	return false
}

func sortedMapKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// describe names an alternate for messages.
func (c choice) String() string {
	switch {
	case c.locale != "" && c.variant != "":
		return fmt.Sprintf("variant %s, locale %s", c.variant, c.locale)
	case c.variant != "":
		return "variant " + c.variant
	case c.locale != "":
		return "locale " + c.locale
	}
	return "main body"
}
