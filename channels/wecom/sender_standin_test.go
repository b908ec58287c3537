package wecom

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/internal/redistest"
)

const (
	appCorpID  = "ww7e0f9c1b2a3d4e5f"
	appAgentID = "1000002"
	appSecret  = "s3cret-app"
)

// apiCall is one request the stand-in received, as WeCom would see it.
type apiCall struct {
	Method string
	Path   string
	Query  string
	Body   map[string]any
}

// weComStandIn plays qyapi.weixin.qq.com: gettoken hands out TOKEN-1,
// TOKEN-2, …; every other API records the request and answers from its
// script, then with WeCom's success answer.
type weComStandIn struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	issued int
	calls  []apiCall
	script map[string][]string
	status map[string]int
	hang   chan struct{} // non-nil: API calls block until it closes or the client gives up
}

// okAnswers are WeCom's documented success answers per API.
var okAnswers = map[string]string{
	"/cgi-bin/message/send":                     `{"errcode":0,"errmsg":"ok","invaliduser":"","invalidparty":"","invalidtag":"","unlicenseduser":"","msgid":"xxxx-msgid-1","response_code":"xyzxyz"}`,
	"/cgi-bin/externalcontact/send_welcome_msg": `{"errcode":0,"errmsg":"ok"}`,
	"/cgi-bin/kf/send_msg":                      `{"errcode":0,"errmsg":"ok","msgid":"kf-msgid-1"}`,
	"/cgi-bin/kf/send_msg_on_event":             `{"errcode":0,"errmsg":"ok","msgid":"kf-welcome-1"}`,
	"/cgi-bin/externalcontact/add_msg_template": `{"errcode":0,"errmsg":"ok","fail_list":[],"msgid":"msgGCAAAXtWyujaWJHDDGi0mAAAA"}`,
	"/cgi-bin/externalcontact/mark_tag":         `{"errcode":0,"errmsg":"ok"}`,
}

// weComError is WeCom's error answer for code, hint and all.
func weComError(code int) string {
	return fmt.Sprintf(`{"errcode":%d,"errmsg":"refused, hint: [1700000000_52_9a1b2c], from ip: 203.0.113.7, more info at https://open.work.weixin.qq.com/devtool/query?e=%d"}`, code, code)
}

// newStandIn starts the stand-in and points the SDK's HTTP client at it
// with clientTimeout, as main does with WECOM_API_BASE.
func newStandIn(t testing.TB, clientTimeout time.Duration) *weComStandIn {
	st := &weComStandIn{t: t, script: map[string][]string{}, status: map[string]int{}}
	st.srv = httptest.NewServer(http.HandlerFunc(st.serve))
	client, err := channels.NewPlatformClient(clientTimeout, map[string]string{channels.WeComAPIHost: st.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	useSDKClient(client)
	t.Cleanup(func() {
		st.release()
		st.srv.Close()
	})
	return st
}

var (
	sdkClientOnce sync.Once
	sdkClient     atomic.Pointer[http.Client]
)

// useSDKClient makes client the one the SDK's calls go through. The SDK
// reads util.DefaultHTTPClient on every call, including calls a test has
// abandoned (a hung platform), so the variable is set once and each test
// swaps the client behind it instead.
func useSDKClient(client *http.Client) {
	sdkClient.Store(client)
	sdkClientOnce.Do(func() { util.DefaultHTTPClient = &http.Client{Transport: currentSDKClient{}} })
}

type currentSDKClient struct{}

func (currentSDKClient) RoundTrip(r *http.Request) (*http.Response, error) {
	return sdkClient.Load().Do(r)
}

func (st *weComStandIn) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/cgi-bin/gettoken" {
		q := r.URL.Query()
		if r.Method != http.MethodGet || q.Get("corpid") != appCorpID || q.Get("corpsecret") != appSecret {
			_, _ = io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		st.mu.Lock()
		st.issued++
		n := st.issued
		st.mu.Unlock()
		_, _ = fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","access_token":"TOKEN-%d","expires_in":7200}`, n)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	c := apiCall{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	if err := json.Unmarshal(raw, &c.Body); err != nil {
		st.t.Errorf("%s: body is not JSON: %q", r.URL.Path, raw)
	}
	st.mu.Lock()
	st.calls = append(st.calls, c)
	hang := st.hang
	answer, scripted := okAnswers[r.URL.Path], false
	if next := st.script[r.URL.Path]; len(next) > 0 {
		answer, scripted, st.script[r.URL.Path] = next[0], true, next[1:]
	}
	status := st.status[r.URL.Path]
	st.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		w.WriteHeader(status)
	}
	if answer == "" && !scripted {
		answer = `{"errcode":40058,"errmsg":"unknown path"}`
	}
	_, _ = io.WriteString(w, answer)
}

// answer scripts the next answers of the API at path.
func (st *weComStandIn) answer(path string, bodies ...string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.script[path] = append(st.script[path], bodies...)
}

// hangAPIs makes every API call (not gettoken) wait for release.
func (st *weComStandIn) hangAPIs() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.hang = make(chan struct{})
}

func (st *weComStandIn) release() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.hang != nil {
		close(st.hang)
		st.hang = nil
	}
}

// taken returns and forgets the calls so far and the tokens issued.
func (st *weComStandIn) taken() ([]apiCall, int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	calls := st.calls
	st.calls = nil
	return calls, st.issued
}

func newTestSender(t testing.TB, rdb redis.UniversalClient, edit ...func(*SenderConfig)) *Sender {
	t.Helper()
	cfg := SenderConfig{CorpID: appCorpID, AgentID: appAgentID, Secret: appSecret, Redis: rdb}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// senderAndStandIn is the usual pair: a fresh Redis, a stand-in with a
// generous client timeout, and a sender for the test app.
func senderAndStandIn(t testing.TB) (*Sender, *weComStandIn) {
	st := newStandIn(t, 5*time.Second)
	return newTestSender(t, redistest.Client(t)), st
}

// sendErr is the part of a SendError the pipeline acts on.
type sendErr struct {
	Kind channels.ErrorKind
	Code string
}

func asSendErr(t testing.TB, err error) sendErr {
	t.Helper()
	se, ok := err.(*channels.SendError)
	if !ok {
		t.Fatalf("error %v (%T) is not a *channels.SendError", err, err)
	}
	return sendErr{se.Kind, se.Code}
}

func tokensOf(calls []apiCall) string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Query)
	}
	return strings.Join(out, " ")
}
