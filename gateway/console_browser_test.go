package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/outreach"
)

// The console's browser tests drive Debian's chromium, headless, against
// the real gateway (httptest over Server.Handler with a real Redis). One
// browser serves the whole package run; each test opens its own tab on its
// own server, so sessionStorage never leaks between tests.

const chromiumPath = "/usr/bin/chromium"

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	dir    string
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
		_ = os.RemoveAll(browser.dir)
	}
	os.Exit(code)
}

func startBrowser() {
	if _, err := os.Stat(chromiumPath); err != nil {
		browser.err = fmt.Errorf("%s is missing (%v): run scripts/ensure-chromium.sh (as root it installs Debian's chromium package)", chromiumPath, err)
		return
	}
	dir, err := os.MkdirTemp("", "console-chromium-")
	if err != nil {
		browser.err = err
		return
	}
	browser.dir = dir
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	if err := chromedp.Run(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		browser.err = fmt.Errorf("start %s: %w (scripts/ensure-chromium.sh installs it)", chromiumPath, err)
		return
	}
	browser.ctx = ctx
	browser.cancel = func() { cancelCtx(); cancelAlloc() }
}

// page is one browser tab on a test server.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string
	mu   sync.Mutex
	errs []string
}

// openConsole starts a server for h and a tab on it. Script errors and
// console errors (a CSP refusal is one) fail the test.
func openConsole(t *testing.T, h *harness) *page {
	t.Helper()
	browser.once.Do(startBrowser)
	if browser.err != nil {
		t.Fatalf("browser tests need chromium: %v", browser.err)
	}
	srv := httptest.NewServer(h.srv.Handler())
	t.Cleanup(srv.Close)
	tab, closeTab := chromedp.NewContext(browser.ctx)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	t.Cleanup(func() { cancel(); closeTab() })
	p := &page{t: t, ctx: ctx, base: srv.URL}
	chromedp.ListenTarget(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Error()
		case *log.EventEntryAdded:
			// Failed API calls (4xx the page shows) are logged as network
			// errors; anything else at error level is a fault.
			if ev.Entry.Level == log.LevelError && ev.Entry.Source != log.SourceNetwork {
				msg = "console: " + ev.Entry.Text
			}
		}
		if msg != "" {
			p.mu.Lock()
			p.errs = append(p.errs, msg)
			p.mu.Unlock()
		}
	})
	p.run(log.Enable(), runtime.Enable())
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.errs {
			t.Errorf("browser: %s", e)
		}
	})
	return p
}

func (p *page) run(actions ...chromedp.Action) {
	p.t.Helper()
	if err := chromedp.Run(p.ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v\npage text: %s", err, p.text())
	}
}

// text is the page's visible text, for failure messages.
func (p *page) text() string {
	var s string
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText : ""`, &s)); err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitText waits until the element sel exists and its text contains want.
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%s); return !!el && el.textContent.includes(%s); })()`, jsString(sel), jsString(want))
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	var ok bool
	if err := chromedp.Run(ctx, chromedp.Poll(js, &ok, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		p.t.Fatalf("waiting for %q in %s: %v\npage text: %s", want, sel, err, p.text())
	}
}

// waitJS waits until the expression is true.
func (p *page) waitJS(expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	var ok bool
	if err := chromedp.Run(ctx, chromedp.Poll(expr, &ok, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		p.t.Fatalf("waiting for %s: %v\npage text: %s", expr, err, p.text())
	}
}

// has reports whether sel matches an element now.
func (p *page) has(sel string) bool {
	p.t.Helper()
	var ok bool
	p.run(chromedp.Evaluate(fmt.Sprintf(`!!document.querySelector(%s)`, jsString(sel)), &ok))
	return ok
}

// setField types into an input as a person would: value, then an input event.
func (p *page) setField(sel, value string) {
	p.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%s); el.value = %s; el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`,
		jsString(sel), jsString(value))
	var ok bool
	p.run(chromedp.WaitReady(sel, chromedp.ByQuery), chromedp.Evaluate(js, &ok))
}

func (p *page) click(sel string) {
	p.t.Helper()
	p.run(chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Click(sel, chromedp.ByQuery))
}

func (p *page) navigate(hash string) {
	p.t.Helper()
	p.run(chromedp.Evaluate(fmt.Sprintf(`location.hash = %s`, jsString(hash)), nil))
}

// login opens the console and logs in with token.
func (p *page) login(token string) {
	p.t.Helper()
	p.run(chromedp.Navigate(p.base+"/console"), chromedp.WaitVisible("#token", chromedp.ByQuery))
	p.setField("#token", token)
	p.click("#login button[type=submit]")
}

// navPages lists the pages the nav bar offers.
func (p *page) navPages() []string {
	p.t.Helper()
	var pages []string
	p.run(chromedp.Evaluate(`[...document.querySelectorAll('#nav a')].map(a => a.dataset.page)`, &pages))
	return pages
}

func TestConsoleWrongTokenShowsTheCataloguedError(t *testing.T) {
	h := newHarness(t)
	p := openConsole(t, h)
	p.login("not-a-token")
	p.waitText("#error", fmt.Sprintf("[%d]", KindUnauthorized.Code))
	p.waitText("#error", "unknown token")
	if !p.has("#login") || len(p.navPages()) != 0 {
		t.Errorf("after a wrong token the log-in form must stay and no page be offered; page: %s", p.text())
	}
	// The token is not kept: a reload asks again.
	var kept string
	p.run(chromedp.Evaluate(`sessionStorage.getItem('jg.token') || ''`, &kept))
	if kept != "" {
		t.Errorf("a refused token stays in sessionStorage: %q", kept)
	}
}

// withHandoffs gives the server a rep notifier that tracks hand-offs
// (nothing is sent: no worker runs) and opens one per contact given.
func (h *harness) withHandoffs(open map[string]string, at time.Time) *outreach.RepNotifier {
	h.t.Helper()
	n := outreach.NewRepNotifier(h.rdb, nil, nil, "", nil)
	n.SetPolicy(outreach.HandoffPolicy{SLA: 24 * time.Hour})
	h.t.Cleanup(func() { _ = n.Close() })
	h.srv.notifier = n
	for id, rep := range open {
		ct, err := h.store.Get(h.t.Context(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if err := n.Opened(h.t.Context(), ct, rep, at); err != nil {
			h.t.Fatal(err)
		}
	}
	return n
}

// ownedContact creates a contact by phone that rep owns.
func (h *harness) ownedContact(phone, name, rep string, tags ...string) string {
	h.t.Helper()
	res, err := h.store.Apply(h.t.Context(), contacts.Change{EventID: "seed:" + phone, Owner: rep, Name: name,
		Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: phone}}, AddTags: tags})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.ContactID
}

func TestConsoleSalesSeesOnlyTheirHandoffsAndContacts(t *testing.T) {
	h := newHarness(t)
	mine := h.ownedContact("+8613800000001", "王伟", "rep.li", "webinar")
	theirs := h.ownedContact("+8613800000002", "李娜", "rep.zhao")
	h.withHandoffs(map[string]string{mine: "rep.li", theirs: "rep.zhao"}, h.clock.Now().Add(-30*time.Hour))
	token := h.issueToken("李雷 (sales)", "sales", "rep.li")

	p := openConsole(t, h)
	p.login(token)
	p.waitText("#handoffs", "王伟")
	if diff := cmp.Diff([]string{"contacts", "handoffs", "transfer"}, p.navPages()); diff != "" {
		t.Errorf("a sales rep's pages (-want +got)\n%s", diff)
	}
	if p.has(`[data-handoff="` + theirs + `"]`) {
		t.Errorf("another rep's hand-off is listed: %s", p.text())
	}
	p.waitText(`[data-handoff="`+mine+`"]`, "逾期")

	// The rep's own contact opens; another rep's answers the catalogue's 403.
	p.click(`[data-handoff="` + mine + `"] a`)
	p.waitText("#contact-tags", "webinar")
	p.waitText("#contact-name", "王伟")
	p.navigate("#/contacts/" + theirs)
	p.waitText("#error", fmt.Sprintf("[%d]", KindForbidden.Code))
	p.waitText("#error", "is not yours")

	// Pages for marketers are not offered, even by URL.
	p.navigate("#/templates")
	p.waitJS(`location.hash === "#/handoffs"`)
	p.waitText("h1", "跟进")

	// 已跟进 closes the hand-off.
	p.navigate("#/handoffs")
	p.click(`[data-done="` + mine + `"]`)
	p.waitText("#handoffs", "没有待跟进的线索")
	if err := h.srv.notifier.FollowedUp(t.Context(), mine, h.clock.Now()); !errors.Is(err, outreach.ErrNoOpenHandoff) {
		t.Errorf("the hand-off is still open after 已跟进: %v", err)
	}

	// The English switch.
	p.click("#lang")
	p.waitText("#handoffs", "No leads waiting")
}

const reminderTemplate = `{"name": "研讨会提醒", "purpose": "service", "channels": {
  "wecom": {"text": "{{.name}}，研讨会明天 {{.time}} 开始"},
  "sms": {"template_code": "SMS_700001", "params": {"name": "{{.name}}", "time": "{{.time}}"}},
  "email": {"subject": "研讨会提醒", "text": "{{.name}}，研讨会明天 {{.time}} 开始"}}}`

// TestConsoleMarketerChangesAReminder is the console's purpose in one
// run: a marketer changes a reminder's wording, previews it on each
// channel, publishes, and the next message uses the new version; rolling
// back from the history brings the old wording back.
func TestConsoleMarketerChangesAReminder(t *testing.T) {
	h := newHarness(t)
	boxes := h.withSending()
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/webinar_reminder", reminderTemplate), http.StatusOK)
	send := func(id string) (text string, version float64) {
		t.Helper()
		body := `{"id":"` + id + `","contact":{"email":"wang@example.com"},"template":"webinar_reminder","channel":"email","vars":{"name":"王伟","time":"19:00"},"purpose":"service"}`
		if r := h.api(http.MethodPost, "/api/v1/messages", body); r.Status != http.StatusAccepted {
			t.Fatalf("send: %d %s", r.Status, r.Body)
		}
		m := h.waitSent(id)
		out := boxes[channels.Email].get(id)
		if out == nil {
			t.Fatalf("message %s was not sent: %v", id, m)
		}
		return out.Text, m["template_version"].(float64)
	}

	p := openConsole(t, h)
	p.login(h.issueToken("王芳 (marketing)", "marketer", ""))
	p.click(`[data-template="webinar_reminder"] a`)
	p.setField("#f-vars", "name=王先生\ntime=19:00")
	for _, ch := range []string{"wecom", "email"} {
		p.waitText(`#preview [data-channel="`+ch+`"]`, "王先生，研讨会明天 19:00 开始")
	}
	p.waitText(`#preview [data-channel="sms"]`, "SMS_700001")
	if !p.has(`#preview [data-channel="sms"] [data-segments="1"]`) {
		t.Errorf("the SMS preview shows no segment count: %s", p.text())
	}

	// The live preview follows the unsaved text.
	const newWording = "{{.name}}，提醒：研讨会今晚 {{.time}} 开始，请准时入场"
	p.setField("#f-email-text", newWording)
	p.setField("#f-wecom-text", newWording)
	for _, ch := range []string{"wecom", "email"} {
		p.waitText(`#preview [data-channel="`+ch+`"]`, "王先生，提醒：研讨会今晚 19:00 开始，请准时入场")
	}
	if text, v := send("before"); v != 1 || !strings.Contains(text, "明天") {
		t.Errorf("before publishing, a send used v%v: %q", v, text)
	}

	p.click("#publish")
	p.waitText("#save-status", "已发布 v2")
	p.waitText(`#history [data-version="2"]`, "已发布")
	p.waitText(`#history [data-version="1"]`, "已替换")
	if text, v := send("after"); v != 2 || !strings.Contains(text, "王伟，提醒：研讨会今晚 19:00 开始") {
		t.Errorf("after publishing, a send used v%v: %q", v, text)
	}

	// History: the diff names the changed fields; rollback publishes v1 again.
	p.click(`#history [data-version="2"] button.link`)
	p.waitText("#diff", "channels.email.text")
	p.waitText("#diff", "请准时入场")
	p.click(`#history [data-publish="1"]`)
	p.waitText("#save-status", "已发布 v1")
	p.waitText(`#history [data-version="1"]`, "已发布")
	if text, v := send("rolled-back"); v != 1 || !strings.Contains(text, "明天") {
		t.Errorf("after the rollback, a send used v%v: %q", v, text)
	}
}

// TestConsoleCampaignAndDialogPages walks the other marketer pages: a
// campaign created from an audience with its count previewed, then paused;
// a dialog script's test chat.
func TestConsoleCampaignAndDialogPages(t *testing.T) {
	h, _, _ := dialogHarness(t, expoScript)
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", `{"name":"双11","purpose":"marketing","channels":{"email":{"subject":"Hi","text":"Hi {{.name}}"}}}`), http.StatusOK)
	h.seedContact("+8613800000001", []string{"vip"}, "mql", 60)
	h.seedContact("+8613800000002", []string{"vip"}, "mql", 10)

	p := openConsole(t, h)
	p.login(h.issueToken("王芳 (marketing)", "marketer", "rep.wang"))
	p.click(`#nav [data-page="campaigns"]`)
	p.click("#new-campaign")
	p.setField("#c-id", "double11")
	p.setField("#c-name", "双11 预热")
	p.setField("#c-audience", "tag:vip AND score>=50")
	p.waitText("#audience-count", "预计人数：1")
	p.setField("#c-audience", "tag:vip AND")
	p.waitText("#audience-count", fmt.Sprintf("[%d]", KindAudience.Code))
	p.setField("#c-audience", "tag:vip")
	p.waitText("#audience-count", "预计人数：2")
	p.setField("#c-send-at", "2026-11-23T10:00")
	p.click(`#campaign-form button[type=submit]`)
	p.waitText("#campaign h1", "已排期")
	p.click("#pause")
	p.waitText("#campaign h1", "已暂停")
	p.click(`#nav [data-page="campaigns"]`)
	p.waitText(`[data-campaign="double11"]`, "已暂停")

	p.click(`#nav [data-page="dialogs"]`)
	p.waitText(`[data-script="expo_welcome"]`, "hi → need → product")
	p.click(`[data-script="expo_welcome"] a`)
	p.waitText("#chat", "欢迎来到展会！")
	p.waitText("#chat", "等待于步骤 need")
	p.setField("#chat-input", "了解产品")
	p.click(`#chat-form button[type=submit]`)
	p.waitText("#chat", "tag interest:product")
	p.waitText("#chat", "对话结束")
}
