package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/journeygate/gateway/outreach"
)

type noMarker struct{}

func (noMarker) MarkTag(context.Context, string, string, []string, []string) error { return nil }

func TestTagChangesAreQueuedForWeCom(t *testing.T) {
	var mirror *outreach.TagMirror
	h := newHarnessDeps(t, func(d *Deps) {
		mirror = outreach.NewTagMirror(d.Redis, noMarker{}, map[string]string{"vip": "etVIP"}, nil)
		d.TagMirror = mirror
	})
	t.Cleanup(func() { _ = mirror.Close() })
	h.wecomPost(strings.Replace(addContactXML, "%d", fmtUnix(h.clock.Now()), 1))
	c := h.contact("wecom", "wmEXT001")
	h.api(http.MethodPost, "/api/v1/contacts/"+c["id"].(string)+"/tags", `{"add":["vip","other"]}`)
	h.api(http.MethodPost, "/api/v1/contacts/"+c["id"].(string)+"/tags", `{"add":["vip"]}`) // no change: nothing queued

	tasks, err := asynq.NewInspectorFromRedisClient(h.rdb).ListPendingTasks(outreach.QueueLow)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, task := range tasks {
		var p map[string]any
		_ = json.Unmarshal(task.Payload, &p)
		got = append(got, p)
	}
	want := []map[string]any{{"user_id": "rep.li", "external_userid": "wmEXT001", "add": []any{"etVIP"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queued WeCom tag changes (-want +got):\n%s", diff)
	}
}
