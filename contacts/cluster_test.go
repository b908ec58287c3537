package contacts

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

func TestConcurrencyOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := redistest.Cluster(t)
	for _, tt := range []struct {
		name string
		run  func(*testing.T, *fixture)
	}{{"one contact", concurrentApplyOneContact}, {"merges", concurrentMerges}} {
		t.Run(tt.name, func(t *testing.T) {
			if err := rdb.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error { return c.FlushAll(ctx).Err() }); err != nil {
				t.Fatal(err)
			}
			clk := newClock()
			s, err := NewStore(rdb, Options{Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			tt.run(t, &fixture{store: s, clock: clk, ctx: t.Context()})
		})
	}
}

// The whole life of contacts (create, tags, merge, chains, repair) on Redis
// Cluster, where every script must stay in one slot.
func TestOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := redistest.Cluster(t)
	clk := newClock()
	s, err := NewStore(rdb, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: s, clock: clk, ctx: redistest.Ctx(t)}

	sc := buildMergeScene(t, f)
	got := f.apply(t, sc.merge)
	if diff := cmp.Diff(Result{ContactID: sc.idA, Merged: true, Score: 50}, got); diff != "" {
		t.Errorf("Apply(merge) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sc.wantMerged, f.get(t, sc.idB)); diff != "" {
		t.Errorf("Get(merged id) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sc.wantTL, f.timeline(t, sc.idA)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	for _, tag := range []string{"a", "b", "shared"} {
		if diff := cmp.Diff([]string{sc.idA}, f.withTag(t, tag)); diff != "" {
			t.Errorf("index of %s (-want +got):\n%s", tag, diff)
		}
	}
	dup := f.apply(t, Change{EventID: "b-1", Identities: []Identity{sc.b}, ScoreDelta: 5})
	if !dup.Duplicate {
		t.Errorf("B's first event after the merge: %+v; want Duplicate", dup)
	}
	// Many contacts, so keys spread over all three nodes.
	for n := range 50 {
		f.apply(t, Change{Identities: []Identity{phone(fmt.Sprint("p", n))}, AddTags: []string{"many"}})
	}
	if ids := f.withTag(t, "many"); len(ids) != 50 {
		t.Errorf("WithTag(many) has %d ids; want 50", len(ids))
	}
	if err := s.RepairTagIndex(f.ctx, sc.idB); err != nil {
		t.Errorf("RepairTagIndex: %v", err)
	}
	if err := rdb.ForEachMaster(f.ctx, func(ctx2 context.Context, c *redis.Client) error { return c.ScriptFlush(ctx2).Err() }); err != nil {
		t.Fatal(err)
	}
	third := f.apply(t, Change{Identities: []Identity{sc.a, openid("o-new")}, AddTags: []string{"after-flush"}})
	if diff := cmp.Diff(Result{ContactID: sc.idA, TagsAdded: []string{"after-flush"}, Score: 50}, third); diff != "" {
		t.Errorf("Apply after SCRIPT FLUSH (-want +got):\n%s", diff)
	}
}
