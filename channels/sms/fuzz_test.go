package sms

import (
	"errors"
	"strings"
	"testing"

	"github.com/journeygate/gateway/channels"
)

// checkEvents holds what every decoded SMS event must satisfy, whatever the body.
func checkEvents(t *testing.T, events []channels.Event, err error, types ...string) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
		if events != nil {
			t.Fatalf("%d events returned with an error", len(events))
		}
		return
	}
	for i, ev := range events {
		if ev.Source != channels.SMS || !contains(types, ev.Type) || ev.At.IsZero() {
			t.Fatalf("event %d: bad source, type or time: %+v", i, ev)
		}
		if len(ev.Contact) != 1 || ev.Contact[0].Kind != channels.Phone {
			t.Fatalf("event %d: contact %+v, want one phone", i, ev.Contact)
		}
		if p := ev.Contact[0].Value; !isCanonical(p) {
			t.Fatalf("event %d: phone %q is not canonical", i, p)
		}
		for k, v := range ev.Props {
			if v == "" {
				t.Fatalf("event %d: empty prop %q", i, k)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isCanonical reports whether p is "+" and digits and normalizes to itself.
func isCanonical(p string) bool {
	if len(p) < 2 || p[0] != '+' || strings.Trim(p[1:], "0123456789") != "" {
		return false
	}
	again, err := NormalizePhone(p)
	return err == nil && again == p
}

func FuzzDecodeReports(f *testing.F) {
	f.Add([]byte(documentedReport))
	f.Add([]byte(okReport))
	f.Add([]byte(`[{"phone_number":85291234567,"report_time":"2026-11-01 21:30:01","success":"false","biz_id":1e400,"err_code":"MK:0001"}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := DecodeReports(body)
		checkEvents(t, events, err, channels.TypeSMSDelivered, channels.TypeSMSFailed)
		for _, ev := range events {
			if want := "sms:report:" + ev.Props["biz_id"] + ":" + ev.Contact[0].Value; ev.ID != want || ev.Props["biz_id"] == "" {
				t.Fatalf("ID %q, want %q", ev.ID, want)
			}
		}
	})
}

func FuzzDecodeReplies(f *testing.F) {
	f.Add([]byte(`[{"phone_number":"13800138000","content":"TD","send_time":"2026-11-01 09:15:00","dest_code":"1234","sequence_id":12345678901234567890123,"sign_name":"旅程"}]`))
	f.Add([]byte(`{"phone_number":"+852 9123 4567","content":"退订","send_time":"2026-11-01 09:15:00","sequence_id":"7"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := DecodeReplies(body)
		checkEvents(t, events, err, channels.TypeSMSReply)
		for _, ev := range events {
			if want := "sms:up:" + ev.Props["sequence_id"]; ev.ID != want || ev.Props["sequence_id"] == "" {
				t.Fatalf("ID %q, want %q", ev.ID, want)
			}
			if (ev.Props["unsubscribe"] == "true") != IsUnsubscribe(ev.Text) {
				t.Fatalf("unsubscribe prop %q disagrees with IsUnsubscribe(%q)", ev.Props["unsubscribe"], ev.Text)
			}
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"13800138000", "+86 138 0013 8000", "86-138-0013-8000", "008613800138000", "+1 (415) 555-2671", "１３８００１３８０００", "+86 10 1234 5678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := NormalizePhone(s)
		if err != nil {
			if !errors.Is(err, ErrBadPhone) || p != "" {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want \"\" and ErrBadPhone", s, p, err)
			}
			return
		}
		if !isCanonical(p) || len(p) > 1+maxIntlDigits || len(p) < 1+minIntlDigits {
			t.Fatalf("NormalizePhone(%q) = %q, not canonical", s, p)
		}
	})
}

func FuzzIsUnsubscribe(f *testing.F) {
	for _, s := range []string{"TD", "【ＴＤ】", "退订。", "unsubscribe", "TD是什么"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := IsUnsubscribe(s)
		if len(s)+8 <= 64 && IsUnsubscribe(" 【"+s+"】") != got {
			t.Fatalf("IsUnsubscribe(%q) = %v, but changes when wrapped in spaces and brackets", s, got)
		}
	})
}
