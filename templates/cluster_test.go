package templates

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/internal/redistest"
)

// TestStoreOnCluster runs saves, reads and the list on a Redis Cluster,
// where templates land in different slots and each script must stay in
// one.
func TestStoreOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	ctx := context.Background()
	s, err := NewStore(redistest.Cluster(t), Options{Now: steppingClock(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 6 {
		tmpl := sample()
		tmpl.ID = fmt.Sprintf("tpl-%d", i)
		ids = append(ids, tmpl.ID)
		for v := 1; v <= 2; v++ {
			tmpl.Channels.WeCom = &WeComBody{Text: fmt.Sprintf("v%d", v)}
			if _, err := s.Save(ctx, tmpl, "ann"); err != nil {
				t.Fatal(err)
			}
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sum := range list {
		got = append(got, fmt.Sprintf("%s@%d", sum.ID, sum.Version))
	}
	var want []string
	for _, id := range ids {
		want = append(want, id+"@2")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got)\n%s", diff)
	}
	first, err := s.GetVersion(ctx, "tpl-3", 1)
	if err != nil {
		t.Fatal(err)
	}
	if first.Channels.WeCom.Text != "v1" {
		t.Errorf("tpl-3 version 1 has text %q, want v1", first.Channels.WeCom.Text)
	}
	// Drafts and a rollback work in each template's slot.
	tmpl := sample()
	tmpl.ID, tmpl.Channels.WeCom = "tpl-4", &WeComBody{Text: "v3 draft"}
	if _, err := s.SaveDraft(ctx, tmpl, "ann"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Publish(ctx, "tpl-4", 1, "bob"); err != nil {
		t.Fatal(err)
	}
	live, err := s.Get(ctx, "tpl-4")
	if err != nil || live.Version != 1 || live.Status != StatusPublished {
		t.Errorf("tpl-4 after rollback: version %d %s, %v; want 1 published", live.Version, live.Status, err)
	}
	if latest, err := s.Latest(ctx, "tpl-4"); err != nil || latest.Status != StatusDraft {
		t.Errorf("tpl-4 newest: %s, %v; want draft", latest.Status, err)
	}
}
