package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/outreach"
)

// outbox is a Sender that keeps what it was asked to send.
type outbox struct {
	ch   channels.Channel
	mu   sync.Mutex
	sent map[string]*channels.Outbound
}

func (o *outbox) Channel() channels.Channel { return o.ch }

func (o *outbox) Send(_ context.Context, m *channels.Outbound) (channels.Receipt, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := *m
	o.sent[m.ID] = &c
	return channels.Receipt{PlatformID: "p-" + m.ID}, nil
}

func (o *outbox) get(id string) *channels.Outbound {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent[id]
}

// withSending gives the server a send pipeline with a worker and an outbox
// for every channel, so messages go the whole way.
func (h *harness) withSending() map[channels.Channel]*outbox {
	h.t.Helper()
	boxes := map[channels.Channel]*outbox{}
	var senders []outreach.Sender
	for _, ch := range []channels.Channel{channels.WeCom, channels.OfficialAccount, channels.SMS, channels.Email} {
		boxes[ch] = &outbox{ch: ch, sent: map[string]*channels.Outbound{}}
		senders = append(senders, boxes[ch])
	}
	p, err := outreach.New(h.rdb, h.store, outreach.TemplateRenderer{Store: h.srv.tpls, Renderer: h.srv.renderer}, senders, outreach.Options{Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	srv := asynq.NewServerFromRedisClient(h.rdb, asynq.Config{Concurrency: 2, Queues: outreach.Queues, LogLevel: asynq.ErrorLevel,
		DelayedTaskCheckInterval: 100 * time.Millisecond})
	mux := asynq.NewServeMux()
	p.Register(mux)
	if err := srv.Start(mux); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { srv.Shutdown(); _ = p.Close() })
	h.srv.outreach = p
	return boxes
}

// waitSent waits until the message reached a final status and returns it.
func (h *harness) waitSent(id string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := h.api(http.MethodGet, "/api/v1/messages/"+id, "").json(h.t)
		if s, _ := m["status"].(string); outreach.Status(s).Terminal() {
			return m
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("message %s did not finish: %v", id, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mailTemplate(subject string) string {
	return `{"name": "Order shipped", "purpose": "transactional", "channels": {
	  "email": {"subject": "` + subject + ` {{.order}}", "text": "{{.name}}，订单 {{.order}} 已发货"}}}`
}

func TestDraftsPublishAndSendsUseThePublishedVersion(t *testing.T) {
	h := newHarness(t)
	boxes := h.withSending()
	send := func(n int) (subject string, version float64) {
		t.Helper()
		id := fmt.Sprintf("m%d", n)
		body := `{"id":"` + id + `","contact":{"email":"wang@example.com"},"template":"shipped","vars":{"name":"王伟","order":"A1"},"purpose":"transactional"}`
		if r := h.api(http.MethodPost, "/api/v1/messages", body); r.Status != http.StatusAccepted {
			t.Fatalf("send: %d %s", r.Status, r.Body)
		}
		m := h.waitSent(id)
		out := boxes[channels.Email].get(id)
		if out == nil {
			t.Fatalf("message %s was not sent: %v", id, m)
		}
		return out.Subject, m["template_version"].(float64)
	}

	r := h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/shipped", mailTemplate("v1")), http.StatusOK)
	if tpl := r["template"].(map[string]any); tpl["status"] != "published" || tpl["published_version"] != 1.0 {
		t.Errorf("a save without draft: %v, want published version 1", tpl)
	}
	draft := strings.Replace(mailTemplate("v2"), `{"name"`, `{"draft": true, "name"`, 1)
	r = h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/shipped", draft), http.StatusOK)
	if tpl := r["template"].(map[string]any); tpl["status"] != "draft" || tpl["version"] != 2.0 || tpl["published_version"] != 1.0 || r["changed"] != true {
		t.Errorf("a draft save: %v", r)
	}
	if got := h.api(http.MethodGet, "/api/v1/templates/shipped", "").json(t); got["version"] != 2.0 || got["status"] != "draft" {
		t.Errorf("GET answers the newest version: %v", got)
	}
	if got := h.api(http.MethodGet, "/api/v1/templates/shipped?version=published", "").json(t); got["version"] != 1.0 {
		t.Errorf("GET ?version=published: %v", got)
	}

	if subj, v := send(1); subj != "v1 A1" || v != 1 {
		t.Errorf("with a draft pending, a send used %q (version %v), want v1", subj, v)
	}
	h.mustStatus(h.api(http.MethodPost, "/api/v1/templates/shipped/publish", `{"version": 2}`), http.StatusOK)
	if subj, v := send(2); subj != "v2 A1" || v != 2 {
		t.Errorf("after publishing 2, a send used %q (version %v)", subj, v)
	}
	rolled := h.mustStatus(h.api(http.MethodPost, "/api/v1/templates/shipped/publish", `{"version": 1}`), http.StatusOK)
	if rolled["status"] != "published" || rolled["published_by"] != "admin" {
		t.Errorf("rollback answer: %v", rolled)
	}
	if subj, v := send(3); subj != "v1 A1" || v != 1 {
		t.Errorf("after the rollback, a send used %q (version %v)", subj, v)
	}

	vs := h.api(http.MethodGet, "/api/v1/templates/shipped/versions", "").json(t)
	var got []string
	for _, v := range vs["versions"].([]any) {
		m := v.(map[string]any)
		got = append(got, fmt.Sprintf("%v:%v:%v", m["version"], m["status"], m["published_at"] != nil))
	}
	if diff := cmp.Diff([]string{"2:superseded:true", "1:published:true"}, got); diff != "" {
		t.Errorf("versions (-want +got)\n%s", diff)
	}
	got = nil
	for _, p := range vs["publishes"].([]any) {
		m := p.(map[string]any)
		got = append(got, fmt.Sprintf("%v by %v", m["version"], m["by"]))
	}
	if diff := cmp.Diff([]string{"1 by admin", "2 by admin", "1 by admin"}, got); diff != "" {
		t.Errorf("publish log (-want +got)\n%s", diff)
	}

	d := h.mustStatus(h.api(http.MethodGet, "/api/v1/templates/shipped/diff?from=1&to=2", ""), http.StatusOK)
	want := map[string]any{"from": 1.0, "to": 2.0, "changes": []any{
		map[string]any{"path": "channels.email.subject", "from": "v1 {{.order}}", "to": "v2 {{.order}}"}}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("diff (-want +got)\n%s", diff)
	}

	// The publish and the saves are in the audit log.
	audit := h.api(http.MethodGet, "/api/v1/audit?action=template.publish", "").json(t)
	if n := len(audit["entries"].([]any)); n != 2 {
		t.Errorf("%d template.publish audit entries, want 2: %v", n, audit)
	}
}

func TestDraftOnlyTemplateIsNotSent(t *testing.T) {
	h := newHarness(t)
	h.withOutreach()
	draft := strings.Replace(mailTemplate("v1"), `{"name"`, `{"draft": true, "name"`, 1)
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/shipped", draft), http.StatusOK)
	before := h.dbsize()
	r := h.api(http.MethodPost, "/api/v1/messages", `{"contact":{"email":"wang@example.com"},"template":"shipped","vars":{"name":"王","order":"A1"},"purpose":"transactional"}`)
	if r.Status != http.StatusConflict || r.code(t) != KindNotPublished.Code {
		t.Errorf("sending a draft-only template: %d %s, want 409 %d", r.Status, r.Body, KindNotPublished.Code)
	}
	if after := h.dbsize(); after != before {
		t.Errorf("a refused message wrote %d keys", after-before)
	}
}

func TestTemplateAPIRefusals(t *testing.T) {
	h := newHarness(t)
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/shipped", mailTemplate("v1")), http.StatusOK)
	tests := []struct {
		name, method, path, body string
		status, code             int
	}{
		{"publish unknown version", http.MethodPost, "/api/v1/templates/shipped/publish", `{"version": 5}`, 404, KindNoTemplate.Code},
		{"publish without version", http.MethodPost, "/api/v1/templates/shipped/publish", `{}`, 400, KindInvalidField.Code},
		{"publish unknown template", http.MethodPost, "/api/v1/templates/nope/publish", `{"version": 1}`, 404, KindNoTemplate.Code},
		{"diff without to", http.MethodGet, "/api/v1/templates/shipped/diff?from=1", "", 400, KindInvalidField.Code},
		{"diff of a missing version", http.MethodGet, "/api/v1/templates/shipped/diff?from=1&to=9", "", 404, KindNoTemplate.Code},
		{"bad version query", http.MethodGet, "/api/v1/templates/shipped?version=x", "", 400, KindInvalidField.Code},
		{"preview of a missing version", http.MethodPost, "/api/v1/templates/shipped/preview", `{"version": 7}`, 404, KindNoTemplate.Code},
		{"unsaved preview with a version", http.MethodPost, "/api/v1/templates/preview", `{"template": {}, "version": 1}`, 400, KindInvalidField.Code},
		{"unsaved preview, unknown field", http.MethodPost, "/api/v1/templates/preview", `{"template": {"colour": 1}}`, 400, KindInvalidField.Code},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.api(tt.method, tt.path, tt.body)
			if r.Status != tt.status || r.code(t) != tt.code {
				t.Errorf("got %d %s, want %d code %d", r.Status, r.Body, tt.status, tt.code)
			}
		})
	}
}

func TestUnsavedPreview(t *testing.T) {
	h := newHarness(t)
	before := h.dbsize()
	body := `{"template": {"name": "x", "purpose": "service", "channels": {
	    "wecom": {"text": "{{.name}}，明天见"},
	    "email": {"subject": "", "text": "{{.name}}"}}},
	  "vars": {"name": "王伟"}}`
	r := h.mustStatus(h.api(http.MethodPost, "/api/v1/templates/preview", body), http.StatusOK)
	chs := r["channels"].([]any)
	if text := chs[0].(map[string]any)["rendered"].(map[string]any)["text"]; text != "王伟，明天见" {
		t.Errorf("wecom renders %v", text)
	}
	if e, _ := chs[1].(map[string]any)["error"].(string); !strings.Contains(e, "subject") {
		t.Errorf("email without a subject: %v, want an error naming the subject", chs[1])
	}
	problems := r["problems"].([]any)
	if len(problems) != 1 || problems[0].(map[string]any)["path"] != "channels.email.subject" {
		t.Errorf("problems: %v, want channels.email.subject", problems)
	}
	if after := h.dbsize(); after != before {
		t.Errorf("an unsaved preview stored %d keys", after-before)
	}
}

func TestTemplateRoutesByRole(t *testing.T) {
	h := newHarness(t)
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/shipped", mailTemplate("v1")), http.StatusOK)
	token := func(role string) string {
		r := h.mustStatus(h.api(http.MethodPost, "/api/v1/tokens", `{"name":"`+role+` person","role":"`+role+`","userid":"rep.li"}`), http.StatusCreated)
		return r["token"].(string)
	}
	marketer, sales := token("marketer"), token("sales")
	routes := []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/templates/shipped/publish", `{"version": 1}`},
		{http.MethodGet, "/api/v1/templates/shipped/diff?from=1&to=1", ""},
		{http.MethodPost, "/api/v1/templates/preview", `{"template": {"name": "x", "purpose": "service", "channels": {"wecom": {"text": "hi"}}}}`},
	}
	for _, rt := range routes {
		for _, tc := range []struct {
			token string
			want  int
		}{{marketer, http.StatusOK}, {sales, http.StatusForbidden}} {
			r := h.do(rt.method, rt.path, strings.NewReader(rt.body), "Authorization", "Bearer "+tc.token, "Content-Type", "application/json")
			if r.Status != tc.want {
				t.Errorf("%s %s: %d %s, want %d", rt.method, rt.path, r.Status, r.Body, tc.want)
			}
		}
	}
}

func TestPreviewShowsSamplesDefaultsAndSMSSegments(t *testing.T) {
	h := newHarness(t, func(c *configs.Config) { c.Aliyun.SMSSignName = "极客商城" })
	body := `{"name": "Shipped", "purpose": "transactional",
	  "vars": [{"name": "name", "sample": "王先生", "default": "客户"}, {"name": "order", "sample": "A1001"}],
	  "channels": {"sms": {"template_code": "SMS_1", "text": "${name}，您的订单${order}已发货", "params": {"name": "{{.name}}", "order": "{{.order}}"}}}}`
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/shipped", body), http.StatusOK)
	p := h.mustStatus(h.api(http.MethodPost, "/api/v1/templates/shipped/preview", `{}`), http.StatusOK)
	got := p["channels"].([]any)[0].(map[string]any)["sms"]
	want := map[string]any{"text": "【极客商城】王先生，您的订单A1001已发货", "chars": 22.0, "segments": 1.0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SMS preview with samples (-want +got)\n%s", diff)
	}
	// A send fills the default where the vars lack the name.
	h.withOutreach()
	r := h.api(http.MethodPost, "/api/v1/messages", `{"contact":{"phone":"13800138000"},"template":"shipped","vars":{"order":"B2"},"purpose":"transactional"}`)
	if r.Status != http.StatusAccepted {
		t.Errorf("a send relying on a default: %d %s", r.Status, r.Body)
	}
	// Params that are not exactly the approved text's placeholders are refused.
	bad := strings.Replace(body, `"order": "{{.order}}"}`, `"order": "{{.order}}", "extra": "x"}`, 1)
	if r := h.api(http.MethodPut, "/api/v1/templates/shipped", bad); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "channels.sms.params.extra") {
		t.Errorf("an extra SMS param: %d %s", r.Status, r.Body)
	}
}

const launchJSON = `{"name": "Launch", "purpose": "transactional", "channels": {
    "email": {"subject": "新品上市", "text": "{{.name}}，新品上市"}},
  "locales": {"en": {"channels": {"email": {"subject": "It is out", "text": "{{.name}}, it is out"}}}},
  "variants": {"b": {"channels": {"email": {"subject": "限时抢购", "text": "{{.name}}，限时抢购"}}}}}`

func TestLocaleFromContactAndVariantFromMessage(t *testing.T) {
	h := newHarness(t)
	boxes := h.withSending()
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/launch", launchJSON), http.StatusOK)
	// A contact whose locale field is English.
	if _, err := h.store.Apply(context.Background(), contacts.Change{EventID: "seed-en",
		Identities: []contacts.Identity{{Kind: contacts.KindEmail, Value: "ann@example.com"}}, At: h.clock.Now(),
		Fields: map[string]string{"locale": "en-US"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ id, email, vars, want string }{
		{"zh", "wang@example.com", `{"name":"王伟"}`, "新品上市"},
		{"en", "ann@example.com", `{"name":"Ann"}`, "It is out"},
		{"vars-locale", "wang@example.com", `{"name":"王伟","locale":"en"}`, "It is out"},
		{"variant", "wang@example.com", `{"name":"王伟","variant":"b"}`, "限时抢购"},
		{"unknown-variant", "wang@example.com", `{"name":"王伟","variant":"main"}`, "新品上市"},
	}
	for _, tt := range tests {
		body := `{"id":"` + tt.id + `","contact":{"email":"` + tt.email + `"},"template":"launch","vars":` + tt.vars + `,"purpose":"transactional"}`
		h.mustStatus(h.api(http.MethodPost, "/api/v1/messages", body), http.StatusAccepted)
		h.waitSent(tt.id)
		if got := boxes[channels.Email].get(tt.id); got == nil || got.Subject != tt.want {
			t.Errorf("%s: sent %+v, want subject %q", tt.id, got, tt.want)
		}
	}
	// Previews pick them by request.
	p := h.mustStatus(h.api(http.MethodPost, "/api/v1/templates/launch/preview", `{"vars":{"name":"X"},"locale":"en","variant":"b"}`), http.StatusOK)
	r := p["channels"].([]any)[0].(map[string]any)["rendered"].(map[string]any)
	if r["subject"] != "It is out" || r["locale"] != "en" || r["variant"] != "b" {
		t.Errorf("preview with locale en and variant b: %v", r)
	}
}
