package sms

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func beijingTime(s string) time.Time {
	t, err := time.ParseInLocation(pushTimeLayout, s, beijing)
	if err != nil {
		panic(err)
	}
	return t
}

func phoneContact(p string) []channels.Identity {
	return []channels.Identity{{Kind: channels.Phone, Value: p}}
}

// documentedReport is the example from Aliyun's SmsReport documentation with
// a real number in place of the masked one.
const documentedReport = `[ { "phone_number" : "13811110000", "send_time" : "2017-01-01 00:00:00",
  "report_time" : "2017-01-01 00:00:05", "success" : true, "err_code" : "DELIVERED",
  "err_msg" : "用户接收成功", "sms_size" : "1", "biz_id" : "12345", "out_id" : "67890" } ]`

func TestDecodeReports(t *testing.T) {
	delivered := channels.Event{
		ID: "sms:report:12345:+8613811110000", Source: channels.SMS, Type: channels.TypeSMSDelivered,
		At: beijingTime("2017-01-01 00:00:05"), Contact: phoneContact("+8613811110000"),
		Props: map[string]string{"biz_id": "12345", "out_id": "67890", "err_code": "DELIVERED", "err_msg": "用户接收成功",
			"sms_size": "1", "send_time": "2017-01-01 00:00:00", "report_time": "2017-01-01 00:00:05"},
	}
	tests := []struct {
		name string
		body string
		want []channels.Event
	}{
		{"documented example", documentedReport, []channels.Event{delivered}},
		{"single object", strings.Trim(strings.TrimSpace(documentedReport), "[]"), []channels.Event{delivered}},
		{"empty array", ` [ ] `, []channels.Event{}},
		{"batch with a failure, string success, numeric ids, international number",
			`[{"phone_number":"+86 138 1111 0000","report_time":"2026-11-01 21:30:00","success":"true","biz_id":900123456789012345678,"sms_size":2},
			  {"phone_number":"85291234567","report_time":"2026-11-01 21:30:01","success":"FALSE","biz_id":"900^1","err_code":"MK:0001","err_msg":"空号","out_id":""},
			  {"phone_number":"8613800138000","report_time":"2026-11-01 21:30:02.123","success":false,"biz_id":"b","unknown":{"x":1}}]`,
			[]channels.Event{
				{ID: "sms:report:900123456789012345678:+8613811110000", Source: channels.SMS, Type: channels.TypeSMSDelivered,
					At: beijingTime("2026-11-01 21:30:00"), Contact: phoneContact("+8613811110000"),
					Props: map[string]string{"biz_id": "900123456789012345678", "sms_size": "2", "report_time": "2026-11-01 21:30:00"}},
				{ID: "sms:report:900^1:+85291234567", Source: channels.SMS, Type: channels.TypeSMSFailed,
					At: beijingTime("2026-11-01 21:30:01"), Contact: phoneContact("+85291234567"),
					Props: map[string]string{"biz_id": "900^1", "err_code": "MK:0001", "err_msg": "空号", "report_time": "2026-11-01 21:30:01"}},
				{ID: "sms:report:b:+8613800138000", Source: channels.SMS, Type: channels.TypeSMSFailed,
					At: beijingTime("2026-11-01 21:30:02.123"), Contact: phoneContact("+8613800138000"),
					Props: map[string]string{"biz_id": "b", "report_time": "2026-11-01 21:30:02.123"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReports([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeReports: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeReportsAtIsBeijingTime(t *testing.T) {
	got, err := DecodeReports([]byte(documentedReport))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2016, 12, 31, 16, 0, 5, 0, time.UTC)
	if !got[0].At.Equal(want) {
		t.Errorf("At = %v, want %v", got[0].At.UTC(), want)
	}
}

// ok is one valid report; the rejection cases put a bad item after it to show
// that nothing is returned for the good one either.
const okReport = `{"phone_number":"13800138000","report_time":"2026-11-01 10:00:00","success":true,"biz_id":"1"}`

func TestDecodeReportsRejects(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantMsg  string
		badPhone bool
	}{
		{"empty body", "", "the body is empty", false},
		{"null", "null", "must be a JSON array", false},
		{"string", `"x"`, "must be a JSON array", false},
		{"truncated array", `[` + okReport, "not a valid JSON array", false},
		{"trailing garbage", `[` + okReport + `]x`, "not a valid JSON array", false},
		{"item not an object", `[` + okReport + `, 1]`, "item 1: expected a JSON object", false},
		{"null item", `[` + okReport + `, null]`, "item 1: expected a JSON object", false},
		{"missing phone", `[` + okReport + `,{"report_time":"2026-11-01 10:00:00","success":true,"biz_id":"1"}]`, "item 1: phone_number is missing", false},
		{"masked phone", `[` + okReport + `,{"phone_number":"1381111****","report_time":"2026-11-01 10:00:00","success":true,"biz_id":"1"}]`, "item 1: phone_number: bad phone number", true},
		{"phone is an object", `[{"phone_number":{},"report_time":"2026-11-01 10:00:00","success":true,"biz_id":"1"}]`, "item 0: phone_number must be a string or a number", false},
		{"missing biz_id", `[{"phone_number":"13800138000","report_time":"2026-11-01 10:00:00","success":true}]`, "item 0: biz_id is missing", false},
		{"blank biz_id", `[{"phone_number":"13800138000","report_time":"2026-11-01 10:00:00","success":true,"biz_id":"  "}]`, "item 0: biz_id is missing", false},
		{"huge biz_id", `[{"phone_number":"13800138000","report_time":"2026-11-01 10:00:00","success":true,"biz_id":"` + strings.Repeat("9", 200) + `"}]`, "item 0: biz_id is 200 bytes long", false},
		{"missing success", `[{"phone_number":"13800138000","report_time":"2026-11-01 10:00:00","biz_id":"1"}]`, "item 0: success is missing", false},
		{"success is a number", `[{"phone_number":"13800138000","report_time":"2026-11-01 10:00:00","success":1,"biz_id":"1"}]`, "item 0: success must be true or false", false},
		{"success is another word", `[{"phone_number":"13800138000","report_time":"2026-11-01 10:00:00","success":"yes","biz_id":"1"}]`, "item 0: success must be true or false", false},
		{"missing report_time", `[{"phone_number":"13800138000","success":true,"biz_id":"1"}]`, "item 0: report_time is missing", false},
		{"RFC 3339 report_time", `[{"phone_number":"13800138000","report_time":"2026-11-01T10:00:00Z","success":true,"biz_id":"1"}]`, "item 0: report_time \"2026-11-01T10:00:00Z\" is not a Beijing time", false},
		{"bad send_time", `[{"phone_number":"13800138000","report_time":"2026-11-01 10:00:00","send_time":"yesterday","success":true,"biz_id":"1"}]`, "item 0: send_time \"yesterday\" is not a Beijing time", false},
		{"err_msg is a list", `[{"phone_number":"13800138000","report_time":"2026-11-01 10:00:00","success":false,"biz_id":"1","err_msg":["x"]}]`, "item 0: err_msg must be a string or a number", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReports([]byte(tt.body))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeReports = %v, want ErrMalformed", err)
			}
			if got != nil {
				t.Errorf("DecodeReports returned %d events with the error, want none", len(got))
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if errors.Is(err, ErrBadPhone) != tt.badPhone {
				t.Errorf("errors.Is(%v, ErrBadPhone) = %v, want %v", err, !tt.badPhone, tt.badPhone)
			}
		})
	}
}
