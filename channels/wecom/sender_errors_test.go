package wecom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func TestErrcodeKinds(t *testing.T) {
	app := channels.Outbound{Kind: channels.KindWeComText, To: "zhangsan", Text: "hi"}
	welcome := channels.Outbound{Kind: channels.KindWeComWelcome, To: "wm1", WelcomeCode: "CODE", Text: "hi"}
	kfMsg := channels.Outbound{Kind: channels.KindWeComKF, To: "wm1", OpenKFID: "wk1", Text: "hi"}
	task := channels.Outbound{Kind: channels.KindWeComGroupTask, To: "wmTarget", Sender: "zhangsan", Text: "hi"}
	const (
		appPath     = "/cgi-bin/message/send"
		welcomePath = "/cgi-bin/externalcontact/send_welcome_msg"
		kfPath      = "/cgi-bin/kf/send_msg"
		taskPath    = "/cgi-bin/externalcontact/add_msg_template"
	)
	tests := []struct {
		name    string
		msg     channels.Outbound
		path    string
		answers []string
		status  int
		want    sendErr
		cause   error
	}{
		{"system busy", app, appPath, []string{weComError(-1)}, 0, sendErr{channels.Transient, "-1"}, ErrRejected},
		{"rate limit", app, appPath, []string{weComError(45009)}, 0, sendErr{channels.Transient, "45009"}, ErrRejected},
		{"concurrency limit", app, appPath, []string{weComError(45033)}, 0, sendErr{channels.Transient, "45033"}, ErrRejected},
		{"member not found", app, appPath, []string{weComError(60111)}, 0, sendErr{channels.Permanent, "60111"}, ErrRejected},
		{"invalid userid", app, appPath, []string{weComError(40003)}, 0, sendErr{channels.Permanent, "40003"}, ErrRejected},
		{"member outside the app's range", app, appPath, []string{weComError(81013)}, 0, sendErr{channels.Permanent, "81013"}, ErrRejected},
		{"member listed as invalid", app, appPath,
			[]string{`{"errcode":0,"errmsg":"ok","invaliduser":"zhangsan","invalidparty":"","invalidtag":"","unlicenseduser":"","msgid":"m1","response_code":""}`},
			0, sendErr{channels.Permanent, "invaliduser"}, ErrRecipientRefused},
		{"member without a license", app, appPath,
			[]string{`{"errcode":0,"errmsg":"ok","invaliduser":"","unlicenseduser":"ZhangSan","msgid":"m1"}`},
			0, sendErr{channels.Permanent, "unlicenseduser"}, ErrRecipientRefused},
		{"no external relationship", task, taskPath, []string{weComError(84061)}, 0, sendErr{channels.Permanent, "84061"}, ErrRejected},
		{"invalid external userid", kfMsg, kfPath, []string{weComError(40096)}, 0, sendErr{channels.Permanent, "40096"}, ErrRejected},
		{"welcome code expired or used", welcome, welcomePath, []string{weComError(41050)}, 0, sendErr{channels.Permanent, "41050"}, ErrRejected},
		{"welcome after chatting began", welcome, welcomePath, []string{weComError(41051)}, 0, sendErr{channels.Permanent, "41051"}, ErrRejected},
		{"kf session closed", kfMsg, kfPath, []string{weComError(95018)}, 0, sendErr{channels.OutsideWindow, "95018"}, ErrRejected},
		{"kf quota used up", kfMsg, kfPath, []string{weComError(95001)}, 0, sendErr{channels.OutsideWindow, "95001"}, ErrRejected},
		{"kf account unknown", kfMsg, kfPath, []string{weComError(95004)}, 0, sendErr{channels.Permanent, "95004"}, ErrRejected},
		{"customer in fail_list", task, taskPath,
			[]string{`{"errcode":0,"errmsg":"ok","fail_list":["wmTarget"],"msgid":"msgGCAAAXtWyujaWJHDDGi0mAAAA"}`},
			0, sendErr{channels.Permanent, "fail_list"}, ErrRecipientRefused},
		{"unlisted errcode", app, appPath, []string{weComError(82004)}, 0, sendErr{channels.Permanent, "82004"}, ErrRejected},
		{"token refused twice", app, appPath, []string{weComError(40014), weComError(40014)}, 0, sendErr{channels.Transient, "40014"}, ErrRejected},
		{"HTTP 502", app, appPath, []string{"<html>502 Bad Gateway</html>"}, http.StatusBadGateway, sendErr{Kind: channels.Transient}, ErrUnreachable},
		{"not JSON", welcome, welcomePath, []string{"<html>maintenance</html>"}, 0, sendErr{Kind: channels.Transient}, ErrUnreachable},
		{"empty body", kfMsg, kfPath, []string{""}, 0, sendErr{Kind: channels.Transient}, ErrUnreachable},
	}
	s, st := senderAndStandIn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st.answer(tt.path, tt.answers...)
			st.mu.Lock()
			st.status[tt.path] = tt.status
			st.mu.Unlock()
			defer func() {
				st.mu.Lock()
				delete(st.status, tt.path)
				st.mu.Unlock()
			}()
			_, err := s.Send(t.Context(), &tt.msg)
			if diff := cmp.Diff(tt.want, asSendErr(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !errors.Is(err, tt.cause) {
				t.Errorf("%v does not wrap %v", err, tt.cause)
			}
			if strings.Contains(err.Error(), "TOKEN-") {
				t.Errorf("the error shows the access token: %v", err)
			}
			if calls, _ := st.taken(); len(calls) != len(tt.answers) {
				t.Errorf("%d calls for %d scripted answers", len(calls), len(tt.answers))
			}
		})
	}
}

func TestErrcodeTableIsConsistent(t *testing.T) {
	for code, rule := range errcodeRules {
		if rule.hint == "" {
			t.Errorf("errcode %d has no hint", code)
		}
		if rule.staleToken && rule.kind != channels.Transient {
			t.Errorf("errcode %d refreshes the token but is %v: a refused token is worth a later retry", code, rule.kind)
		}
	}
}

func TestTransportErrorsHideCredentials(t *testing.T) {
	err := classify("kf/send_msg", fmt.Errorf("%w: %w", ErrNoAccessToken,
		&url.Error{Op: "Get", URL: "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=s3cret", Err: context.DeadlineExceeded}))
	if msg := err.Error(); strings.Contains(msg, "s3cret") || !strings.Contains(msg, "corpsecret=REDACTED") {
		t.Errorf("message %q shows the secret", msg)
	}
	if !errors.Is(err, ErrNoAccessToken) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("redaction broke the chain: %v", err)
	}
	err = classify("message/send", &url.Error{Op: "Post", URL: "https://qyapi.weixin.qq.com/cgi-bin/message/send?access_token=T0k3n&debug=1", Err: io.EOF})
	if msg := err.Error(); strings.Contains(msg, "T0k3n") || !strings.Contains(msg, "access_token=REDACTED&debug=1") {
		t.Errorf("message %q shows the token", msg)
	}
}
