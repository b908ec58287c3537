package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2/util"
)

func TestStoreKeepsNewestPerChannel(t *testing.T) {
	s := newStore(3)
	for i := 0; i < 5; i++ {
		s.add(message{Channel: chSMS, To: "1380000000" + string(rune('0'+i))})
	}
	s.add(message{Channel: chEmail, To: "a@x.com,b@x.com"})
	var got []string
	for _, m := range s.list(chSMS, "", 0) {
		got = append(got, m.To)
	}
	if diff := cmp.Diff([]string{"13800000002", "13800000003", "13800000004"}, got); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(channelStats{Received: 5, Kept: 3}, s.stats()[chSMS]); diff != "" {
		t.Errorf("sms stats (-want +got):\n%s", diff)
	}
	if n := len(s.list("", "B@x.com", 0)); n != 1 {
		t.Errorf("email to any recipient matched %d, want 1", n)
	}
	if got := s.list("", "", 2); len(got) != 2 || got[1].Channel != chEmail {
		t.Errorf("limit 2 across channels = %+v, want the two newest", got)
	}
}

func TestControlAPI(t *testing.T) {
	e := newTestEnv(t, nil)
	e.sb.store.add(message{Channel: chWeCom, To: "u1", Type: "text"})
	e.sb.store.add(message{Channel: chSMS, To: "13800138000", Type: "template"})
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/messages", 200},
		{"GET", "/api/messages?channel=fax", 400},
		{"GET", "/api/messages?limit=-1", 400},
		{"GET", "/api/stats", 200},
		{"GET", "/api/faults", 200},
		{"GET", "/api/callbacks", 200},
		{"GET", "/healthz", 200},
		{"POST", "/api/tokens/expire", 400},
		{"POST", "/api/play/wecom", 400},
		{"GET", "/nope", 404},
	} {
		if status, _ := callJSON(t, tt.method, e.ui.URL+tt.path, nil); status != tt.status {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, status, tt.status)
		}
	}
	if n := len(messagesOf(t, e, chWeCom, "")); n != 1 {
		t.Errorf("wecom messages = %d, want 1", n)
	}
	if status, _ := callJSON(t, "DELETE", e.ui.URL+"/api/messages", nil); status != http.StatusNoContent {
		t.Errorf("DELETE /api/messages = %d", status)
	}
	if n := len(messagesOf(t, e, "", "")); n != 0 {
		t.Errorf("after reset %d messages remain", n)
	}
}

func TestPageIsSelfContained(t *testing.T) {
	e := newTestEnv(t, nil)
	resp, err := http.Get(e.ui.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.Contains(page, "/api/messages") || !strings.Contains(page, "/api/play/") {
		t.Fatalf("page: %d, %d bytes", resp.StatusCode, len(b))
	}
	for _, external := range []string{"src=\"http", "href=\"http", "//cdn", "@import"} {
		if strings.Contains(page, external) {
			t.Errorf("page loads an external asset (%s)", external)
		}
	}
}

func TestVerifyPlays(t *testing.T) {
	e := newTestEnv(t, nil)
	oa := oaClient(e, "wechat-secret", false)
	mux := http.NewServeMux()
	mux.HandleFunc("/callbacks/officialaccount", func(w http.ResponseWriter, r *http.Request) {
		if err := oa.GetServer(r, w).Serve(); err != nil {
			http.Error(w, err.Error(), 400)
		}
	})
	mux.HandleFunc("/callbacks/wecom", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if util.Signature("wecomtoken", q.Get("timestamp"), q.Get("nonce"), q.Get("echostr")) != q.Get("msg_signature") {
			http.Error(w, "signature", 403)
			return
		}
		_, plain, err := util.DecryptMsg("ww_test_corp", q.Get("echostr"), tencentAESKey)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		_, _ = w.Write(plain)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	e.sb.cfg.GatewayURL = srv.URL
	for _, path := range []string{"/api/play/officialaccount/verify", "/api/play/wecom/verify"} {
		if status, out := callJSON(t, "POST", e.ui.URL+path, nil); status != 200 {
			t.Errorf("%s = %d %v", path, status, out)
		}
	}
	mux.HandleFunc("/callbacks/sms/up", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var batch []struct {
			Phone      string `json:"phone_number"`
			Content    string `json:"content"`
			SequenceID int64  `json:"sequence_id"`
		}
		if err := json.Unmarshal(b, &batch); err != nil || len(batch) != 1 ||
			batch[0].Content != "TD" || batch[0].Phone != "13800138000" || batch[0].SequenceID == 0 {
			http.Error(w, fmt.Sprintf("bad SmsUp %s: %v", b, err), 400)
			return
		}
		_, _ = io.WriteString(w, `{"code":0,"msg":"接收成功"}`)
	})
	// Twenty plays: a sequence_id drawn with a leading zero (invalid JSON)
	// would show up in one of them with near certainty.
	for range 20 {
		if status, out := callJSON(t, "POST", e.ui.URL+"/api/play/sms", map[string]string{"phone": "13800138000", "text": "TD"}); status != 200 {
			t.Fatalf("SmsUp play = %d %v", status, out)
		}
	}
	e.sb.cfg.WeComToken = "not-what-the-gateway-uses"
	if status, _ := callJSON(t, "POST", e.ui.URL+"/api/play/wecom/verify", nil); status != http.StatusBadGateway {
		t.Errorf("verify with a token the gateway rejects = %d, want 502", status)
	}
}

func TestPlayWithoutGatewayAnswer(t *testing.T) {
	e := newTestEnv(t, func(c *config) { c.CallbackTimeout = 50 * time.Millisecond })
	hits := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- struct{}{}
		_, _ = io.ReadAll(r.Body) // the server notices a closed connection only once the body is read
		<-r.Context().Done()
	}))
	defer srv.Close()
	e.sb.cfg.GatewayURL = srv.URL
	status, out := callJSON(t, "POST", e.ui.URL+"/api/play/officialaccount", map[string]string{"openid": "o", "text": "hi"})
	if status != http.StatusBadGateway {
		t.Errorf("play = %d %v, want 502", status, out)
	}
	if len(hits) != callbackAttempts {
		t.Errorf("gateway was tried %d times, want %d like WeChat", len(hits), callbackAttempts)
	}
}

func TestParseTemplates(t *testing.T) {
	tests := []struct {
		spec string
		want map[string][]string
		err  error
	}{
		{"SMS_123456:name,date;SMS_654321:code", map[string][]string{"SMS_123456": {"name", "date"}, "SMS_654321": {"code"}}, nil},
		{" SMS_1 : a , b ; ;SMS_2", map[string][]string{"SMS_1": {"a", "b"}, "SMS_2": {}}, nil},
		{"", nil, ErrConfig},
		{":name", nil, ErrConfig},
		{"SMS_1:a;SMS_1:b", nil, ErrConfig},
	}
	for _, tt := range tests {
		got, err := parseTemplates(tt.spec)
		if !errors.Is(err, tt.err) {
			t.Errorf("parseTemplates(%q) error = %v, want %v", tt.spec, err, tt.err)
		}
		if diff := cmp.Diff(tt.want, got); tt.err == nil && diff != "" {
			t.Errorf("parseTemplates(%q) (-want +got):\n%s", tt.spec, diff)
		}
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{"WECOM_CORP_ID": "ww1", "SANDBOX_SMS_ADDR": "127.0.0.1:7003", "SANDBOX_REPORT_DELAY": "2s"}
	cfg, addrs, err := parseConfig([]string{"-gateway", "http://gw:8080/", "-ui", "127.0.0.1:7000"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	got := []any{cfg.WeComCorpID, cfg.WeComAgentID, cfg.GatewayURL, cfg.ReportDelay, addrs.UI, addrs.SMS, cfg.WeChatAESKey}
	want := []any{"ww1", "1000002", "http://gw:8080", 2 * time.Second, "127.0.0.1:7000", "127.0.0.1:7003", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if _, err := newSandbox(cfg); err != nil {
		t.Errorf("the demo defaults do not build a sandbox: %v", err)
	}
	for _, bad := range []map[string]string{{"SANDBOX_REPORT_DELAY": "soon"}, {"SANDBOX_KEEP": "-1"}, {"SANDBOX_SMS_TEMPLATES": ";"}} {
		if _, _, err := parseConfig(nil, func(k string) string { return bad[k] }); !errors.Is(err, ErrConfig) {
			t.Errorf("parseConfig with %v: error %v, want ErrConfig", bad, err)
		}
	}
	cfg.WeComAESKey = "short"
	if _, err := newSandbox(cfg); !errors.Is(err, ErrConfig) || !errors.Is(err, ErrAESKey) {
		t.Errorf("bad WECOM_AES_KEY: %v, want ErrConfig and ErrAESKey", err)
	}
}

func FuzzParseTemplates(f *testing.F) {
	f.Add("SMS_123456:name,date;SMS_654321:code")
	f.Add(";;:")
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := parseTemplates(spec)
		if err != nil {
			return
		}
		for code, names := range got {
			if code == "" || strings.ContainsAny(code, ";:, ") {
				t.Fatalf("accepted code %q from %q", code, spec)
			}
			for _, n := range names {
				if n == "" || strings.ContainsAny(n, ";,") {
					t.Fatalf("accepted parameter %q from %q", n, spec)
				}
			}
		}
	})
}
