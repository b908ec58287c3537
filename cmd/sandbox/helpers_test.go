package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
	"github.com/sirupsen/logrus"
)

func TestMain(m *testing.M) {
	logrus.SetLevel(logrus.WarnLevel) // the WeChat SDK logs every request at debug level
	os.Exit(m.Run())
}

const (
	tencentAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C" // Tencent's published test key
	oaAESKey      = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// fakeClock lets tests move time instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testConfig(clock *fakeClock) config {
	return config{
		WeComCorpID: "ww_test_corp", WeComAgentID: "1000002", WeComSecret: "wecom-secret", WeComToken: "wecomtoken",
		WeComAESKey: tencentAESKey,
		WeChatAppID: "wx_test_app", WeChatAppSecret: "wechat-secret", WeChatToken: "oatoken", WeChatAESKey: oaAESKey,
		AliyunAccessKeyID: "LTAI_test", AliyunAccessKeySecret: "aliyun-secret", AliyunSignName: "测试签名",
		SMSTemplates: map[string][]string{"SMS_123456": {"name", "date"}, "SMS_654321": {"code"}},
		SMSPerMinute: 2, ReportDelay: 10 * time.Millisecond, Keep: 100, CallbackTimeout: 2 * time.Second,
		Now: clock.Now, Logf: func(string, ...any) {},
	}
}

// testEnv is a sandbox with every HTTP stand-in started on httptest servers.
type testEnv struct {
	sb                     *sandbox
	clock                  *fakeClock
	wecom, wechat, sms, ui *httptest.Server
}

func newTestEnv(t *testing.T, mutate func(*config)) *testEnv {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	cfg := testConfig(clock)
	if mutate != nil {
		mutate(&cfg)
	}
	sb, err := newSandbox(cfg)
	if err != nil {
		t.Fatalf("newSandbox: %v", err)
	}
	e := &testEnv{sb: sb, clock: clock, wecom: httptest.NewServer(sb.wecomHandler()), wechat: httptest.NewServer(sb.wechatHandler()),
		sms: httptest.NewServer(sb.smsHandler()), ui: httptest.NewServer(sb.uiHandler())}
	t.Cleanup(func() {
		for _, s := range []*httptest.Server{e.wecom, e.wechat, e.sms, e.ui} {
			s.CloseClientConnections()
			s.Close()
		}
		sb.Close()
	})
	return e
}

// useSDKHosts points the WeChat SDK's hard-coded hosts at e's stand-ins; the
// SDK keeps this in a global, so tests that use it do not run in parallel.
func useSDKHosts(t *testing.T, e *testEnv) {
	t.Helper()
	util.SetURIModifier(func(uri string) string {
		uri = strings.Replace(uri, "https://api.weixin.qq.com", e.wechat.URL, 1)
		return strings.Replace(uri, "https://qyapi.weixin.qq.com", e.wecom.URL, 1)
	})
	t.Cleanup(func() { util.SetURIModifier(nil) })
}

// callJSON posts v (or GETs when v is nil) and decodes the JSON answer into a map.
func callJSON(t *testing.T, method, url string, v any) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if v != nil {
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return resp.StatusCode, out
}

// errcode reads a platform errcode from a decoded answer.
func errcode(m map[string]any) int {
	f, _ := m["errcode"].(float64)
	return int(f)
}

// messagesOf lists what the sandbox received through the control API.
func messagesOf(t *testing.T, e *testEnv, channel, to string) []message {
	t.Helper()
	resp, err := http.Get(e.ui.URL + "/api/messages?channel=" + channel + "&to=" + to)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []message
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return list
}

// waitFor polls cond for up to two seconds; background pushes are asynchronous.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
