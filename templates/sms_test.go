package templates

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func TestSegments(t *testing.T) {
	tests := []struct{ chars, want int }{{0, 0}, {1, 1}, {70, 1}, {71, 2}, {134, 2}, {135, 3}, {201, 3}, {202, 4}}
	for _, tt := range tests {
		if got := Segments(tt.chars); got != tt.want {
			t.Errorf("Segments(%d) = %d, want %d", tt.chars, got, tt.want)
		}
	}
}

func smsTemplate(text string, params map[string]string) Template {
	return Template{ID: "otp", Name: "Order", Purpose: channels.Transactional, Version: 1,
		Channels: Channels{SMS: &SMSBody{TemplateCode: "SMS_1", Text: text, Params: params}}}
}

func TestValidateSMSText(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		params map[string]string
		want   []Problem
	}{
		{"exact", "您的订单${order}已发货，${name}", map[string]string{"order": "{{.order}}", "name": "{{.name}}"}, nil},
		{"no text, no check", "", map[string]string{"x": "y"}, nil},
		{"param missing", "您的订单${order}已发货", map[string]string{"name": "{{.name}}"}, []Problem{
			{"channels.sms.params", `the approved text uses ${order}; add a "order" param`},
			{"channels.sms.params.name", "is not in the approved text; Aliyun refuses params the template does not have (the text has ${order})"},
		}},
		{"bad placeholder", "订单${1x}", map[string]string{"a": "b"}, []Problem{
			{"channels.sms.text", "${1x} is not a valid placeholder: use a letter followed by letters, digits or _"},
			{"channels.sms.params.a", "is not in the approved text; Aliyun refuses params the template does not have (the text has ${1x})"},
		}},
		{"too long", strings.Repeat("长", 501), map[string]string{"a": "b"}, []Problem{
			{"channels.sms.text", "must be valid UTF-8 of at most 500 characters, as approved in the SMS console"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Problem
			if err := Validate(smsTemplate(tt.text, tt.params)); err != nil {
				got = err.(*InvalidError).Problems
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestSMSPreviewCountsSegments(t *testing.T) {
	r := newRenderer(t, RenderOptions{})
	tmpl := smsTemplate("尊敬的${name}，您的订单${order}已发货，请留意查收。", map[string]string{"name": "{{.name}}", "order": "{{.order}}"})
	tests := []struct {
		name, sign, who string
		want            SMSInfo
	}{
		{"short, signed", "极客商城", "王伟", SMSInfo{Text: "【极客商城】尊敬的王伟，您的订单A1001已发货，请留意查收。", Chars: 31, Segments: 1}},
		{"unsigned", "", "王伟", SMSInfo{Text: "尊敬的王伟，您的订单A1001已发货，请留意查收。", Chars: 25, Segments: 1}},
		// The sign's brackets and characters count: 70 is one SMS, 71 two.
		{"long name", "极客商城", strings.Repeat("名", 35), SMSInfo{Text: "【极客商城】尊敬的" + strings.Repeat("名", 35) + "，您的订单A1001已发货，请留意查收。", Chars: 64, Segments: 1}},
		{"70 is one", "极客商城极客商城极客", strings.Repeat("名", 35), SMSInfo{Text: "【极客商城极客商城极客】尊敬的" + strings.Repeat("名", 35) + "，您的订单A1001已发货，请留意查收。", Chars: 70, Segments: 1}},
		{"71 is two", "极客商城极客商城极客城", strings.Repeat("名", 35), SMSInfo{Text: "【极客商城极客商城极客城】尊敬的" + strings.Repeat("名", 35) + "，您的订单A1001已发货，请留意查收。", Chars: 71, Segments: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := r.PreviewWith(tmpl, map[string]any{"name": tt.who, "order": "A1001"}, PreviewOptions{SMSSign: tt.sign})
			if res[0].SMS == nil {
				t.Fatalf("no SMS info: %+v", res[0])
			}
			if diff := cmp.Diff(tt.want, *res[0].SMS); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	// Without the approved text there is nothing to count.
	bare := smsTemplate("", map[string]string{"name": "{{.name}}"})
	if res := r.Preview(bare, map[string]any{"name": "王"}); res[0].SMS != nil {
		t.Errorf("SMS info without a text: %+v", res[0].SMS)
	}
}
