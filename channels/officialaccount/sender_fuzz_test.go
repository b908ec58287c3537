package officialaccount

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
)

var answerSeeds = []struct {
	template bool
	status   int
	answer   string
}{
	{false, 200, `{"errcode":0,"errmsg":"ok"}`},
	{true, 200, templateOK},
	{true, 200, `{"errcode":0,"errmsg":"ok","msgid":99999999999999999999}`},
	{true, 200, `{"errcode":0,"errmsg":"ok","msgid":"200228332"}`},
	{false, 200, `{"errcode":45015,"errmsg":"response out of time limit or subscription is canceled hint: [ZE1Uxa0498age8]"}`},
	{true, 200, `{"errcode":47003,"errmsg":"argument invalid! data.keyword1.value invalid rid: 65f1c2a0-1b2c3d4e-5f6a7b8c"}`},
	{false, 200, `{"errcode":40001,"errmsg":"invalid credential, errcode=0 , errmsg=ok\nTOKEN_1"}`},
	{false, 200, `{"errcode":-1,"errmsg":"system error"}`},
	{true, 200, `{"errcode":"43004"}`},
	{false, 200, `<html><body>502</body></html>`},
	{false, 502, `{"errcode":0}`},
	{true, 404, ``},
	{false, 200, `{"errcode":9223372036854775807,"errmsg":""}`},
}

// FuzzSendAnswer feeds WeChat's answers, real and malformed, through the
// SDK into the sender's classification: whatever WeChat says, Send returns
// a receipt or a SendError of a known kind carrying WeChat's own errcode,
// and never puts the access token into an error.
func FuzzSendAnswer(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add(s.template, s.status, []byte(s.answer))
	}
	var mu sync.Mutex
	var status int
	var answer []byte
	w := &wechat{answer: func(apiCall) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		return status, string(answer)
	}}
	s := newSender(f, standUp(f, w, 2*time.Second), sendNow)

	f.Fuzz(func(t *testing.T, template bool, st int, body []byte) {
		if st < http.StatusOK || st > 599 {
			st = http.StatusOK + abs(st%400)
		}
		mu.Lock()
		status, answer = st, body
		mu.Unlock()
		m := templateMsg(sendNow.Add(-time.Hour))
		m.TemplateID = ""
		if template {
			m.Kind, m.TemplateID = channels.KindOATemplate, "TPL_webinar"
		}
		rec, err := s.Send(t.Context(), m)
		if err == nil {
			checkReceipt(t, template, rec)
			return
		}
		var se *channels.SendError
		if !errors.As(err, &se) {
			t.Fatalf("Send returned %T %q, want a *channels.SendError", err, err)
		}
		if se.Kind < channels.Transient || se.Kind > channels.NoConsent {
			t.Fatalf("SendError kind %d is none of the four", se.Kind)
		}
		if strings.Contains(err.Error(), "TOKEN_1") {
			t.Fatalf("the error leaks the access token: %q", err)
		}
		if errors.Is(err, ErrRefused) == errors.Is(err, ErrUnreachable) {
			t.Fatalf("error %q must wrap exactly one of ErrRefused and ErrUnreachable", err)
		}
		// An answer the SDK can decode (for a template, msgid too) must
		// come back with its own errcode and that code's kind.
		var ce struct {
			util.CommonError
			MsgID int64 `json:"msgid"`
		}
		var decodeErr error
		if template {
			decodeErr = json.Unmarshal(body, &ce)
		} else {
			decodeErr = json.Unmarshal(body, &ce.CommonError)
		}
		if st == http.StatusOK && decodeErr == nil && ce.ErrCode != 0 {
			want := ruleFor(ce.ErrCode)
			if code := strconv.FormatInt(ce.ErrCode, 10); se.Code != code || se.Kind != want.kind {
				t.Fatalf("answer %q: got %s/%s, want %s/%s", body, se.Kind, se.Code, want.kind, code)
			}
		}
	})
}

func checkReceipt(t *testing.T, template bool, rec channels.Receipt) {
	t.Helper()
	if !template {
		if rec != (channels.Receipt{Kind: channels.KindOAText}) {
			t.Fatalf("customer-service receipt %+v", rec)
		}
		return
	}
	if rec.Kind != channels.KindOATemplate {
		t.Fatalf("template receipt kind %q", rec.Kind)
	}
	if _, err := strconv.ParseInt(rec.PlatformID, 10, 64); err != nil {
		t.Fatalf("template msgid %q is not a number", rec.PlatformID)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
