package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

// multilingual has a main body, an English one without SMS, a
// traditional-Chinese one, and an arm "b" translated to English for WeCom
// only.
func multilingual() Template {
	return Template{ID: "launch", Name: "Launch", Purpose: channels.Marketing, Version: 2,
		Channels: Channels{
			WeCom: &WeComBody{Text: "{{.name}}，新品上市"},
			SMS:   &SMSBody{TemplateCode: "SMS_1", Params: map[string]string{"name": "{{.name}}"}},
			Email: &EmailBody{Subject: "新品上市", Text: "{{.name}}，新品上市"},
		},
		Locales: map[string]LocaleBody{
			"en":    {Channels: Channels{WeCom: &WeComBody{Text: "{{.name}}, it is out"}, Email: &EmailBody{Subject: "It is out", Text: "{{.name}}, it is out"}}},
			"zh-TW": {Channels: Channels{WeCom: &WeComBody{Text: "{{.name}}，新品上市（繁）"}}},
		},
		Variants: map[string]VariantBody{
			"b": {Channels: Channels{WeCom: &WeComBody{Text: "{{.name}}，限时抢购"}, Email: &EmailBody{Subject: "限时抢购", Text: "{{.name}}，限时抢购"}},
				Locales: map[string]LocaleBody{"en": {Channels: Channels{WeCom: &WeComBody{Text: "{{.name}}, flash sale"}}}}},
		},
	}
}

func TestLocalesAndVariants(t *testing.T) {
	r := newRenderer(t, RenderOptions{})
	tests := []struct {
		locale, variant string
		ch              channels.Channel
		want            string // text, subject or the SMS code
		wantLocale      string
		wantVariant     string
	}{
		{"", "", channels.WeCom, "李雷，新品上市", "", ""},
		{"zh-CN", "", channels.WeCom, "李雷，新品上市", "", ""},
		{"en", "", channels.WeCom, "李雷, it is out", "en", ""},
		{"en-US", "", channels.WeCom, "李雷, it is out", "en", ""},
		{"EN_gb", "", channels.Email, "It is out", "en", ""},
		{"en", "", channels.SMS, "SMS_1", "en", ""}, // no English SMS: the main one
		{"zh-TW", "", channels.WeCom, "李雷，新品上市（繁）", "zh-TW", ""},
		{"zh_tw", "", channels.WeCom, "李雷，新品上市（繁）", "zh-TW", ""},
		{"zh-HK", "", channels.WeCom, "李雷，新品上市（繁）", "zh-TW", ""}, // no zh-HK body: the other traditional one
		{"ja", "", channels.WeCom, "李雷，新品上市", "", ""},
		{"", "b", channels.WeCom, "李雷，限时抢购", "", "b"},
		{"", "b", channels.SMS, "SMS_1", "", "b"},
		{"en", "b", channels.WeCom, "李雷, flash sale", "en", "b"},
		{"en", "b", channels.Email, "It is out", "en", "b"}, // the arm's email is Chinese only: English first
		{"", "main", channels.WeCom, "李雷，新品上市", "", ""},     // a campaign arm naming no variant here
		{"", "a", channels.WeCom, "李雷，新品上市", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.locale+"/"+tt.variant+"/"+string(tt.ch), func(t *testing.T) {
			data := map[string]any{"name": "李雷"}
			if tt.locale != "" {
				data["locale"] = tt.locale
			}
			if tt.variant != "" {
				data["variant"] = tt.variant
			}
			out, err := r.Render(multilingual(), tt.ch, data)
			if err != nil {
				t.Fatal(err)
			}
			got := firstOf(out.Text, out.Subject, out.TemplateCode)
			if diff := cmp.Diff([]string{tt.want, tt.wantLocale, tt.wantVariant}, []string{got, out.Locale, out.Variant}); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func TestValidateAlternates(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Template)
		want []Problem
	}{
		{"fine", func(*Template) {}, nil},
		{"main language as a locale", func(t *Template) {
			t.Locales["zh-CN"] = LocaleBody{Channels: Channels{WeCom: &WeComBody{Text: "x"}}}
		}, []Problem{{"locales.zh-CN", "zh-CN is the main body's language (zh-CN); write it under channels"}}},
		{"bad locale", func(t *Template) {
			t.Locales["english"] = LocaleBody{Channels: Channels{WeCom: &WeComBody{Text: "x"}}}
		}, []Problem{{"locales.english", `"english" is not a locale: use a tag like en, en-US or zh-TW`}}},
		{"channel the main body lacks", func(t *Template) {
			en := t.Locales["en"]
			en.Channels.OfficialAccount = &OABody{Text: "x"}
			t.Locales["en"] = en
		}, []Problem{{"locales.en.channels.officialaccount", "the main body has no officialaccount body; add it there first (routing follows the main body)"}}},
		{"rules apply inside", func(t *Template) {
			t.Locales["en"].Channels.Email.Text = ""
			t.Variants["b"].Locales["en"].Channels.WeCom.Text = "{{call .x}}"
		}, []Problem{
			{"locales.en.channels.email.text", "is required: the plain-text part shown by mail clients that do not render HTML (spam filters expect it too)"},
			{"variants.b.locales.en.channels.wecom.text", `line 1: function "call" is not allowed in templates; use one of: default, upper, lower, trim, truncate, date, urlquery, and, or, not, eq, ne, lt, le, gt, ge, len, index`},
		}},
		{"empty variant", func(t *Template) {
			t.Variants["c"] = VariantBody{}
		}, []Problem{{"variants.c.channels", "at least one channel body is required"}}},
		{"bad variant name", func(t *Template) {
			t.Variants["b b"] = VariantBody{Channels: Channels{WeCom: &WeComBody{Text: "x"}}}
		}, []Problem{{"variants", `"b b" is not a valid variant name: use 1 to 32 letters, digits, _ or -`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := multilingual()
			tt.edit(&tmpl)
			var got []Problem
			if err := Validate(tmpl); err != nil {
				got = err.(*InvalidError).Problems
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestCacheKeepsAlternatesApart renders one saved version in turns, so a
// cache keyed by version alone would serve one language to the other.
func TestCacheKeepsAlternatesApart(t *testing.T) {
	r := newRenderer(t, RenderOptions{})
	for range 3 {
		for _, l := range []string{"en", "", "zh-TW"} {
			out, err := r.Render(multilingual(), channels.WeCom, map[string]any{"name": "N", "locale": l})
			if err != nil {
				t.Fatal(err)
			}
			if out.Locale != l {
				t.Errorf("asked %q, rendered %q: %s", l, out.Locale, out.Text)
			}
		}
	}
}

// TestGoldenAlternates renders every alternate of multilingual on every
// channel into one golden file.
func TestGoldenAlternates(t *testing.T) {
	r := newRenderer(t, RenderOptions{})
	var b strings.Builder
	for _, v := range []string{"", "b"} {
		for _, l := range []string{"", "en", "zh-TW"} {
			tmpl := multilingual()
			for _, ch := range tmpl.ChannelOrder() {
				out, err := r.Render(tmpl, ch, map[string]any{"name": "李雷", "locale": l, "variant": v})
				if err != nil {
					t.Fatal(err)
				}
				b.WriteString("=== locale=" + l + " variant=" + v + "\n")
				b.WriteString(goldenText(&out))
			}
		}
	}
	path := filepath.Join("testdata", "golden", "alternates.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("%s (-want +got)\n%s", path, diff)
	}
}

func TestDiffCoversAlternates(t *testing.T) {
	a, b := multilingual(), multilingual()
	b.Locales["en"].Channels.WeCom.Text = "{{.name}}, now available"
	b.Vars = []Var{{Name: "name", Sample: "Li"}}
	var paths []string
	for _, c := range Diff(a, b) {
		paths = append(paths, c.Path)
	}
	if diff := cmp.Diff([]string{"locales.en.channels.wecom.text", "vars.name.sample"}, paths); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
