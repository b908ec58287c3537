package gateway

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/xuri/excelize/v2"

	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/outreach"
)

// TestExportXLSXThroughTheWorkers runs an export the way gatewayd does,
// on a real asynq server over the same Redis, and reads the workbook back.
func TestExportXLSXThroughTheWorkers(t *testing.T) {
	h := newTransferHarness(t)
	for _, c := range []struct{ phone, name string }{{"+8613800000011", "王芳"}, {"+8613800000012", "=HYPERLINK(\"x\")"}} {
		if _, err := h.store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: c.phone}},
			Name: c.name, AddTags: []string{"expo"}}); err != nil {
			t.Fatal(err)
		}
	}
	srv := asynq.NewServerFromRedisClient(h.rdb, asynq.Config{Concurrency: 1, Queues: outreach.Queues, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	h.srv.exports.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)

	id := h.mustStatus(h.api(http.MethodPost, "/api/v1/exports", `{"audience":"tag:expo","format":"xlsx","fields":["name","phone"]}`), http.StatusAccepted)["id"].(string)
	deadline := time.Now().Add(20 * time.Second)
	for h.mustStatus(h.api(http.MethodGet, "/api/v1/exports/"+id, ""), http.StatusOK)["status"] != "done" {
		if time.Now().After(deadline) {
			t.Fatal("the export job did not finish on the workers")
		}
		time.Sleep(20 * time.Millisecond)
	}
	file := h.api(http.MethodGet, "/api/v1/exports/"+id+"/file", "")
	if file.Status != http.StatusOK {
		t.Fatalf("file: %d %s", file.Status, file.Body)
	}
	wb, err := excelize.OpenReader(bytes.NewReader([]byte(file.Body)))
	if err != nil {
		t.Fatalf("the export is not a workbook: %v", err)
	}
	rows, err := wb.GetRows(wb.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 3 && rows[1][1] > rows[2][1] {
		rows[1], rows[2] = rows[2], rows[1]
	}
	want := [][]string{{"name", "phone"}, {"王芳", "+8613800000011"}, {"=HYPERLINK(\"x\")", "+8613800000012"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("workbook rows (-want +got):\n%s", diff)
	}
	formula, err := wb.GetCellFormula(wb.GetSheetName(0), "A3")
	if err != nil || formula != "" {
		t.Errorf("a name that looks like a formula became one: %q %v", formula, err)
	}
}
