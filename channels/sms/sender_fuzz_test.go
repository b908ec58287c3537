package sms

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/journeygate/gateway/channels"
)

// FuzzSendAnswer feeds Send arbitrary answers from the platform: whatever
// Aliyun (or a proxy in front of it) replies, Send must not panic, must
// fail with a Transient or Permanent SendError, must succeed only on an
// "OK" Code below HTTP 400, and must keep the phone number out of errors.
func FuzzSendAnswer(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{200, `{"Message":"OK","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990","Code":"OK","BizId":"9006197469364984^0"}`},
		{200, `{"Message":"触发小时级流控Permits:5","RequestId":"A1","Code":"isv.BUSINESS_LIMIT_CONTROL"}`},
		{400, `{"RequestId":"A2","HostId":"dysmsapi.aliyuncs.com","Code":"SignatureDoesNotMatch","Message":"Specified signature does not match our calculation."}`},
		{503, `{"Code":"ServiceUnavailable"}`},
		{502, `<html>502 Bad Gateway</html>`},
		{200, `{"Code":null,"BizId":12}`},
		{200, `[]`},
		{301, `{"Code":"OK"}`},
	} {
		f.Add(seed.status, []byte(seed.body))
	}

	var mu sync.Mutex
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st, b := status, body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(st)
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	s, err := NewSender(SenderConfig{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret, SignName: testSignName,
		Endpoint: strings.TrimPrefix(srv.URL, "http://"), Timeout: 5 * time.Second})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, st int, b []byte) {
		// Real answers carry a final status; 1xx are interim and not sent alone.
		st = 200 + (st%400+400)%400
		mu.Lock()
		status, body = st, b
		mu.Unlock()
		got, err := s.Send(context.Background(), smsMessage("+8613800138000"))
		if err == nil {
			if st >= 400 || !strings.Contains(string(b), "OK") || got.Kind != channels.KindSMS {
				t.Fatalf("HTTP %d %q accepted as %+v", st, b, got)
			}
			return
		}
		var se *channels.SendError
		if !errors.As(err, &se) {
			t.Fatalf("HTTP %d %q: error %v is not a SendError", st, b, err)
		}
		if se.Kind != channels.Transient && se.Kind != channels.Permanent {
			t.Fatalf("HTTP %d %q: kind %v", st, b, se.Kind)
		}
		if st >= 500 && se.Kind != channels.Transient {
			t.Fatalf("HTTP %d %q: kind %v, want transient", st, b, se.Kind)
		}
		if strings.Contains(err.Error(), "13800138000") && !strings.Contains(string(b), "13800138000") {
			t.Fatalf("error leaks the phone number: %v", err)
		}
	})
}

// FuzzAliyunPhone checks that the number Aliyun receives is the contact's
// number: read back through NormalizePhone it gives the same identity.
func FuzzAliyunPhone(f *testing.F) {
	for _, s := range []string{"+8613800138000", "13800138000", "+85291234567", "0014155550123", "+86 10 6552 9988", "+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		canonical, normErr := NormalizePhone(in)
		got, err := aliyunPhone(in)
		if (err == nil) != (normErr == nil) {
			t.Fatalf("aliyunPhone(%q) error %v, NormalizePhone error %v", in, err, normErr)
		}
		if err != nil {
			if !errors.Is(err, ErrBadPhone) {
				t.Fatalf("aliyunPhone(%q) error %v is not ErrBadPhone", in, err)
			}
			return
		}
		if strings.Trim(got, "0123456789") != "" {
			t.Fatalf("aliyunPhone(%q) = %q has non-digits", in, got)
		}
		if !strings.HasPrefix(got, "00") && !isMainlandMobile(got) {
			t.Fatalf("aliyunPhone(%q) = %q is neither 00-international nor a bare mainland mobile", in, got)
		}
		back, err := NormalizePhone(got)
		if err != nil || back != canonical {
			t.Fatalf("aliyunPhone(%q) = %q reads back as %q (%v), want %q", in, got, back, err, canonical)
		}
	})
}
