package officialaccount

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/internal/redistest"
)

const (
	sendAppID  = "wx1234567890abcdef"
	sendSecret = "s3cret"
	tokenQuery = "appid=" + sendAppID + "&grant_type=client_credential&secret=" + sendSecret
)

// apiCall is one request as WeChat would receive it.
type apiCall struct {
	Method, Path, Query, ContentType, Body string
}

func tokenCall() apiCall { return apiCall{Method: "GET", Path: "/cgi-bin/token", Query: tokenQuery} }

func sendCall(api, tok, body string) apiCall {
	return apiCall{Method: "POST", Path: "/cgi-bin/message/" + api + "/send", Query: "access_token=" + tok,
		ContentType: "application/json;charset=utf-8", Body: body}
}

// wechat stands in for api.weixin.qq.com: it hands out tokens in order (the
// last one repeats), records every request and answers sends with answer.
type wechat struct {
	mu     sync.Mutex
	tokens []string
	issued int
	calls  []apiCall
	// answer returns the HTTP status and JSON body for a send; nil means
	// WeChat's plain success.
	answer func(c apiCall) (int, string)
	// hang, when set, holds every send until it is closed.
	hang chan struct{}
}

func (w *wechat) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := apiCall{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type"), Body: string(body)}
	if len(c.Body) > 0 && c.Body[len(c.Body)-1] == '\n' { // json.Encoder's newline
		c.Body = c.Body[:len(c.Body)-1]
	}
	w.mu.Lock()
	w.calls = append(w.calls, c)
	if r.URL.Path == "/cgi-bin/token" {
		tok := w.tokens[min(w.issued, len(w.tokens)-1)]
		w.issued++
		w.mu.Unlock()
		_, _ = io.WriteString(rw, `{"access_token":"`+tok+`","expires_in":7200}`)
		return
	}
	answer, hang := w.answer, w.hang
	w.mu.Unlock()
	if hang != nil {
		<-hang
	}
	status, out := http.StatusOK, `{"errcode":0,"errmsg":"ok"}`
	if answer != nil {
		status, out = answer(c)
	}
	rw.Header().Set("Content-Type", "application/json; encoding=utf-8")
	rw.WriteHeader(status)
	_, _ = io.WriteString(rw, out)
}

func (w *wechat) recorded() []apiCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]apiCall(nil), w.calls...)
}

func (w *wechat) fetches() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.issued
}

// errAnswer is WeChat's refusal, with the request id it appends to errmsg.
func errAnswer(code int, msg string) func(apiCall) (int, string) {
	return func(apiCall) (int, string) {
		return http.StatusOK, `{"errcode":` + strconv.Itoa(code) + `,"errmsg":"` + msg + ` rid: 65f1c2a0-1b2c3d4e-5f6a7b8c"}`
	}
}

// standUp serves w in place of api.weixin.qq.com through the platform
// client main installs, with the given client timeout, and returns a fresh
// Redis for the token.
func standUp(t testing.TB, w *wechat, clientTimeout time.Duration) redis.UniversalClient {
	t.Helper()
	if len(w.tokens) == 0 {
		w.tokens = []string{"TOKEN_1"}
	}
	return standUpHandler(t, w, clientTimeout)
}

func standUpHandler(t testing.TB, h http.Handler, clientTimeout time.Duration) redis.UniversalClient {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client, err := channels.NewPlatformClient(clientTimeout, map[string]string{channels.WeChatAPIHost: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	prev := util.DefaultHTTPClient
	util.DefaultHTTPClient = client
	t.Cleanup(func() { util.DefaultHTTPClient = prev })
	return redistest.Client(t)
}

// newSender builds a Sender on rdb whose calls the test waits for before
// its stand-in goes away.
func newSender(t testing.TB, rdb redis.UniversalClient, now time.Time) *Sender {
	t.Helper()
	s, err := NewSender(SenderConfig{AppID: sendAppID, AppSecret: sendSecret, Redis: rdb, Now: fixedClock(now)})
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	t.Cleanup(s.inflight.Wait)
	return s
}
