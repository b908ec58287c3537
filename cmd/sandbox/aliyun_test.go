package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	dysms "github.com/alibabacloud-go/dysmsapi-20170525/v3/client"
	teautil "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// smsEnv runs on the real clock: the SDK stamps x-acs-date with it.
func smsEnv(t *testing.T) *testEnv {
	return newTestEnv(t, func(c *config) { c.Now = time.Now })
}

func smsClient(t *testing.T, e *testEnv, ak, secret string) *dysms.Client {
	t.Helper()
	c, err := dysms.NewClient(&openapi.Config{AccessKeyId: tea.String(ak), AccessKeySecret: tea.String(secret),
		Endpoint: tea.String(strings.TrimPrefix(e.sms.URL, "http://")), Protocol: tea.String("http")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sendReq(phone, sign, tpl, params string) *dysms.SendSmsRequest {
	return &dysms.SendSmsRequest{PhoneNumbers: tea.String(phone), SignName: tea.String(sign), TemplateCode: tea.String(tpl),
		TemplateParam: tea.String(params), OutId: tea.String("out-1")}
}

// smsGateway receives SmsReport pushes; fail makes the first n answers fail.
type smsGateway struct {
	mu      sync.Mutex
	fail    int
	reports [][]smsReport
	calls   int
}

func newSMSGateway(t *testing.T, e *testEnv, fail int) *smsGateway {
	g := &smsGateway{fail: fail}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.calls++
		if r.URL.Path != "/callbacks/sms/report" || g.fail > 0 {
			g.fail--
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		var list []smsReport
		if err := json.NewDecoder(r.Body).Decode(&list); err != nil {
			t.Errorf("report is not a JSON array: %v", err)
		}
		g.reports = append(g.reports, list)
		_, _ = io.WriteString(w, `{"code":0,"msg":"接收成功"}`)
	}))
	t.Cleanup(srv.Close)
	e.sb.cfg.GatewayURL = srv.URL
	return g
}

func TestSMSSendAndReport(t *testing.T) {
	e := smsEnv(t)
	g := newSMSGateway(t, e, 0)
	resp, err := smsClient(t, e, "LTAI_test", "aliyun-secret").SendSms(sendReq("13800138000", "测试签名", "SMS_123456", `{"name":"张三","date":"11月3日"}`))
	if err != nil {
		t.Fatalf("SendSms: %v", err)
	}
	if tea.StringValue(resp.Body.Code) != "OK" || tea.StringValue(resp.Body.BizId) == "" || tea.StringValue(resp.Body.RequestId) == "" {
		t.Fatalf("SendSms body = %v", resp.Body)
	}
	waitFor(t, "SmsReport", func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.reports) == 1 })
	want := []smsReport{{PhoneNumber: "13800138000", Success: true, ErrCode: "DELIVERED", ErrMsg: "用户接收成功", SmsSize: "1",
		BizID: tea.StringValue(resp.Body.BizId), OutID: "out-1"}}
	if diff := cmp.Diff(want, g.reports[0], cmpopts.IgnoreFields(smsReport{}, "SendTime", "ReportTime")); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if _, err := time.Parse(smsTimeFormat, g.reports[0][0].ReportTime); err != nil {
		t.Errorf("report_time %q: %v", g.reports[0][0].ReportTime, err)
	}
	got := messagesOf(t, e, chSMS, "13800138000")
	if len(got) != 1 || got[0].Body.(map[string]any)["template_code"] != "SMS_123456" {
		t.Errorf("recorded %+v", got)
	}
}

func TestSMSReportRetried(t *testing.T) {
	e := smsEnv(t)
	g := newSMSGateway(t, e, 1)
	if _, err := smsClient(t, e, "LTAI_test", "aliyun-secret").SendSms(sendReq("13800138001", "测试签名", "SMS_654321", `{"code":"1234"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a retried SmsReport", func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.reports) == 1 })
	waitFor(t, "the callback log", func() bool { return len(e.sb.callbackLog()) == 1 })
	if rec := e.sb.callbackLog()[0]; rec.Attempts != 2 || rec.Error != "" {
		t.Errorf("callback record = %+v, want 2 attempts and no error", rec)
	}
}

func TestSMSBusinessFailures(t *testing.T) {
	e := smsEnv(t)
	client := smsClient(t, e, "LTAI_test", "aliyun-secret")
	tests := []struct {
		name string
		req  *dysms.SendSmsRequest
		want string
	}{
		{"unknown sign", sendReq("13800138000", "别人的签名", "SMS_654321", `{"code":"1"}`), "isv.SMS_SIGNATURE_ILLEGAL"},
		{"unknown template", sendReq("13800138000", "测试签名", "SMS_999999", `{"code":"1"}`), "isv.SMS_TEMPLATE_ILLEGAL"},
		{"missing variable", sendReq("13800138000", "测试签名", "SMS_123456", `{"name":"张三"}`), "isv.TEMPLATE_MISSING_PARAMETERS"},
		{"non-string variable", sendReq("13800138000", "测试签名", "SMS_654321", `{"code":1234}`), "isv.INVALID_JSON_PARAM"},
		{"bad number", sendReq("1380013", "测试签名", "SMS_654321", `{"code":"1"}`), "isv.MOBILE_NUMBER_ILLEGAL"},
		{"first to a number", sendReq("13900139000", "测试签名", "SMS_654321", `{"code":"1"}`), "OK"},
		{"second to a number", sendReq("+8613900139000", "测试签名", "SMS_654321", `{"code":"1"}`), "OK"},
		{"third in a minute", sendReq("13900139000", "测试签名", "SMS_654321", `{"code":"1"}`), "isv.BUSINESS_LIMIT_CONTROL"},
	}
	e.sb.cfg.SMSPerMinute = 2
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.SendSms(tt.req)
			if err != nil {
				t.Fatalf("SendSms: %v (business failures must be HTTP 200)", err)
			}
			if got := tea.StringValue(resp.Body.Code); got != tt.want {
				t.Errorf("Code = %s (%s), want %s", got, tea.StringValue(resp.Body.Message), tt.want)
			}
		})
	}
}

func TestSMSSignatureRejected(t *testing.T) {
	e := smsEnv(t)
	tests := []struct {
		name, ak, secret, code string
		status                 int
	}{
		{"wrong secret", "LTAI_test", "not-the-secret", "SignatureDoesNotMatch", 400},
		{"unknown key", "LTAI_other", "aliyun-secret", "InvalidAccessKeyId.NotFound", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := smsClient(t, e, tt.ak, tt.secret).SendSms(sendReq("13800138000", "测试签名", "SMS_654321", `{"code":"1"}`))
			var sdkErr *tea.SDKError
			if !errors.As(err, &sdkErr) {
				t.Fatalf("SendSms error = %v, want an SDK error", err)
			}
			if got := []any{tea.StringValue(sdkErr.Code), tea.IntValue(sdkErr.StatusCode)}; !cmp.Equal(got, []any{tt.code, tt.status}) {
				t.Errorf("error = %v, want %s with HTTP %d", got, tt.code, tt.status)
			}
		})
	}
	if n := len(messagesOf(t, e, chSMS, "")); n != 0 {
		t.Errorf("recorded %d messages from refused requests", n)
	}
}

// recorded is one request as the SDK sent it, to replay with changes.
type recorded struct {
	method, host, rawQuery string
	header                 http.Header
}

// captureSDKRequest lets the real SDK sign a SendSms against a recorder.
func captureSDKRequest(t *testing.T) recorded {
	t.Helper()
	var rec recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec = recorded{r.Method, r.Host, r.URL.RawQuery, r.Header.Clone()}
		_, _ = io.WriteString(w, `{"Code":"OK","Message":"OK","BizId":"1^0","RequestId":"R"}`)
	}))
	defer srv.Close()
	c, err := dysms.NewClient(&openapi.Config{AccessKeyId: tea.String("LTAI_test"), AccessKeySecret: tea.String("aliyun-secret"),
		Endpoint: tea.String(strings.TrimPrefix(srv.URL, "http://")), Protocol: tea.String("http")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendSms(sendReq("13800138000", "测试签名", "SMS_654321", `{"code":"1234"}`)); err != nil {
		t.Fatal(err)
	}
	return rec
}

func replay(t *testing.T, e *testEnv, rec recorded, change func(q url.Values, h http.Header)) (int, map[string]any) {
	t.Helper()
	q, _ := url.ParseQuery(rec.rawQuery)
	h := rec.header.Clone()
	raw := rec.rawQuery
	if change != nil {
		change(q, h)
		raw = q.Encode()
	}
	req, _ := http.NewRequest(rec.method, e.sms.URL+"/?"+raw, nil)
	req.Header = h
	req.Host = rec.host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestSMSTamperedAndReplayed(t *testing.T) {
	e := smsEnv(t)
	tests := []struct {
		name   string
		change func(q url.Values, h http.Header)
		status int
		code   string
	}{
		{"changed number", func(q url.Values, _ http.Header) { q.Set("PhoneNumbers", "13900000000") }, 400, "SignatureDoesNotMatch"},
		{"added parameter", func(q url.Values, _ http.Header) { q.Set("OwnerId", "1") }, 400, "SignatureDoesNotMatch"},
		{"changed action", func(_ url.Values, h http.Header) { h.Set("x-acs-action", "SendBatchSms") }, 400, "SignatureDoesNotMatch"},
		{"unsigned x-acs header", func(_ url.Values, h http.Header) { h.Set("x-acs-extra", "1") }, 400, "IncompleteSignature"},
		{"old date", func(_ url.Values, h http.Header) { h.Set("x-acs-date", "2020-01-01T00:00:00Z") }, 400, "InvalidTimeStamp.Expired"},
		{"no authorization", func(_ url.Values, h http.Header) { h.Del("Authorization") }, 400, "IncompleteSignature"},
		{"body hash", func(_ url.Values, h http.Header) { h.Set("x-acs-content-sha256", strings.Repeat("0", 64)) }, 400, "SignatureDoesNotMatch"},
		{"untouched", nil, 200, "OK"},
		{"untouched again", nil, 400, "SignatureNonceUsed"},
	}
	rec := captureSDKRequest(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := replay(t, e, rec, tt.change)
			if status != tt.status || out["Code"] != tt.code {
				t.Errorf("replay answered %d %v, want %d %s", status, out, tt.status, tt.code)
			}
			if status != 200 && (out["RequestId"] == "" || out["HostId"] == nil) {
				t.Errorf("error body lacks RequestId or HostId: %v", out)
			}
		})
	}
}

func TestSMSFaults(t *testing.T) {
	e := smsEnv(t)
	client := smsClient(t, e, "LTAI_test", "aliyun-secret")
	send := func() (*dysms.SendSmsResponse, error) {
		rt := &teautil.RuntimeOptions{ReadTimeout: tea.Int(300), ConnectTimeout: tea.Int(300)}
		return client.SendSmsWithOptions(sendReq("13800138000", "测试签名", "SMS_654321", `{"code":"1"}`), rt)
	}
	fault := func(mode string, count int) {
		if status, out := callJSON(t, "POST", e.ui.URL+"/api/faults", map[string]any{"channel": "sms", "mode": mode, "count": count}); status != 200 {
			t.Fatalf("set fault: %d %v", status, out)
		}
	}
	fault("5xx", 1)
	var sdkErr *tea.SDKError
	if _, err := send(); !errors.As(err, &sdkErr) || tea.IntValue(sdkErr.StatusCode) != 503 {
		t.Errorf("5xx fault: %v, want an HTTP 503 error", err)
	}
	if resp, err := send(); err != nil || tea.StringValue(resp.Body.Code) != "OK" {
		t.Errorf("after the fault's count ran out: %v %v", resp, err)
	}
	fault("flow_control", 0)
	for i := 0; i < 2; i++ {
		if resp, err := send(); err != nil || tea.StringValue(resp.Body.Code) != "isv.BUSINESS_LIMIT_CONTROL" {
			t.Errorf("flow_control %d: %v %v", i, resp, err)
		}
	}
	fault("hang", 1)
	start := time.Now()
	if _, err := send(); err == nil {
		t.Error("hang fault: SendSms succeeded, want a timeout")
	}
	// Only an unbounded hang fails here; the bound leaves room for a loaded machine.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("hang lasted %v; the client's 300 ms timeout should have ended it", d)
	}
	fault("none", 0)
	if status, _ := callJSON(t, "POST", e.ui.URL+"/api/faults", map[string]any{"channel": "fax", "mode": "5xx"}); status != 400 {
		t.Errorf("unknown channel answered %d, want 400", status)
	}
}
