package contacts

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

// getManyMatchesGet checks GetMany against Get, one by one, for every kind
// of id: plain contacts, a merged-away id (followed to the survivor), an
// unknown and a malformed id.
func getManyMatchesGet(t *testing.T, f *fixture) {
	t.Helper()
	s := buildMergeScene(t, f)
	f.apply(t, s.merge)
	plain := f.apply(t, Change{EventID: "p-1", Identities: []Identity{phone("13900000001")}, AddTags: []string{"vip"}, TZ: "Asia/Shanghai"}).ContactID
	ids := []string{plain, s.idA, s.idB, IDFor(phone("13900000002")), "not an id", plain}
	got, errs := f.store.GetMany(f.ctx, ids)
	if len(got) != len(ids) || len(errs) != len(ids) {
		t.Fatalf("GetMany answered %d contacts and %d errors for %d ids", len(got), len(errs), len(ids))
	}
	for i, id := range ids {
		want, wantErr := f.store.Get(f.ctx, id)
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("GetMany[%d] (%q) (-want Get +got):\n%s", i, id, diff)
		}
		if (wantErr == nil) != (errs[i] == nil) || wantErr != nil && errors.Is(wantErr, ErrNotFound) != errors.Is(errs[i], ErrNotFound) {
			t.Errorf("GetMany[%d] (%q): error %v, Get says %v", i, id, errs[i], wantErr)
		}
	}
	if got[2] == nil || got[2].ID != s.idA {
		t.Errorf("the merged-away id read as %+v, want the survivor %s", got[2], s.idA)
	}
	if none, errs := f.store.GetMany(f.ctx, nil); len(none) != 0 || len(errs) != 0 {
		t.Errorf("GetMany(nil) = %v, %v", none, errs)
	}
}

func TestGetManyMatchesGet(t *testing.T) {
	f := newFixture(t, Options{})
	// A server that lost its scripts: GetMany loads them again.
	if err := f.rdb.ScriptFlush(f.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	getManyMatchesGet(t, f)
}

func TestGetManyOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := redistest.Cluster(t)
	if err := rdb.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error { return c.FlushAll(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	s, err := NewStore(rdb, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	getManyMatchesGet(t, &fixture{store: s, clock: clk, ctx: t.Context()})
}
