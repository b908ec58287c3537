package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels/email"
	"github.com/journeygate/gateway/channels/officialaccount"
	"github.com/journeygate/gateway/channels/wecom"
	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/templates"
)

// Tencent's published WeCom test vector doubles as our test app.
const (
	vecToken  = "QDG6eK"
	vecAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	vecCorpID = "wx5823bf96d3bd56c7"

	oaAppID  = "wxoatest000000001"
	oaToken  = "oatoken"
	oaAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

	adminToken   = "test-admin-token-0123456789"
	webhookToken = "test-webhook-token"
)

type harness struct {
	t      testing.TB
	srv    *Server
	rdb    *redis.Client
	clock  *testclock.Clock
	wecom  *wecom.Callback
	oa     *officialaccount.Callback
	tokens *email.Tokens
	store  *contacts.Store
}

func newHarness(t testing.TB, edit ...func(*configs.Config)) *harness {
	t.Helper()
	return newHarnessDeps(t, nil, edit...)
}

// newHarnessDeps is newHarness with a last say over the server's Deps
// (Redis, contacts and the clock are set when it runs).
func newHarnessDeps(t testing.TB, deps func(*Deps), edit ...func(*configs.Config)) *harness {
	t.Helper()
	gin.SetMode(gin.TestMode)
	rdb := redistest.Client(t)
	clk := testclock.New(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	cfg := configs.Default()
	cfg.Admin.Token = adminToken
	cfg.Public.TrackingSecret = "test-tracking-secret-0123456789"
	cfg.Email.WebhookToken = webhookToken
	for _, e := range edit {
		e(&cfg)
	}
	store, err := contacts.NewStore(rdb, contacts.Options{Now: clk.Now, TimelineMax: cfg.Contacts.TimelineMax})
	if err != nil {
		t.Fatal(err)
	}
	wc, err := wecom.NewCallback(wecom.CallbackConfig{Token: vecToken, EncodingAESKey: vecAESKey, CorpID: vecCorpID, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	oa, err := officialaccount.NewCallback(officialaccount.CallbackConfig{AppID: oaAppID, Token: oaToken, EncodingAESKey: oaAESKey, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := email.NewTokens([]byte(cfg.Public.TrackingSecret), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	tpls, err := templates.NewStore(rdb, templates.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	renderer, err := templates.NewRenderer(templates.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Config: cfg, Redis: rdb, Contacts: store, WeCom: wc, OA: oa, Tokens: tokens, Registry: prometheus.NewRegistry(), Now: clk.Now,
		Templates: tpls, Renderer: renderer}
	if deps != nil {
		deps(&d)
	}
	srv, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, srv: srv, rdb: rdb, clock: clk, wecom: wc, oa: oa, tokens: tokens, store: store}
}

type response struct {
	Status int
	Body   string
	Header http.Header
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.Body)
	}
	return m
}

// code returns the catalogue code of an error response.
func (r response) code(t testing.TB) int {
	t.Helper()
	c, ok := r.json(t)["code"].(float64)
	if !ok {
		t.Fatalf("error body has no code: %s", r.Body)
	}
	return int(c)
}

func (h *harness) do(method, target string, body io.Reader, header ...string) response {
	h.t.Helper()
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	// Tests compare Redis state: write the activity index now, not behind.
	if err := h.store.FlushActivity(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	return response{Status: rec.Code, Body: rec.Body.String(), Header: rec.Header()}
}

func (h *harness) api(method, path, body string) response {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return h.do(method, path, r, "Authorization", "Bearer "+adminToken, "Content-Type", "application/json")
}

// wecomPost seals plaintext XML as WeCom would and posts it.
func (h *harness) wecomPost(plain string) response {
	h.t.Helper()
	ts := fmtUnix(h.clock.Now())
	body, sig, err := h.wecom.Seal([]byte(plain), ts, "nonce123")
	if err != nil {
		h.t.Fatal(err)
	}
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {"nonce123"}}
	return h.do(http.MethodPost, "/callbacks/wecom?"+q.Encode(), bytes.NewReader(body))
}

// oaPost seals plaintext XML in safe mode and posts it.
func (h *harness) oaPost(plain string) response {
	h.t.Helper()
	body, q, err := h.oa.Seal([]byte(plain), fmtUnix(h.clock.Now()), "n0nce")
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(http.MethodPost, "/callbacks/officialaccount?"+q.Encode(), bytes.NewReader(body))
}

func fmtUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func (h *harness) contact(channel, id string) map[string]any {
	h.t.Helper()
	r := h.api(http.MethodGet, "/api/v1/contacts/lookup?channel="+channel+"&id="+url.QueryEscape(id), "")
	if r.Status != http.StatusOK {
		h.t.Fatalf("lookup %s %s: %d %s", channel, id, r.Status, r.Body)
	}
	return r.json(h.t)
}

func (h *harness) dbsize() int64 {
	h.t.Helper()
	n, err := h.rdb.DBSize(context.Background()).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) timeline(id string) []map[string]any {
	h.t.Helper()
	r := h.api(http.MethodGet, "/api/v1/contacts/"+id+"/timeline", "")
	if r.Status != http.StatusOK {
		h.t.Fatalf("timeline: %d %s", r.Status, r.Body)
	}
	var body struct {
		Entries []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		h.t.Fatal(err)
	}
	return body.Entries
}

// issueToken gets a per-person token through the API.
func (h *harness) issueToken(name, role, userid string) string {
	h.t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "role": role, "userid": userid})
	got := h.mustStatus(h.api(http.MethodPost, "/api/v1/tokens", string(body)), http.StatusCreated)
	tok, _ := got["token"].(string)
	if tok == "" {
		h.t.Fatalf("no token in %v", got)
	}
	return tok
}
