package sms

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	dysms "github.com/alibabacloud-go/dysmsapi-20170525/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/journeygate/gateway/channels"
)

// request turns a message into SendSms parameters; every error it returns
// is permanent because no retry can change the message.
func (s *Sender) request(m *channels.Outbound) (*dysms.SendSmsRequest, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: the message is nil", ErrNotSMS)
	}
	if m.Kind != channels.KindSMS || (m.Channel != "" && m.Channel != channels.SMS) {
		return nil, fmt.Errorf("%w: message %q is channel %q kind %q; the SMS sender carries only kind %q (a template code and params)",
			ErrNotSMS, m.ID, m.Channel, m.Kind, channels.KindSMS)
	}
	if strings.TrimSpace(m.TemplateCode) == "" {
		return nil, fmt.Errorf("%w: message %q has none; set the approved template code (such as SMS_123456) in the template's sms channel",
			ErrNoTemplate, m.ID)
	}
	phone, err := aliyunPhone(m.To)
	if err != nil {
		return nil, fmt.Errorf("message %q: %w", m.ID, err)
	}
	req := &dysms.SendSmsRequest{
		PhoneNumbers: tea.String(phone),
		SignName:     tea.String(s.signName),
		TemplateCode: tea.String(m.TemplateCode),
	}
	if p := templateParam(m.Params); p != "" {
		req.TemplateParam = tea.String(p)
	}
	if m.ID != "" {
		// Delivery reports carry OutId back, tying them to our message.
		req.OutId = tea.String(m.ID)
	}
	return req, nil
}

// aliyunPhone spells a number the way SendSms expects it: a mainland mobile
// as its bare 11 digits, anything else as 00, country code and number
// (Hong Kong +852 9123 4567 becomes 0085291234567). The 00 prefix keeps an
// international number from being read as a mainland one: +1 415 555 0123
// without it would be 14155550123, which looks like a mainland 14x mobile.
func aliyunPhone(to string) (string, error) {
	canonical, err := NormalizePhone(to)
	if err != nil {
		return "", err
	}
	digits := canonical[1:] // NormalizePhone always starts with "+"
	if rest, ok := strings.CutPrefix(digits, "86"); ok {
		return rest, nil // NormalizePhone admits only mobiles after +86
	}
	return "00" + digits, nil
}

// templateParam encodes the template variables as the JSON object SendSms
// takes. encoding/json sorts map keys, so the same params always give the
// same bytes. HTML escaping is off so Aliyun's send records show "<" and
// "&" as the template wrote them.
func templateParam(params map[string]string) string {
	if len(params) == 0 {
		return ""
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(params) // a map[string]string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
