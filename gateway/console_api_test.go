package gateway

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels/sms"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/contacts/transfer"
	"github.com/journeygate/gateway/reports"
)

func TestConsoleFiles(t *testing.T) {
	h := newHarness(t)
	v := h.srv.consoleFiles.version
	type want struct {
		Status       int
		CType, Cache string
		Location     string
	}
	for _, tt := range []struct {
		path string
		want want
	}{
		{"/console", want{http.StatusMovedPermanently, "text/html; charset=utf-8", "", "/console/"}},
		{"/console/", want{http.StatusOK, "text/html; charset=utf-8", "no-cache", ""}},
		{"/console/index.html", want{http.StatusOK, "text/html; charset=utf-8", "no-cache", ""}},
		{"/console/app.js?v=" + v, want{http.StatusOK, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", ""}},
		{"/console/app.css?v=" + v, want{http.StatusOK, "text/css; charset=utf-8", "public, max-age=31536000, immutable", ""}},
		{"/console/app.js", want{http.StatusOK, "text/javascript; charset=utf-8", "no-cache", ""}},
		{"/console/app.js?v=stale", want{http.StatusOK, "text/javascript; charset=utf-8", "no-cache", ""}},
		{"/console/../go.mod", want{http.StatusNotFound, "application/json; charset=utf-8", "", ""}},
		{"/console/secret.txt", want{http.StatusNotFound, "application/json; charset=utf-8", "", ""}},
	} {
		r := h.do(http.MethodGet, tt.path, nil)
		got := want{r.Status, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"), r.Header.Get("Location")}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GET %s (-want +got)\n%s", tt.path, diff)
		}
		if r.Status == http.StatusOK {
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("GET %s: CSP %q must allow only the console's own scripts", tt.path, csp)
			}
			if r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: no nosniff", tt.path)
			}
		}
	}
	index := h.do(http.MethodGet, "/console/", nil)
	for _, ref := range []string{`href="app.css?v=` + v + `"`} {
		if !strings.Contains(index.Body, ref) {
			t.Errorf("index.html does not name %s", ref)
		}
	}
	// Every page script is named with the hash, in the frame-first order,
	// and served cached for a year with the policy.
	var named []string
	for _, line := range strings.Split(index.Body, "\n") {
		if src, ok := strings.CutPrefix(line, `<script src="`); ok {
			named = append(named, strings.TrimSuffix(src, `" defer></script>`))
		}
	}
	var scripts []string
	for _, js := range consoleScripts {
		scripts = append(scripts, js+"?v="+v)
	}
	if diff := cmp.Diff(scripts, named); diff != "" {
		t.Errorf("scripts index.html loads (-want +got)\n%s", diff)
	}
	for _, js := range scripts {
		r := h.do(http.MethodGet, "/console/"+js, nil)
		if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			r.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET /console/%s: %d %v", js, r.Status, r.Header)
		}
	}
	if strings.Contains(index.Body, "<script>") || strings.Contains(index.Body, " style=") || strings.Contains(index.Body, "http") {
		t.Errorf("index.html has inline script or style, or an outside URL:\n%s", index.Body)
	}
	again := h.do(http.MethodGet, "/console/", nil, "If-None-Match", index.Header.Get("ETag"))
	if again.Status != http.StatusNotModified || again.Body != "" {
		t.Errorf("revalidation: %d %q, want 304 and no body", again.Status, again.Body)
	}
}

func TestConsoleRoutesByRole(t *testing.T) {
	h, _, _ := dialogHarness(t, expoScript)
	h.withOutreach()
	mine := h.ownedContact("+8613800000001", "王伟", "rep.li")
	theirs := h.ownedContact("+8613800000002", "李娜", "rep.zhao")
	h.withHandoffs(map[string]string{mine: "rep.li"}, h.clock.Now().Add(-25*time.Hour))
	h.withHandoffs(map[string]string{theirs: "rep.zhao"}, h.clock.Now())
	tokens := map[string]string{
		"marketer":     h.issueToken("王伟 (marketing)", "marketer", ""),
		"sales":        h.issueToken("李雷 (sales)", "sales", "rep.li"),
		"marketer-rep": h.issueToken("张敏 (marketing)", "marketer", "rep.zhao"),
	}
	call := func(who, method, path, body string) response {
		var rd *strings.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		hdr := []string{"Authorization", "Bearer " + tokens[who], "Content-Type", "application/json"}
		if rd == nil {
			return h.do(method, path, nil, hdr...)
		}
		return h.do(method, path, rd, hdr...)
	}
	handoffIDs := func(r response) []string {
		var ids []string
		for _, x := range r.json(t)["handoffs"].([]any) {
			ids = append(ids, x.(map[string]any)["contact_id"].(string))
		}
		return ids
	}
	for _, tt := range []struct {
		who, method, path, body string
		status                  int
		ids                     []string // for hand-off lists
	}{
		{"marketer", "GET", "/api/v1/campaigns", "", 200, nil},
		{"sales", "GET", "/api/v1/campaigns", "", 403, nil},
		{"marketer", "GET", "/api/v1/campaigns?limit=0", "", 400, nil},
		{"marketer", "GET", "/api/v1/dialogs", "", 200, nil},
		{"sales", "GET", "/api/v1/dialogs", "", 403, nil},
		{"marketer", "POST", "/api/v1/dialogs/expo_welcome/try", `{"messages":["1"]}`, 200, nil},
		{"sales", "POST", "/api/v1/dialogs/expo_welcome/try", `{"messages":["1"]}`, 403, nil},
		{"marketer", "POST", "/api/v1/dialogs/nope/try", `{}`, 404, nil},
		{"marketer", "POST", "/api/v1/dialogs/expo_welcome/try", `{"channel":"fax"}`, 400, nil},
		{"marketer", "POST", "/api/v1/dialogs/expo_welcome/try", `{"messages":"1"}`, 400, nil},
		{"sales", "GET", "/api/v1/handoffs", "", 200, []string{mine}},
		{"sales", "GET", "/api/v1/handoffs?rep=rep.zhao", "", 200, []string{mine}},
		{"sales", "GET", "/api/v1/handoffs?overdue=1", "", 200, []string{mine}},
		{"marketer", "GET", "/api/v1/handoffs", "", 200, []string{mine, theirs}},
		{"marketer", "GET", "/api/v1/handoffs?overdue=1", "", 200, []string{mine}},
		{"marketer", "GET", "/api/v1/handoffs?rep=rep.zhao", "", 200, []string{theirs}},
		{"marketer", "GET", "/api/v1/handoffs?mine=1", "", 400, nil},
		{"marketer-rep", "GET", "/api/v1/handoffs?mine=1", "", 200, []string{theirs}},
		{"sales", "GET", "/api/v1/me", "", 200, nil},
	} {
		r := call(tt.who, tt.method, tt.path, tt.body)
		if r.Status != tt.status {
			t.Errorf("%s %s %s: %d %s, want %d", tt.who, tt.method, tt.path, r.Status, r.Body, tt.status)
			continue
		}
		if tt.ids != nil {
			if diff := cmp.Diff(tt.ids, handoffIDs(r)); diff != "" {
				t.Errorf("%s %s (-want +got)\n%s", tt.who, tt.path, diff)
			}
		}
	}
	if r := call("marketer", "POST", "/api/v1/dialogs/nope/try", `{}`); r.code(t) != KindUnknownScript.Code {
		t.Errorf("unknown script: %s", r.Body)
	}
	got := call("sales", "GET", "/api/v1/me", "").json(t)
	if diff := cmp.Diff(map[string]any{"name": "李雷 (sales)", "role": "sales", "userid": "rep.li"}, got); diff != "" {
		t.Errorf("me (-want +got)\n%s", diff)
	}
	// The dry run answers the script and touches no contact or queue.
	before := h.redisSnapshot()
	r := call("marketer", "POST", "/api/v1/dialogs/expo_welcome/try", `{"messages":["了解产品"]}`)
	var turns []map[string]any
	for _, x := range r.json(t)["turns"].([]any) {
		turns = append(turns, x.(map[string]any))
	}
	if len(turns) != 2 || turns[1]["actions"].([]any)[0] != "tag interest:product" || turns[1]["ended"] != true {
		t.Errorf("try transcript: %s", r.Body)
	}
	after := h.redisSnapshot()
	for k := range after {
		if _, ok := before[k]; !ok && !strings.HasPrefix(k, "dlg:src:") {
			t.Errorf("the dry run left key %s", k)
		}
	}
}

func TestDialogListShowsProblemsOfTheFolder(t *testing.T) {
	h, _, _ := dialogHarness(t, expoScript)
	dir := t.TempDir()
	h.srv.cfg.Dialogs.Dir = dir
	if err := os.WriteFile(filepath.Join(dir, "script.yaml"), []byte(expoScript), 0o600); err != nil {
		t.Fatal(err)
	}
	scripts := []any{map[string]any{"id": "expo_welcome", "version": float64(1), "priority": float64(50), "file": "script.yaml", "steps": []any{"hi", "need", "product"}}}
	got := h.mustStatus(h.api(http.MethodGet, "/api/v1/dialogs", ""), http.StatusOK)
	if diff := cmp.Diff(map[string]any{"scripts": scripts, "problems": []any{}}, got); diff != "" {
		t.Errorf("clean folder (-want +got)\n%s", diff)
	}
	// An edited file's mistake shows before anyone reloads; the running
	// scripts stay listed.
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("id: broken\nversion: 1\nsteps:\n  - id: a\n    send: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got = h.mustStatus(h.api(http.MethodGet, "/api/v1/dialogs", ""), http.StatusOK)
	if diff := cmp.Diff(scripts, got["scripts"]); diff != "" {
		t.Errorf("running scripts (-want +got)\n%s", diff)
	}
	problems, _ := got["problems"].([]any)
	if len(problems) == 0 {
		t.Fatalf("no problems reported for broken.yaml: %v", got)
	}
	for _, p := range problems {
		if f, _ := p.(map[string]any)["file"].(string); !strings.HasSuffix(f, "broken.yaml") {
			t.Errorf("problem not placed in broken.yaml: %v", p)
		}
	}
}

// TestConsolePageRoutesByRole pins the role boundaries of every route the
// reports, import and export, audit and contact pages call, as the nav
// offers them: sales get the export (their own contacts) and their own
// hand-off row; audit, contact export and erasure are for admins.
func TestConsolePageRoutesByRole(t *testing.T) {
	h := newHarnessDeps(t, func(d *Deps) {
		d.Scoring = contacts.DefaultScoring()
		r, err := reports.New(d.Redis, reports.Options{Now: d.Now})
		if err != nil {
			t.Fatal(err)
		}
		im, err := transfer.NewImports(d.Redis, d.Contacts, transfer.ImportOptions{NormalizePhone: sms.NormalizePhone, Now: d.Now, UploadLimit: d.Config.Transfer.UploadLimit})
		if err != nil {
			t.Fatal(err)
		}
		ex, err := transfer.NewExports(d.Redis, d.Contacts, transfer.ExportOptions{Resolve: AudienceResolver(d.Contacts), Now: d.Now})
		if err != nil {
			t.Fatal(err)
		}
		d.Reports, d.Imports, d.Exports = r, im, ex
	})
	mine := h.ownedContact("+8613800000001", "王伟", "rep.li", "vip")
	theirs := h.ownedContact("+8613800000002", "李娜", "rep.zhao", "vip")
	tokens := map[string]string{
		"admin":    adminToken,
		"marketer": h.issueToken("王芳 (marketing)", "marketer", ""),
		"sales":    h.issueToken("李雷 (sales)", "sales", "rep.li"),
	}
	csvBody, csvType := multipartFile(t, "list.csv", []byte("手机号\n13900139000\n"))
	for _, tt := range []struct {
		who, method, path string
		status            int
	}{
		{"marketer", "GET", "/api/v1/reports/funnel?interval=day", 200},
		{"marketer", "GET", "/api/v1/reports/campaigns?interval=day&format=csv", 200},
		{"sales", "GET", "/api/v1/reports/funnel", 403},
		{"sales", "GET", "/api/v1/reports/campaigns", 403},
		{"sales", "GET", "/api/v1/reports/channels", 403},
		{"sales", "GET", "/api/v1/reports/handoffs?interval=day", 200},
		{"admin", "GET", "/api/v1/audit?limit=50", 200},
		{"marketer", "GET", "/api/v1/audit", 403},
		{"sales", "GET", "/api/v1/audit", 403},
		{"marketer", "POST", "/api/v1/imports?dry_run=1", 202},
		{"sales", "POST", "/api/v1/imports?dry_run=1", 403},
		{"sales", "POST", "/api/v1/exports", 202},
		{"sales", "GET", "/api/v1/contacts/" + mine + "/score", 200},
		{"sales", "GET", "/api/v1/contacts/" + theirs + "/score", 403},
		{"marketer", "GET", "/api/v1/contacts/" + theirs + "/score", 200},
		{"marketer", "GET", "/api/v1/contacts/" + mine + "/export", 403},
		{"sales", "GET", "/api/v1/contacts/" + mine + "/export", 403},
		{"admin", "GET", "/api/v1/contacts/" + mine + "/export", 200},
		{"marketer", "DELETE", "/api/v1/contacts/" + mine, 403},
		{"sales", "DELETE", "/api/v1/contacts/" + mine, 403},
	} {
		var r response
		switch {
		case strings.HasPrefix(tt.path, "/api/v1/imports"):
			r = h.asWith(tokens[tt.who], tt.method, tt.path, csvType, csvBody)
		case strings.HasPrefix(tt.path, "/api/v1/exports"):
			r = h.as(tokens[tt.who], tt.method, tt.path, `{"audience":"tag:vip"}`)
		default:
			r = h.as(tokens[tt.who], tt.method, tt.path, "")
		}
		if r.Status != tt.status {
			t.Errorf("%s %s %s: %d %s, want %d", tt.who, tt.method, tt.path, r.Status, r.Body, tt.status)
		}
	}
}
