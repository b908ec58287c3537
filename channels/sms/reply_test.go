package sms

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func TestDecodeReplies(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []channels.Event
	}{
		{"documented shape with a string sequence_id",
			`[{"phone_number":"13800138000","content":"我想了解一下价格","send_time":"2026-11-01 09:15:00","dest_code":"1234","sequence_id":"1234567","sign_name":"旅程"}]`,
			[]channels.Event{{ID: "sms:up:1234567", Source: channels.SMS, Type: channels.TypeSMSReply,
				At: beijingTime("2026-11-01 09:15:00"), Contact: phoneContact("+8613800138000"), Text: "我想了解一下价格",
				Props: map[string]string{"dest_code": "1234", "sign_name": "旅程", "sequence_id": "1234567"}}}},
		{"single object, numeric sequence_id beyond 2^53, unsubscribe",
			`{"phone_number":"13800138000","content":" ＴＤ！","send_time":"2026-11-01 09:15:00","dest_code":"","sequence_id":12345678901234567890123}`,
			[]channels.Event{{ID: "sms:up:12345678901234567890123", Source: channels.SMS, Type: channels.TypeSMSReply,
				At: beijingTime("2026-11-01 09:15:00"), Contact: phoneContact("+8613800138000"), Text: " ＴＤ！",
				Props: map[string]string{"sequence_id": "12345678901234567890123", "unsubscribe": "true"}}}},
		{"empty content is allowed",
			`[{"phone_number":"+852 9123 4567","send_time":"2026-11-01 09:15:00","sequence_id":"7"}]`,
			[]channels.Event{{ID: "sms:up:7", Source: channels.SMS, Type: channels.TypeSMSReply,
				At: beijingTime("2026-11-01 09:15:00"), Contact: phoneContact("+85291234567"),
				Props: map[string]string{"sequence_id": "7"}}}},
		{"empty array", `[]`, []channels.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReplies([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeReplies: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRepliesRejects(t *testing.T) {
	const ok = `{"phone_number":"13800138000","content":"hi","send_time":"2026-11-01 09:15:00","sequence_id":1}`
	tests := []struct {
		name    string
		body    string
		wantMsg string
	}{
		{"missing sequence_id", `[` + ok + `,{"phone_number":"13800138000","content":"hi","send_time":"2026-11-01 09:15:00"}]`, "item 1: sequence_id is missing"},
		{"sequence_id is a bool", `[{"phone_number":"13800138000","send_time":"2026-11-01 09:15:00","sequence_id":true}]`, "item 0: sequence_id must be a string or a number"},
		{"missing send_time", `[` + ok + `,` + ok + `,{"phone_number":"13800138000","sequence_id":3}]`, "item 2: send_time is missing"},
		{"content is an object", `[{"phone_number":"13800138000","content":{},"send_time":"2026-11-01 09:15:00","sequence_id":1}]`, "item 0: content must be a string or a number"},
		{"bad phone", `[{"phone_number":"call me","send_time":"2026-11-01 09:15:00","sequence_id":1}]`, "item 0: phone_number: bad phone number"},
		{"not JSON", `<xml/>`, "must be a JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReplies([]byte(tt.body))
			if !errors.Is(err, ErrMalformed) || got != nil {
				t.Fatalf("DecodeReplies = %d events, %v; want none and ErrMalformed", len(got), err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}
