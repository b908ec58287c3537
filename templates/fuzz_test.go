package templates

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/journeygate/gateway/channels"
)

// FuzzParse feeds arbitrary template text through the guards: parsing and
// rewriting never panic, and whatever passes renders (or fails with
// ErrRender) within the output limit, without panicking either.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Hi {{.name}}",
		"{{default \"friend\" .name | upper}}",
		"{{range $i, $x := .items}}{{if lt $i 2}}{{$x}}{{end}}{{else}}none{{end}}",
		"{{with .user}}{{.city}}{{end}}{{if and .a (not .b)}}x{{end}}",
		"{{call .f}}{{define \"x\"}}{{end}}{{template \"x\"}}",
		"{{block \"b\" .}}{{end}}{{$ = 1}}",
		"{{range .items}}{{range $.items}}{{break}}{{end}}{{continue}}{{end}}",
		"{{truncate 3 .name}}{{date \"2006\" .when}}{{urlquery .q}}",
		"{{(.user).city}}{{index .items 0}}{{len .items}}",
		"{{/* comment */}}{{- .name -}}",
		"{{range 10}}{{end}}",
		"{{",
		"}}{{.a.b.c.d}}",
	} {
		f.Add(s)
	}
	vars := map[string]any{"name": "Li", "items": []any{"a", "b", "c"}, "user": map[string]any{"city": "上海"},
		"when": "2026-01-02T03:04:05Z", "q": "a b", "a": true, "b": false, "n": float64(3)}
	r := newRenderer(f, RenderOptions{MaxSteps: 10_000, Timeout: time.Second})
	stubs := stubFuncs()
	f.Fuzz(func(t *testing.T, src string) {
		for _, html := range []bool{false, true} {
			if _, err := compile("f", src, html, stubs); err != nil {
				var se *sourceError
				if !errors.As(err, &se) {
					t.Fatalf("compile error of type %T: %v", err, err)
				}
			}
		}
		if !utf8.ValidString(src) || len(src) > maxSourceBytes {
			return
		}
		out, err := r.Render(wecomText(src), channels.WeCom, vars)
		if err != nil {
			if !errors.Is(err, ErrRender) {
				t.Fatalf("render error is not an ErrRender: %v", err)
			}
			return
		}
		if len(out.Text) > weComTextBytes {
			t.Fatalf("rendered %d bytes, over the limit", len(out.Text))
		}
	})
}

// FuzzTemplateJSON decodes an admin API body and vars as the gateway
// would, validates it and previews every channel: nothing panics, refusals
// are ErrInvalid, and a valid template either renders or says why.
func FuzzTemplateJSON(f *testing.F) {
	f.Add([]byte(`{"id":"t","name":"n","purpose":"marketing","channels":{"wecom":{"text":"{{.name}}，研讨会明天开始"}}}`),
		[]byte(`{"name":"Li"}`))
	f.Add([]byte(`{"id":"t","name":"n","purpose":"service","channels":{"sms":{"template_code":"SMS_1","params":{"code":"{{.code}}"}},"email":{"subject":"s","html":"<a href=\"{{.u}}\">x</a>","text":"x"}}}`),
		[]byte(`{"code":123456,"u":"https://e.com"}`))
	f.Add([]byte(`{"id":"t","name":"n","purpose":"transactional","channels":{"officialaccount":{"template_id":"x","fields":{"first":"{{.a}}"}}}}`),
		[]byte(`{"a":null}`))
	f.Add([]byte(`{"channels":{}}`), []byte(`[]`))
	f.Add([]byte(`{"id":"t","name":"n","purpose":"marketing","vars":[{"name":"name","sample":"王先生","default":"客户"}],
	  "channels":{"wecom":{"text":"{{.name}}"},"sms":{"template_code":"SMS_1","text":"${name}您好","params":{"name":"{{.name}}"}}},
	  "locales":{"en":{"channels":{"wecom":{"text":"Hi {{.name}}"}}}},
	  "variants":{"b":{"channels":{"wecom":{"text":"B {{.name}}"}},"locales":{"en-US":{"channels":{"wecom":{"text":"B en"}}}}}}}`),
		[]byte(`{"locale":"en_us","variant":"b","name":""}`))
	r := newRenderer(f, RenderOptions{MaxSteps: 10_000, Timeout: time.Second})
	f.Fuzz(func(t *testing.T, body, varsJSON []byte) {
		var tmpl Template
		if json.Unmarshal(body, &tmpl) != nil {
			return
		}
		if err := Validate(tmpl); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("validation error is not an ErrInvalid: %v", err)
			}
			return
		}
		if d := Diff(tmpl, tmpl); len(d) != 0 {
			t.Fatalf("a template differs from itself: %v", d)
		}
		var vars map[string]any
		_ = json.Unmarshal(varsJSON, &vars)
		for _, p := range r.PreviewWith(tmpl, vars, PreviewOptions{SMSSign: "签名"}) {
			if p.Err != nil && !errors.Is(p.Err, ErrRender) {
				t.Fatalf("%s: preview error is not an ErrRender: %v", p.Channel, p.Err)
			}
		}
	})
}
