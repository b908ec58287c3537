package templates

import (
	"testing"
	"time"

	"github.com/journeygate/gateway/channels"
)

// sample is a template with every channel, as the console would save it.
func sample() Template {
	return Template{
		ID:      "webinar-reminder",
		Name:    "Webinar reminder",
		Purpose: channels.Marketing,
		Channels: Channels{
			WeCom: &WeComBody{
				Text:  "{{default \"您好\" .name}}，研讨会《{{.webinar}}》将于{{date \"1月2日 15:04\" .starts_at}}开始。",
				Title: "研讨会提醒：{{truncate 20 .webinar}}",
				URL:   "https://example.com/w/{{urlquery .webinar_id}}?c={{urlquery .contact_id}}",
			},
			OfficialAccount: &OABody{
				Text:       "{{.name}}，您报名的研讨会明天开始。{{if .coupon}}优惠码：{{.coupon}}{{end}}",
				TemplateID: "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
				Fields: map[string]string{
					"first":    "{{.name}}，您报名的研讨会即将开始",
					"keyword1": "{{.webinar}}",
					"keyword2": "{{date \"2006-01-02 15:04\" .starts_at}}",
					"remark":   "{{if .coupon}}优惠码 {{.coupon}}{{else}}期待您的参与{{end}}",
				},
				URL: "https://example.com/w/{{.webinar_id}}",
			},
			SMS: &SMSBody{
				TemplateCode: "SMS_123456",
				Params: map[string]string{
					"name": "{{truncate 10 (default \"客户\" .name)}}",
					"time": "{{date \"1月2日15:04\" .starts_at}}",
				},
			},
			Email: &EmailBody{
				Subject: "提醒：{{.webinar}} 明天开始",
				HTML: `<p>{{default "您好" .name}}：</p>
<p>《{{.webinar}}》将于 {{date "2006-01-02 15:04" .starts_at}} 开始。</p>
{{if .agenda}}<ul>{{range .agenda}}<li>{{.time}} {{.topic}}</li>{{end}}</ul>{{end}}
<p><a href="https://example.com/w/{{.webinar_id}}?c={{.contact_id}}">进入会场</a></p>`,
				Text: "{{default \"您好\" .name}}：\n《{{.webinar}}》将于 {{date \"2006-01-02 15:04\" .starts_at}} 开始。\n{{range .agenda}}- {{.time}} {{.topic}}\n{{end}}",
			},
		},
	}
}

// sampleVars are the vars a message with sample would carry, as decoded
// from JSON (numbers are float64).
func sampleVars() map[string]any {
	return map[string]any{
		"name":       "王小明",
		"webinar":    "私域运营实战 <第 3 期>",
		"webinar_id": "w-2026-03",
		"contact_id": float64(10086),
		"starts_at":  "2026-03-05T06:30:00Z",
		"coupon":     "SPRING30",
		"agenda": []any{
			map[string]any{"time": "14:30", "topic": "开场 & 介绍"},
			map[string]any{"time": "15:00", "topic": "案例拆解"},
		},
	}
}

func newRenderer(t testing.TB, opts RenderOptions) *Renderer {
	t.Helper()
	r, err := NewRenderer(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wecomText is a minimal valid template whose WeCom text is src.
func wecomText(src string) Template {
	return Template{ID: "t", Name: "t", Purpose: channels.Marketing, Channels: Channels{WeCom: &WeComBody{Text: src}}}
}

// steppingClock advances by step on every reading, so a test can make a
// render "take" as long as it likes without sleeping.
func steppingClock(step time.Duration) func() time.Time {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		now = now.Add(step)
		return now
	}
}
