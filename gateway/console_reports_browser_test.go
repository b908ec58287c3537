package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
)

// The browser tests of the reports, import and export, audit, test-send
// and score pages; they share the browser and helpers of
// console_browser_test.go.

// attr reads an attribute of the first element sel matches ("" if none).
func (p *page) attr(sel, name string) string {
	p.t.Helper()
	var v string
	p.run(chromedp.Evaluate(fmt.Sprintf(`(() => { const el = document.querySelector(%s); return el ? (el.getAttribute(%s) || '') : ''; })()`,
		jsString(sel), jsString(name)), &v))
	return v
}

// count is how many elements sel matches.
func (p *page) count(sel string) int {
	p.t.Helper()
	var n int
	p.run(chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(sel)), &n))
	return n
}

// TestConsoleImportShowsProgressAndRejects uploads a small CSV with one bad
// row: the job's bar reaches 100 % once it ran, with the rejected count and
// the rejects report. A sales rep's page offers the export only, and its
// export of tag:vip finishes with the rep's own contacts.
func TestConsoleImportShowsProgressAndRejects(t *testing.T) {
	h := newTransferHarness(t)
	file := filepath.Join(t.TempDir(), "展会名单.csv")
	if err := os.WriteFile(file, []byte("手机号,姓名,标签\n13800138000,王伟,vip\n12345,坏号码,\n13900139000,李娜,vip\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := openConsole(t, h)
	p.login(h.issueToken("王芳 (marketing)", "marketer", ""))
	p.click(`#nav [data-page="transfer"]`)
	p.run(chromedp.WaitReady("#import-file", chromedp.ByQuery), chromedp.SetUploadFiles("#import-file", []string{file}, chromedp.ByQuery))
	p.click(`#import-form button[type=submit]`)
	p.waitJS(`!!document.querySelector('#import-job[data-job]')`)
	id := p.attr("#import-job", "data-job")
	p.waitText("#import-job", "展会名单.csv")
	if got := p.attr("#import-percent", "data-percent"); got != "0" {
		t.Errorf("before the job ran the bar shows %s %%", got)
	}
	if err := h.srv.imports.Run(t.Context(), id); err != nil { // what a worker does
		t.Fatal(err)
	}
	p.waitJS(`document.querySelector('#import-job').dataset.status === 'done'`)
	if got := p.attr("#import-percent", "data-percent"); got != "100" {
		t.Errorf("after the job the bar shows %s %%; page: %s", got, p.text())
	}
	p.waitText("#import-percent", "3 / 3 (100 %)")
	counts := map[string]string{}
	for _, k := range []string{"created", "updated", "unchanged", "rejected"} {
		var v string
		p.run(chromedp.Text(`[data-count="`+k+`"] td:last-child`, &v, chromedp.ByQuery))
		counts[k] = v
	}
	if diff := cmp.Diff(map[string]string{"created": "2", "updated": "0", "unchanged": "0", "rejected": "1"}, counts); diff != "" {
		t.Errorf("import counts (-want +got)\n%s", diff)
	}
	p.waitText("#import-job table:not(.stats)", "手机号")
	if !p.has("#import-rejects") {
		t.Errorf("no rejects download: %s", p.text())
	}
	p.click("#import-rejects")

	// A sales rep: export only, of their own contacts.
	if _, err := h.store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: "+8613700000001"}},
		Owner: "rep.li", Name: "丙", AddTags: []string{"vip"}}); err != nil {
		t.Fatal(err)
	}
	s := openConsole(t, h)
	s.login(h.issueToken("李雷 (sales)", "sales", "rep.li"))
	s.click(`#nav [data-page="transfer"]`)
	s.waitText("h1", "导出")
	if s.has("#import-form") {
		t.Errorf("a sales rep is offered the import: %s", s.text())
	}
	s.setField("#export-audience", "tag:vip")
	s.click(`#export-form button[type=submit]`)
	s.waitJS(`!!document.querySelector('#export-job[data-job]')`)
	if err := h.srv.exports.Run(t.Context(), s.attr("#export-job", "data-job")); err != nil {
		t.Fatal(err)
	}
	s.waitJS(`document.querySelector('#export-job').dataset.status === 'done'`)
	s.waitText("#export-count", "1")
	s.waitText("#export-percent", "100 %")
	s.click("#export-download")
}

// TestConsoleReportsShowTheFunnelAndADailyChart plays a scripted week:
// two leads arrive on one day, one of them attends three webinars the
// next day (mql). The funnel shows 2 → 1 with 50 %, and each chart has a
// point per day of the chosen period.
func TestConsoleReportsShowTheFunnelAndADailyChart(t *testing.T) {
	h := newReportsHarness(t)
	for _, phone := range []string{"13800138000", "13900139000"} {
		h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"`+phone+`"},"type":"whitepaper_download","id":"wp-`+phone+`"}`), http.StatusAccepted)
	}
	h.clock.Advance(24 * time.Hour)
	for _, id := range []string{"wb-1", "wb-2", "wb-3"} {
		h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"webinar_attended","id":"`+id+`"}`), http.StatusAccepted)
	}

	p := openConsole(t, h)
	p.login(h.issueToken("王芳 (marketing)", "marketer", ""))
	p.click(`#nav [data-page="reports"]`)
	p.waitText("#r-period", "2026-10-25 – 2026-11-23") // the default: the last 30 days
	if n := p.count(`#funnel-chart g.series:first-of-type circle`); n != 30 {
		t.Errorf("the default period's chart has %d points, want 30", n)
	}
	p.setField("#r-from", "2026-11-21")
	p.setField("#r-to", "2026-11-23")
	p.click(`#report-form button[type=submit]`)
	p.waitText("#r-period", "2026-11-21 – 2026-11-23")

	row := func(stage string) []string {
		var cells []string
		p.run(chromedp.Evaluate(fmt.Sprintf(`[...document.querySelectorAll('#funnel tr[data-stage="%s"] td')].map(td => td.textContent)`, stage), &cells))
		return cells
	}
	// One stay in prospect ended (24 h): its median is the middle of its
	// histogram bucket, within 9 %.
	if diff := cmp.Diff([]string{"潜在客户", "2", "50.0 %", "1", "23.6 小时"}, row("prospect")); diff != "" {
		t.Errorf("prospect row (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]string{"MQL", "1", "0.0 %", "0", "–"}, row("mql")); diff != "" {
		t.Errorf("mql row (-want +got)\n%s", diff)
	}
	for _, chart := range []string{"funnel-chart", "campaign-chart", "channel-chart", "handoff-chart"} {
		var dates []string
		p.run(chromedp.Evaluate(`[...document.querySelectorAll('#`+chart+` g.series:first-of-type circle')].map(c => c.dataset.date)`, &dates))
		if chart == "channel-chart" && len(dates) == 0 {
			continue // no channel sent anything: no series
		}
		if diff := cmp.Diff([]string{"2026-11-21", "2026-11-22", "2026-11-23"}, dates); diff != "" {
			t.Errorf("%s points (-want +got)\n%s", chart, diff)
		}
	}
	points := map[string]string{}
	for _, d := range []string{"2026-11-21", "2026-11-22", "2026-11-23"} {
		points["prospect "+d] = p.attr(`#funnel-chart [data-series="潜在客户"] circle[data-date="`+d+`"]`, "data-value")
		points["mql "+d] = p.attr(`#funnel-chart [data-series="MQL"] circle[data-date="`+d+`"]`, "data-value")
	}
	want := map[string]string{"prospect 2026-11-21": "0", "prospect 2026-11-22": "2", "prospect 2026-11-23": "0",
		"mql 2026-11-21": "0", "mql 2026-11-22": "0", "mql 2026-11-23": "1"}
	if diff := cmp.Diff(want, points); diff != "" {
		t.Errorf("funnel chart values (-want +got)\n%s", diff)
	}
	if got := p.attr("#funnel-bars [data-stage=prospect] rect", "width"); got != "500.0" {
		t.Errorf("the prospect bar is %s wide, want the full 500", got)
	}
	p.waitText(`#funnel-bars [data-stage="mql"] .value`, "1")

	// The source filter narrows the funnel to one source.
	p.setField("#r-source", "direct")
	p.run(chromedp.Evaluate(`document.querySelector('#r-source').dispatchEvent(new Event('change'))`, nil))
	p.waitText("#funnel h2", "direct")
	p.click(`#funnel [data-csv="funnel"]`)

	p.click("#lang")
	p.waitText("#funnel h2", "Funnel")
	p.waitText("#campaign-report h2", "Campaign effectiveness")
}

// TestConsoleAuditListsATemplateSave: an admin finds the marketer's
// template save by name, filters by action and target, and pages back.
func TestConsoleAuditListsATemplateSave(t *testing.T) {
	h := newHarness(t)
	marketer := h.issueToken("王芳 (marketing)", "marketer", "")
	h.mustStatus(h.as(marketer, http.MethodPut, "/api/v1/templates/welcome", `{"name":"欢迎","purpose":"service","channels":{"wecom":{"text":"你好"}}}`), http.StatusOK)
	for i := range 60 {
		e := AuditEntry{At: h.clock.Now(), Who: "batch", Role: "admin", Action: "contact.tags", Target: "c" + strconv.Itoa(i)}
		if err := h.srv.recordAudit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}

	p := openConsole(t, h)
	p.login(adminToken)
	p.click(`#nav [data-page="audit"]`)
	p.waitJS(`document.querySelectorAll('#audit tbody tr').length === 50`)
	if first := p.attr("#audit tbody tr", "data-action"); first != "contact.tags" {
		t.Errorf("the newest entry first: got %q", first)
	}
	p.click("#a-more")
	p.waitJS(`document.querySelectorAll('#audit tbody tr').length === 62`) // 60, the save, the token issue
	p.waitText(`#audit tr[data-action="template.save"]`, "王芳 (marketing)")

	p.setField("#a-action", "template.save")
	p.click(`#audit-form button[type=submit]`)
	p.waitJS(`document.querySelectorAll('#audit tbody tr').length === 1`)
	p.waitText(`#audit tr[data-action="template.save"]`, "welcome")
	p.setField("#a-target", "nothing-here")
	p.click(`#audit-form button[type=submit]`)
	p.waitText("#audit tbody", "无")
	if p.has("#a-more:not([hidden])") {
		t.Errorf("an empty page offers older entries")
	}

	// Not for marketers, even by URL.
	m := openConsole(t, h)
	m.login(marketer)
	m.waitJS(`document.querySelectorAll('#nav a').length > 0`)
	if diff := cmp.Diff([]string{"templates", "campaigns", "dialogs", "contacts", "handoffs", "reports", "transfer"}, m.navPages()); diff != "" {
		t.Errorf("a marketer's pages (-want +got)\n%s", diff)
	}
	m.navigate("#/audit")
	m.waitJS(`location.hash === "#/templates"`)
}

// TestConsoleTestSendAndLocaleTabs: a marketer writes the English body in
// its tab (the Chinese one is kept), previews it, saves a draft, and test
// sends the draft by email, seeing the message id and then its status.
func TestConsoleTestSendAndLocaleTabs(t *testing.T) {
	h := newHarness(t)
	boxes := h.withSending()
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/webinar_reminder", reminderTemplate), http.StatusOK)

	p := openConsole(t, h)
	p.login(h.issueToken("王芳 (marketing)", "marketer", ""))
	p.navigate("#/templates/webinar_reminder")
	p.setField("#f-vars", "name=王先生\ntime=19:00")
	p.waitText(`#preview [data-channel="wecom"]`, "王先生，研讨会明天 19:00 开始")

	p.click(`#locale-tabs [data-locale="en"]`)
	p.waitJS(`document.querySelector('#f-wecom-text').value === ''`)
	p.setField("#f-wecom-text", "{{.name}}, the webinar starts tomorrow at {{.time}}")
	p.waitText(`#preview [data-channel="wecom"]`, "王先生, the webinar starts tomorrow at 19:00")
	p.waitText(`#preview [data-channel="email"]`, "研讨会明天") // no English email: the main body
	p.click(`#locale-tabs [data-locale="zh-CN"]`)
	p.waitJS(`document.querySelector('#f-wecom-text').value === '{{.name}}，研讨会明天 {{.time}} 开始'`)
	p.waitText(`#preview [data-channel="wecom"]`, "王先生，研讨会明天 19:00 开始")

	p.click("#add-variant")
	p.waitJS(`!!document.querySelector('#variant-tabs .tab.on[data-variant="b"]')`)
	p.setField("#f-email-subject", "最后一天报名")
	p.setField("#f-email-text", "{{.name}}，B 版：今晚 {{.time}}")
	p.waitText(`#preview [data-channel="email"]`, "B 版：今晚 19:00")
	p.click("#save-draft")
	p.waitText("#save-status", "已保存草稿 v2")
	saved := h.mustStatus(h.api(http.MethodGet, "/api/v1/templates/webinar_reminder", ""), http.StatusOK)
	got := []any{saved["locales"].(map[string]any)["en"].(map[string]any)["channels"].(map[string]any)["wecom"].(map[string]any)["text"],
		saved["variants"].(map[string]any)["b"].(map[string]any)["channels"].(map[string]any)["email"].(map[string]any)["subject"],
		saved["channels"].(map[string]any)["wecom"].(map[string]any)["text"]}
	if diff := cmp.Diff([]any{"{{.name}}, the webinar starts tomorrow at {{.time}}", "最后一天报名", "{{.name}}，研讨会明天 {{.time}} 开始"}, got); diff != "" {
		t.Errorf("saved bodies (-want +got)\n%s", diff)
	}

	// The test send goes out from the B arm's tab, the draft included.
	p.setField("#test-channel", "email")
	p.setField("#test-to", "wang@example.com")
	p.click("#test-send")
	p.waitText("#test-message", "tpltest-")
	p.waitJS(`!!document.querySelector('#test-status[data-status="sent"]')`)
	var id string
	p.run(chromedp.Text("#test-message", &id, chromedp.ByQuery))
	out := boxes[channels.Email].get(id)
	if out == nil || !strings.Contains(out.Text, "B 版：今晚 19:00") {
		t.Errorf("the test send %s went out as %+v", id, out)
	}
	p.waitText("#test-result", "v2")
}

// TestConsoleContactShowsWhyTheScore: the contact page lists the score
// changes with points and event ids; an admin exports the record and
// erases the contact after typing its id.
func TestConsoleContactShowsWhyTheScore(t *testing.T) {
	h := newReportsHarness(t)
	id := h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"whitepaper_download","id":"wp-1"}`), http.StatusAccepted)["contact_id"].(string)
	h.clock.Advance(time.Hour)
	for _, ev := range []string{"wb-1", "wb-2", "wb-3"} {
		h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"webinar_attended","id":"`+ev+`"}`), http.StatusAccepted)
	}

	p := openConsole(t, h)
	p.login(h.issueToken("王芳 (marketing)", "marketer", ""))
	p.navigate("#/contacts/" + id)
	p.waitText("#score-why h2", "温")
	var rows [][]string
	p.run(chromedp.Evaluate(`[...document.querySelectorAll('#score-why tbody tr')].map(tr => [tr.dataset.scoreEntry, tr.children[1].textContent, tr.children[3].textContent])`, &rows))
	want := [][]string{{"api:wb-3", "+20", "70"}, {"api:wb-2", "+20", "50"}, {"api:wb-1", "+20", "30"}, {"api:wp-1", "+10", "10"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("score explanation: event, points, score after (-want +got)\n%s", diff)
	}
	if p.has("#privacy") {
		t.Errorf("a marketer is offered export and erasure")
	}

	a := openConsole(t, h)
	a.login(adminToken)
	a.navigate("#/contacts/" + id)
	a.waitText("#score-why", "wp-1")
	a.click("#export-contact")
	a.waitText("#privacy-result", "已下载")
	a.setField("#erase-confirm", "not-the-id")
	if !a.has("#erase:disabled") {
		t.Errorf("erase is enabled before the id is typed")
	}
	a.setField("#erase-confirm", id)
	a.click("#erase")
	a.waitText("#privacy-result", "已删除")
	if _, err := h.store.Get(context.Background(), id); !errors.Is(err, contacts.ErrNotFound) {
		t.Errorf("the contact is still there after erasure: %v", err)
	}
}
