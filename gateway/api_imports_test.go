package gateway

import (
	"bytes"
	"encoding/csv"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels/sms"
	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/contacts/transfer"
)

// withTransfer gives the harness import and export jobs; tests run a job
// with runImport/runExport where a worker would.
func newTransferHarness(t *testing.T, edit ...func(*configs.Config)) *harness {
	t.Helper()
	return newHarnessDeps(t, func(d *Deps) {
		im, err := transfer.NewImports(d.Redis, d.Contacts, transfer.ImportOptions{NormalizePhone: sms.NormalizePhone, Now: d.Now,
			UploadLimit: d.Config.Transfer.UploadLimit})
		if err != nil {
			t.Fatal(err)
		}
		ex, err := transfer.NewExports(d.Redis, d.Contacts, transfer.ExportOptions{Resolve: AudienceResolver(d.Contacts), Now: d.Now})
		if err != nil {
			t.Fatal(err)
		}
		d.Imports, d.Exports = im, ex
	}, edit...)
}

func (h *harness) asWith(token, method, path, contentType string, body []byte) response {
	h.t.Helper()
	return h.do(method, path, bytes.NewReader(body), "Authorization", "Bearer "+token, "Content-Type", contentType)
}

func multipartFile(t *testing.T, name string, data []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("note", "ignored")
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func TestImportAPI(t *testing.T) {
	h := newTransferHarness(t)
	marketer := h.issueToken("marketer mk.zhao", "marketer", "mk.zhao")
	body, ctype := multipartFile(t, "展会名单.csv", []byte("手机号,姓名,标签\n13800138000,王伟,vip\n12345,坏号码,\n"))
	r := h.asWith(marketer, http.MethodPost, "/api/v1/imports", ctype, body)
	job := h.mustStatus(r, http.StatusAccepted)
	id := job["id"].(string)
	if job["status"] != transfer.StatusQueued || job["file_name"] != "展会名单.csv" {
		t.Errorf("accepted job %v", job)
	}
	if err := h.srv.imports.Run(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	got := h.mustStatus(h.asWith(marketer, http.MethodGet, "/api/v1/imports/"+id, "", nil), http.StatusOK)
	for _, k := range []string{"id", "created_at", "finished_at", "changes", "size", "by", "format", "encoding", "file_name", "dry_run"} {
		delete(got, k)
	}
	want := map[string]any{"status": "done", "rows_total": float64(2), "rows_done": float64(2), "created": float64(1), "updated": float64(0),
		"unchanged": float64(0), "rejected": float64(1),
		"errors": []any{map[string]any{"line": float64(3), "column": "手机号", "reason": got["errors"].([]any)[0].(map[string]any)["reason"]}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	rej := h.asWith(marketer, http.MethodGet, "/api/v1/imports/"+id+"/rejects.csv", "", nil)
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(rej.Body, "\uFEFF"))).ReadAll()
	if rej.Status != http.StatusOK || err != nil || len(recs) != 2 || recs[1][0] != "3" || recs[1][1] != "手机号" {
		t.Errorf("rejects.csv: %d %q (%v)", rej.Status, rej.Body, err)
	}
	if c := h.contact("sms", "+8613800138000"); c["name"] != "王伟" || !cmp.Equal(c["tags"], []any{"vip"}) {
		t.Errorf("imported contact %v", c)
	}
	audit := h.mustStatus(h.api(http.MethodGet, "/api/v1/audit?action=contacts.import", ""), http.StatusOK)["entries"].([]any)
	if len(audit) != 1 || audit[0].(map[string]any)["target"] != id || audit[0].(map[string]any)["who"] != "marketer mk.zhao" {
		t.Errorf("audit %v", audit)
	}

	// A raw body with a dry run and an explicit mapping.
	raw := h.asWith(marketer, http.MethodPost, "/api/v1/imports?dry_run=1&mapping="+`{"Mobile":"phone","Notes":"ignore"}`, "text/csv", []byte("Mobile,Notes\n13900139000,x\n"))
	dry := h.mustStatus(raw, http.StatusAccepted)
	if dry["dry_run"] != true {
		t.Errorf("dry run job %v", dry)
	}
}

func TestImportAPIRefusals(t *testing.T) {
	h := newTransferHarness(t, func(c *configs.Config) { c.Transfer.UploadLimit = 4096 })
	sales := h.issueToken("sales rep.li", "sales", "rep.li")
	for _, tt := range []struct {
		name, token, path string
		body              []byte
		status, code      int
	}{
		{"sales may not import", sales, "/api/v1/imports", []byte("手机号\n13800138000\n"), 403, KindForbidden.Code},
		{"unknown column", adminToken, "/api/v1/imports", []byte("手机号,生日\n13800138000,1990\n"), 422, KindImportBadFile.Code},
		{"over the upload limit", adminToken, "/api/v1/imports", bytes.Repeat([]byte("13800138000\n"), 400), 413, KindImportTooLarge.Code},
		{"bad mapping", adminToken, `/api/v1/imports?mapping={"手机号":"mobile"}`, []byte("手机号\n"), 400, KindInvalidField.Code},
		{"bad encoding option", adminToken, "/api/v1/imports?encoding=latin1", []byte("手机号\n"), 400, KindInvalidField.Code},
		{"unknown job", adminToken, "/api/v1/imports/0123456789abcdef", nil, 404, KindImportUnknown.Code},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodPost
			if tt.body == nil {
				method = http.MethodGet
			}
			r := h.asWith(tt.token, method, tt.path, "text/csv", tt.body)
			if r.Status != tt.status || r.code(t) != tt.code {
				t.Errorf("got %d %s, want %d code %d", r.Status, r.Body, tt.status, tt.code)
			}
		})
	}
	if keys := h.rdb.Keys(t.Context(), "{imp:*").Val(); len(keys) != 0 {
		t.Errorf("refused uploads left %v", keys)
	}
}

func TestExportAPISalesSeeOwnContacts(t *testing.T) {
	h := newTransferHarness(t)
	for _, c := range []struct{ phone, owner, name string }{
		{"+8613800000001", "rep.li", "甲"}, {"+8613800000002", "rep.wang", "乙"}, {"+8613800000003", "rep.li", "丙"},
	} {
		if _, err := h.store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: c.phone}},
			Owner: c.owner, Name: c.name, AddTags: []string{"vip"}}); err != nil {
			t.Fatal(err)
		}
	}
	sales := h.issueToken("sales rep.li", "sales", "rep.li")
	job := h.mustStatus(h.asWith(sales, http.MethodPost, "/api/v1/exports", "application/json", []byte(`{"audience":"tag:vip","fields":["name","phone","owner"]}`)), http.StatusAccepted)
	id := job["id"].(string)
	if r := h.asWith(sales, http.MethodGet, "/api/v1/exports/"+id+"/file", "", nil); r.Status != 409 || r.code(t) != KindExportNotReady.Code {
		t.Errorf("file before the job ran: %d %s", r.Status, r.Body)
	}
	if err := h.srv.exports.Run(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	file := h.asWith(sales, http.MethodGet, "/api/v1/exports/"+id+"/file", "", nil)
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(file.Body, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"name", "phone", "owner"}, {"甲", "+8613800000001", "rep.li"}, {"丙", "+8613800000003", "rep.li"}}
	// The audience comes sorted by contact id; compare as sets of rows.
	if len(recs) == 3 && recs[1][0] == "丙" {
		recs[1], recs[2] = recs[2], recs[1]
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("sales export (-want +got):\n%s", diff)
	}
	progress := h.mustStatus(h.asWith(sales, http.MethodGet, "/api/v1/exports/"+id, "", nil), http.StatusOK)
	if progress["status"] != "done" || progress["rows_total"] != float64(3) || progress["exported"] != float64(2) {
		t.Errorf("progress %v", progress)
	}
	other := h.issueToken("sales rep.wang", "sales", "rep.wang")
	if r := h.asWith(other, http.MethodGet, "/api/v1/exports/"+id+"/file", "", nil); r.Status != 404 {
		t.Errorf("another rep read the export: %d", r.Status)
	}
	audit := h.mustStatus(h.api(http.MethodGet, "/api/v1/audit?action=contacts.export", ""), http.StatusOK)["entries"].([]any)
	if len(audit) != 1 || audit[0].(map[string]any)["detail"] != "tag:vip" {
		t.Errorf("audit %v", audit)
	}
	if r := h.api(http.MethodPost, "/api/v1/exports", `{"audience":"NOT tag:vip"}`); r.Status != 422 || r.code(t) != KindAudience.Code {
		t.Errorf("unbounded audience: %d %s", r.Status, r.Body)
	}
	if r := h.api(http.MethodPost, "/api/v1/exports", `{"audience":"tag:vip","fields":["password"]}`); r.Status != 400 {
		t.Errorf("unknown field: %d %s", r.Status, r.Body)
	}
}
