package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/outreach"
	"github.com/journeygate/gateway/templates"
)

// weComAppStandIn plays qyapi.weixin.qq.com for app messages: gettoken
// checks the corp id and secret and hands out TOKEN-1; message/send
// refuses any other token (40014, as WeCom does) and records the body.
type weComAppStandIn struct {
	t     *testing.T
	mu    sync.Mutex
	sends []map[string]any
}

func (w *weComAppStandIn) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch r.URL.Path {
	case "/cgi-bin/gettoken":
		if q.Get("corpid") != "wwguardrail0001" || q.Get("corpsecret") != "app-secret" {
			_, _ = io.WriteString(rw, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		_, _ = io.WriteString(rw, `{"errcode":0,"errmsg":"ok","access_token":"TOKEN-1","expires_in":7200}`)
	case "/cgi-bin/message/send":
		if r.Method != http.MethodPost || q.Get("access_token") != "TOKEN-1" {
			_, _ = io.WriteString(rw, `{"errcode":40014,"errmsg":"invalid access_token"}`)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.t.Errorf("message/send body is not JSON: %v", err)
		}
		w.mu.Lock()
		w.sends = append(w.sends, body)
		w.mu.Unlock()
		_, _ = io.WriteString(rw, `{"errcode":0,"errmsg":"ok","invaliduser":"","msgid":"msg-1"}`)
	default:
		w.t.Errorf("unexpected WeCom call %s %s", r.Method, r.URL.Path)
		_, _ = io.WriteString(rw, `{"errcode":404,"errmsg":"unknown api"}`)
	}
}

func (w *weComAppStandIn) received() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]any(nil), w.sends...)
}

// TestGuardrailNoticeReachesWeCom wires the gateway's parts as main does,
// with WeCom pointed at a stand-in: a campaign whose pilot results breach
// its guardrail pauses, and its owner gets exactly one textcard through
// WeCom's app message API, with the KPI, the figures and the console link.
func TestGuardrailNoticeReachesWeCom(t *testing.T) {
	wecomAPI := &weComAppStandIn{t: t}
	srv := httptest.NewServer(wecomAPI)
	t.Cleanup(srv.Close)
	rdb := redistest.Client(t)
	cfg := configs.Default()
	cfg.WeCom.CorpID, cfg.WeCom.AgentID, cfg.WeCom.Secret, cfg.WeCom.APIBase = "wwguardrail0001", "1000002", "app-secret", srv.URL
	cfg.WeCom.HandoffLead = "lead.wang"
	cfg.Public.BaseURL = "https://gw.example.com"
	cfg.Outreach.Workers = 2
	log := zap.NewNop()

	senders, closeSenders, err := buildSenders(cfg, rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeSenders)
	store, err := contacts.NewStore(rdb, contacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tpls, err := templates.NewStore(rdb, templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	renderer, err := templates.NewRenderer(templates.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpls.Save(t.Context(), templates.Template{ID: "d11_promo", Name: "双十一", Purpose: channels.Marketing,
		Channels: templates.Channels{Email: &templates.EmailBody{Subject: "双十一", Text: "你好 {{.name}}"}}}, "test"); err != nil {
		t.Fatal(err)
	}
	pipeline, err := outreach.New(rdb, store, outreach.TemplateRenderer{Store: tpls, Renderer: renderer}, senders, outreach.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pipeline.Close() })
	notifier := repNotifier(rdb, cfg, senders, log)
	if notifier == nil {
		t.Fatal("no rep notifier although WeCom sending is configured")
	}
	t.Cleanup(func() { _ = notifier.Close() })
	campaigns, err := buildCampaigns(rdb, pipeline, store, notifier, log)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, err := store.Apply(t.Context(), contacts.Change{EventID: fmt.Sprintf("seed-%d", i), Name: "李",
			Identities: []contacts.Identity{{Kind: contacts.KindEmail, Value: fmt.Sprintf("fan%d@example.com", i)}}, AddTags: []string{"vip"}}); err != nil {
			t.Fatal(err)
		}
	}
	// The pilot's results as tracking would have counted them: 20 sends, 1 open.
	for stat, n := range map[string]int{"sent": 20, "opened": 1} {
		for range n {
			if err := pipeline.CountCampaign(t.Context(), "d11", "main", "email", stat); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := campaigns.Create(t.Context(), outreach.Campaign{ID: "d11", Name: "双十一会员日", Audience: "tag:vip", Purpose: channels.Marketing,
		Owner: "zhangsan", Variants: []outreach.Variant{{Name: "main", Template: "d11_promo", Weight: 1}},
		Guardrail: &outreach.Guardrail{MinSends: 10, MinOpenRate: 0.1}}); err != nil {
		t.Fatal(err)
	}
	workers := startWorkers(rdb, cfg, log, pipeline.Register, campaigns.Register, notifier.Register)
	t.Cleanup(workers.Shutdown)

	deadline := time.Now().Add(20 * time.Second)
	for len(wecomAPI.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // a second card would arrive by now
	want := []map[string]any{{
		"touser": "zhangsan", "toparty": "", "totag": "", "msgtype": "textcard", "agentid": "1000002",
		"safe": 0.0, "enable_id_trans": 0.0, "enable_duplicate_check": 1.0, "duplicate_check_interval": 1800.0,
		"textcard": map[string]any{
			"title":       "活动已自动暂停：双十一会员日",
			"description": "触发指标：打开率 5.0%（20 次发送，1 次打开），低于阈值 10.0%\n请检查内容和受众，然后在控制台恢复或取消活动。",
			"url":         "https://gw.example.com/console/#/campaigns/d11",
		},
	}}
	if diff := cmp.Diff(want, wecomAPI.received()); diff != "" {
		t.Errorf("WeCom message/send calls (-want +got):\n%s", diff)
	}
	c, err := campaigns.Get(t.Context(), "d11")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != outreach.CampaignPaused {
		t.Errorf("campaign status %s, want paused", c.Status)
	}
}
