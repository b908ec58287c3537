package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/redistest"
)

// The end-to-end suite runs bin/gatewayd, bin/sandbox and redis-server as
// separate processes, wired as `make run` wires them, and drives them over
// HTTP only: every sender talks to the sandbox through the real SDKs.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func buildBinaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "gatewayd-e2e")
		if buildErr != nil {
			return
		}
		for _, pkg := range []string{"github.com/journeygate/gateway/cmd/gatewayd", "github.com/journeygate/gateway/cmd/sandbox"} {
			out, err := exec.Command("go", "build", "-o", binDir, pkg).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type stack struct {
	t       testing.TB
	gateway string // base URL
	sandbox string // control API base URL
	token   string
	bins    string
	env     []string
	procs   map[string]*proc
	redis   *redistest.Server // nil when the stack runs on a cluster
	configs []string          // extra -config files, after the demo's
}

// proc is one process of the stack.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string // path of its stdout and stderr
}

// start runs a binary of the stack under name (its log is shown when the
// test fails) and stops it when the test ends.
func (s *stack) start(name string, args ...string) *proc {
	s.t.Helper()
	bin := name
	if strings.HasPrefix(name, "gatewayd") {
		bin = "gatewayd"
	}
	cmd := exec.Command(filepath.Join(s.bins, bin), args...)
	cmd.Env = s.env
	logFile, err := os.Create(filepath.Join(s.t.TempDir(), name+".log"))
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), log: logFile.Name()}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	s.procs[name] = p
	s.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if s.t.Failed() {
			out, _ := os.ReadFile(logFile.Name())
			s.t.Logf("%s log:\n%s", name, tail(string(out), 4000))
		}
	})
	return p
}

// startGateway starts a gatewayd and waits until it is ready.
func (s *stack) startGateway(name string) *proc {
	s.t.Helper()
	args := []string{"-config", "../../configs/gateway.yaml", "-config", "../../configs/demo.yaml"}
	for _, c := range s.configs {
		args = append(args, "-config", c)
	}
	p := s.start(name, args...)
	s.eventually(name+" ready", func() bool {
		select {
		case <-p.done:
			s.t.Fatalf("%s exited during start", name)
		default:
		}
		resp, err := http.Get(s.gateway + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// kill ends a process at once, as a crash or kill -9 would.
func (s *stack) kill(name string) {
	p := s.procs[name]
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// startStack starts Redis, the sandbox and the gateway with the demo secrets.
func startStack(t testing.TB) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and starts processes")
	}
	return startStackWith(t)
}

// startStackWith starts the stack with extra environment (later entries win).
func startStackWith(t testing.TB, extraEnv ...string) *stack {
	t.Helper()
	return startStackOpts(t, stackOptions{env: extraEnv})
}

// stackOptions vary the stack for journeys, faults and the cluster run.
type stackOptions struct {
	env       []string // extra environment, later entries win
	redisConf []string // extra redis-server directives (after "appendonly yes")
	configs   []string // extra -config files for every gatewayd
	cluster   []string // Redis Cluster addresses; no single server is started
	noGateway bool     // start Redis and the sandbox only
}

func startStackOpts(t testing.TB, o stackOptions) *stack {
	t.Helper()
	bins := buildBinaries(t)
	var redis *redistest.Server
	redisEnv := "REDIS_CLUSTER_ADDRS=" + strings.Join(o.cluster, ",")
	if len(o.cluster) == 0 {
		redis = redistest.Start(t, append([]string{"appendonly yes"}, o.redisConf...)...)
		redisEnv = "REDIS_URL=redis://" + redis.Addr + "/0"
	}
	gw, ui, wecomAPI, wechatAPI, smsAPI, smtpAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	env := append(os.Environ(), demoEnv(t)...)
	env = append(env,
		"HTTP_ADDR="+gw, "PUBLIC_BASE_URL=http://"+gw, redisEnv,
		"WECOM_API_BASE=http://"+wecomAPI, "WECHAT_API_BASE=http://"+wechatAPI,
		"ALIYUN_SMS_ENDPOINT="+smsAPI, "SMTP_ADDR="+smtpAddr, "LOG_LEVEL=warn",
		"SANDBOX_REPORT_DELAY=100ms",
	)
	env = append(env, o.env...)
	s := &stack{t: t, gateway: "http://" + gw, sandbox: "http://" + ui, token: "demo-admin-token-change-me", bins: bins, env: env,
		procs: map[string]*proc{}, redis: redis, configs: o.configs}
	s.start("sandbox", "-ui", ui, "-wecom", wecomAPI, "-wechat", wechatAPI, "-sms", smsAPI, "-smtp", smtpAddr, "-gateway", "http://"+gw)
	if o.noGateway {
		return s
	}
	s.startGateway("gatewayd")
	s.seedTemplates()
	return s
}

// seedTemplates loads configs/templates as `make run` does.
func (s *stack) seedTemplates() {
	files, _ := filepath.Glob("../../configs/templates/*.json")
	if len(files) == 0 {
		s.t.Fatal("no shipped templates in configs/templates")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			s.t.Fatal(err)
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			s.t.Fatalf("%s: %v", f, err)
		}
		s.call(http.MethodPut, s.gateway+"/api/v1/templates/"+strings.TrimSuffix(filepath.Base(f), ".json"), body, 200, nil)
	}
}

func (s *stack) receivedVia(channel, api string) []received {
	var out []received
	for _, r := range s.received(channel) {
		if strings.Contains(r.API, api) {
			out = append(out, r)
		}
	}
	return out
}

func demoEnv(t testing.TB) []string {
	data, err := os.ReadFile("../../configs/demo.env")
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env = append(env, k+"="+strings.Trim(v, `"`))
		}
	}
	return env
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (s *stack) eventually(what string, ok func() bool) {
	s.t.Helper()
	s.eventuallyWithin(20*time.Second, what, ok)
}

func (s *stack) eventuallyWithin(limit time.Duration, what string, ok func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// call sends JSON and decodes the JSON answer into out (when non-nil).
func (s *stack) call(method, url string, body any, wantStatus int, out any) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		s.t.Fatalf("%s %s = %d %s, want %d", method, url, resp.StatusCode, raw, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, url, err, raw)
		}
	}
}

type received struct {
	API  string          `json:"api"`
	To   string          `json:"to"`
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

func (s *stack) received(channel string) []received {
	var got []received
	s.call(http.MethodGet, s.sandbox+"/api/messages?channel="+channel, nil, 200, &got)
	return got
}

func (s *stack) messageStatus(id string) (status, channel string) {
	var m struct{ Status, Channel, Error string }
	s.call(http.MethodGet, s.gateway+"/api/v1/messages/"+id, nil, 200, &m)
	if m.Error != "" && (m.Status == "failed" || m.Status == "suppressed") {
		s.t.Fatalf("message %s %s: %s", id, m.Status, m.Error)
	}
	return m.Status, m.Channel
}

func (s *stack) waitStatus(id, want string) string {
	s.t.Helper()
	var channel string
	s.eventually("message "+id+" "+want, func() bool {
		var st string
		st, channel = s.messageStatus(id)
		return st == want
	})
	return channel
}

const receiptTemplate = `{"name": "发货通知", "purpose": "transactional", "channels": {
  "wecom": {"text": "{{.name}}，您的订单 {{.order}} 已发货"},
  "officialaccount": {"text": "{{.name}}，您的订单 {{.order}} 已发货", "template_id": "TPL_SHIPPED", "fields": {"first": "{{.name}}，您的订单已发货", "keyword1": "{{.order}}"}},
  "sms": {"template_code": "SMS_123456", "params": {"name": "{{.name}}"}},
  "email": {"subject": "订单 {{.order}} 已发货", "html": "<p>{{.name}}，您的订单 <a href=\"https://shop.example.com/o/{{.order}}\">{{.order}}</a> 已发货</p>", "text": "{{.name}}，您的订单 {{.order}} 已发货"}}}`

func TestEndToEndEveryChannel(t *testing.T) {
	s := startStack(t)
	var tpl map[string]any
	_ = json.Unmarshal([]byte(receiptTemplate), &tpl)
	s.call(http.MethodPut, s.gateway+"/api/v1/templates/e2e_shipped", tpl, 200, nil)

	t.Run("sms, delivered by the pushed receipt", func(t *testing.T) {
		s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{
			"id": "e2e-sms-1", "contact": map[string]string{"phone": "138 0013 8000"}, "template": "e2e_shipped",
			"vars": map[string]any{"name": "王伟", "order": "A1001"}, "purpose": "transactional", "channel": "sms"}, 202, nil)
		s.waitStatus("e2e-sms-1", "delivered")
		got := s.received("sms")
		if len(got) != 1 || got[0].To != "13800138000" || !strings.Contains(string(got[0].Body), "王伟") {
			t.Fatalf("sandbox SMS = %+v", got)
		}
	})
	t.Run("email over SMTP", func(t *testing.T) {
		s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{
			"id": "e2e-mail-1", "contact": map[string]string{"email": "Buyer@Example.com"}, "template": "e2e_shipped",
			"vars": map[string]any{"name": "Lee", "order": "A1002"}, "purpose": "transactional"}, 202, nil)
		if ch := s.waitStatus("e2e-mail-1", "sent"); ch != "email" {
			t.Fatalf("sent over %s, want email (the only reachable channel)", ch)
		}
		s.eventually("mail captured", func() bool { return len(s.received("email")) == 1 })
		if got := s.received("email")[0]; got.To != "buyer@example.com" || !strings.Contains(string(got.Body), "A1002") {
			t.Fatalf("captured mail = %s to %s", got.Body, got.To)
		}
	})
	t.Run("official account inside the 48-hour window", func(t *testing.T) {
		s.call(http.MethodPost, s.sandbox+"/api/play/officialaccount", map[string]string{"openid": "oE2E1", "event": "subscribe", "scene": "expo"}, 200, nil)
		s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{
			"id": "e2e-oa-1", "contact": map[string]string{"openid": "oE2E1"}, "template": "e2e_shipped",
			"vars": map[string]any{"name": "张", "order": "A1003"}, "purpose": "service"}, 202, nil)
		if ch := s.waitStatus("e2e-oa-1", "sent"); ch != "officialaccount" {
			t.Fatalf("sent over %s", ch)
		}
		got := s.received("officialaccount")
		if len(got) != 1 || got[0].API != "message/custom/send" || got[0].To != "oE2E1" {
			t.Fatalf("sandbox official account = %+v, want one customer-service message", got)
		}
	})
	t.Run("official account outside the window goes as a template message", func(t *testing.T) {
		s.call(http.MethodPost, s.gateway+"/api/v1/events", map[string]any{"contact": map[string]string{"openid": "oCold1"}, "type": "imported"}, 202, nil)
		s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{
			"id": "e2e-oa-2", "contact": map[string]string{"openid": "oCold1"}, "template": "e2e_shipped",
			"vars": map[string]any{"name": "赵", "order": "A1004"}, "purpose": "transactional"}, 202, nil)
		s.waitStatus("e2e-oa-2", "sent")
		var m struct{ Kind string }
		s.call(http.MethodGet, s.gateway+"/api/v1/messages/e2e-oa-2", nil, 200, &m)
		if m.Kind != "template" {
			t.Fatalf("kind %q, want template", m.Kind)
		}
	})
	t.Run("wecom: a new customer is welcomed with the callback's code", func(t *testing.T) {
		s.call(http.MethodPost, s.sandbox+"/api/play/wecom", map[string]string{"external_userid": "wmE2E1", "user_id": "rep.li", "event": "add_external_contact", "state": "expo"}, 200, nil)
		s.eventually("welcome message", func() bool { return len(s.receivedVia("wecom", "send_welcome_msg")) == 1 })
		if got := s.receivedVia("wecom", "send_welcome_msg")[0]; !strings.Contains(string(got.Body), "专属顾问") {
			t.Fatalf("welcome body %s", got.Body)
		}
	})
	t.Run("wecom: tag changes are mirrored onto the customer", func(t *testing.T) {
		var c struct{ ID string }
		s.call(http.MethodGet, s.gateway+"/api/v1/contacts/lookup?channel=wecom&id=wmE2E1", nil, 200, &c)
		s.call(http.MethodPost, s.gateway+"/api/v1/contacts/"+c.ID+"/tags", map[string]any{"add": []string{"vip", "unmapped"}}, 200, nil)
		s.eventually("tag in WeCom", func() bool {
			var tags []string
			s.call(http.MethodGet, s.sandbox+"/api/wecom/tags?external_userid=wmE2E1", nil, 200, &tags)
			return len(tags) == 1 && tags[0] == "etDEMOVIP0001"
		})
	})
	t.Run("a lead that turns hot is handed to its rep with a WeCom card", func(t *testing.T) {
		for i, typ := range []string{"whitepaper_download", "webinar_attended", "webinar_attended", "webinar_attended", "webinar_attended"} {
			s.call(http.MethodPost, s.gateway+"/api/v1/events", map[string]any{"contact": map[string]string{"external_userid": "wmE2E1"}, "type": typ, "id": fmt.Sprintf("hot-%d", i)}, 202, nil)
		}
		var c struct{ Stage string }
		s.call(http.MethodGet, s.gateway+"/api/v1/contacts/lookup?channel=wecom&id=wmE2E1", nil, 200, &c)
		if c.Stage != "sql" {
			t.Fatalf("stage %q at 90 points, want sql", c.Stage)
		}
		s.eventually("card to the rep", func() bool {
			for _, r := range s.receivedVia("wecom", "message/send") {
				if r.To == "rep.li" && strings.Contains(string(r.Body), "线索待跟进") {
					return true
				}
			}
			return false
		})
		// The rep answers 已跟进 in the WeCom app: the hand-off closes.
		s.call(http.MethodPost, s.sandbox+"/api/play/wecom", map[string]string{"user_id": "rep.li", "text": "已跟进"}, 200, nil)
		var who struct{ ID string }
		s.call(http.MethodGet, s.gateway+"/api/v1/contacts/lookup?channel=wecom&id=wmE2E1", nil, 200, &who)
		s.eventually("hand-off closed", func() bool {
			var tl struct{ Entries []struct{ Type string } }
			s.call(http.MethodGet, s.gateway+"/api/v1/contacts/"+who.ID+"/timeline", nil, 200, &tl)
			return len(tl.Entries) > 0 && tl.Entries[0].Type == "handoff_followed_up"
		})
	})
	t.Run("wecom customer gets a group-send task from the rep", func(t *testing.T) {
		s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{
			"id": "e2e-wecom-1", "contact": map[string]string{"external_userid": "wmE2E1"}, "template": "e2e_shipped",
			"vars": map[string]any{"name": "钱", "order": "A1005"}, "purpose": "service"}, 202, nil)
		if ch := s.waitStatus("e2e-wecom-1", "sent"); ch != "wecom" {
			t.Fatalf("sent over %s", ch)
		}
		got := s.receivedVia("wecom", "add_msg_template")
		if len(got) != 1 || got[0].To != "wmE2E1" {
			t.Fatalf("sandbox WeCom = %+v, want one add_msg_template", got)
		}
	})
}

func TestEndToEndBadInput(t *testing.T) {
	s := startStack(t)
	var e struct {
		Code  int
		Error string
	}
	s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{"contact": map[string]string{"phone": "13800138000"}, "template": "nope", "purpose": "transactional"}, 404, &e)
	if e.Code != 3201 {
		t.Errorf("unknown template: code %d (%s)", e.Code, e.Error)
	}
	s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{"contact": map[string]string{"phone": "13800138000"}, "template": "order_shipped", "purpose": "transactional", "vars": map[string]any{"order": "x"}}, 422, &e)
	if e.Code != 3202 || !strings.Contains(e.Error, "name") {
		t.Errorf("missing variable: code %d (%s), want 3202 naming the variable", e.Code, e.Error)
	}
	s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{"contact": map[string]string{"phone": "13800138000"}, "template": "order_shipped", "purpose": "transactional", "channel": "email", "vars": map[string]any{"name": "a", "order": "x"}}, 422, &e)
	if e.Code != 3101 {
		t.Errorf("forced channel without an address: code %d (%s), want 3101", e.Code, e.Error)
	}
}
