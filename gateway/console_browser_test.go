package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
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

