package contacts

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// crashBeforeIndex makes contact id look like a writer changed tag and died
// before writing the index: the tag is pending with a lease that ends in
// `lease`, and the index entry is the opposite of the contact's state.
func crashBeforeIndex(t *testing.T, f *fixture, id, tag string, member bool, lease time.Duration) {
	t.Helper()
	k := keysFor(id)
	expiry := strconv.FormatInt(f.clock.Now().Add(lease).UnixMilli(), 10)
	// What apply.lua leaves when its caller dies before the index write:
	// the lease, and the contact's mark that leases are pending.
	if err := f.rdb.HSet(f.ctx, k.tagp, tag, expiry).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.HSet(f.ctx, k.hash, "tp", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if member {
		f.rdb.SRem(f.ctx, tagIndexKey(tag), id)
	} else {
		f.rdb.SAdd(f.ctx, tagIndexKey(tag), id)
	}
}

func TestRepairTagIndex(t *testing.T) {
	f := newFixture(t, Options{})
	p := phone("1")
	id := IDFor(p)
	f.apply(t, Change{Identities: []Identity{p}, AddTags: []string{"kept", "dropped"}})
	f.apply(t, Change{Identities: []Identity{p}, RemoveTags: []string{"dropped"}})

	tests := []struct {
		name   string
		crash  func()
		repair func() error
		want   map[string][]string // index after the repair
	}{
		{
			name:   "lapsed add, repaired by RepairTagIndex",
			crash:  func() { crashBeforeIndex(t, f, id, "kept", true, -time.Second) },
			repair: func() error { return f.store.RepairTagIndex(f.ctx, id) },
			want:   map[string][]string{"kept": {id}, "dropped": {}},
		},
		{
			name:   "lapsed remove, repaired by RepairTagIndex",
			crash:  func() { crashBeforeIndex(t, f, id, "dropped", false, -time.Second) },
			repair: func() error { return f.store.RepairTagIndex(f.ctx, id) },
			want:   map[string][]string{"kept": {id}, "dropped": {}},
		},
		{
			name:  "lapsed update, repaired by the next Apply",
			crash: func() { crashBeforeIndex(t, f, id, "dropped", false, -time.Second) },
			repair: func() error {
				_, err := f.store.Apply(f.ctx, Change{Identities: []Identity{p}, ScoreDelta: 1})
				return err
			},
			want: map[string][]string{"kept": {id}, "dropped": {}},
		},
		{
			name:   "an index entry lost outside any update is re-added",
			crash:  func() { f.rdb.Del(f.ctx, tagIndexKey("kept")) },
			repair: func() error { return f.store.RepairTagIndex(f.ctx, id) },
			want:   map[string][]string{"kept": {id}, "dropped": {}},
		},
		{
			name:   "a live update is left to its writer",
			crash:  func() { crashBeforeIndex(t, f, id, "dropped", false, time.Minute) },
			repair: func() error { return f.store.RepairTagIndex(f.ctx, id) },
			want:   map[string][]string{"kept": {id}, "dropped": {id}},
		},
		{
			name:   "once its lease ran out it is repaired",
			crash:  func() { f.clock.Advance(time.Minute + time.Second) },
			repair: func() error { return f.store.RepairTagIndex(f.ctx, id) },
			want:   map[string][]string{"kept": {id}, "dropped": {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.crash()
			if err := tt.repair(); err != nil {
				t.Fatalf("repair: %v", err)
			}
			got := map[string][]string{}
			for tag := range tt.want {
				got[tag] = f.withTag(t, tag)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tag index (-want +got):\n%s", diff)
			}
		})
	}
	if n, _ := f.rdb.HLen(f.ctx, keysFor(id).tagp).Result(); n != 0 {
		t.Errorf("%d tags still pending after the repairs; want none", n)
	}
	if marked, _ := f.rdb.HExists(f.ctx, keysFor(id).hash, "tp").Result(); marked {
		t.Error("the contact is still marked as having pending index writes; want the mark gone with the last lease")
	}
	if err := f.store.RepairTagIndex(f.ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RepairTagIndex(bad id) = %v; want ErrNotFound", err)
	}
}

// A merge that died after linking the loser but before removing its index
// entries: RepairTagIndex on the loser's id removes them and then repairs
// the survivor too.
func TestRepairTagIndexOfMergedContact(t *testing.T) {
	f := newFixture(t, Options{})
	a, b := phone("1"), phone("2")
	f.apply(t, Change{Identities: []Identity{a}, AddTags: []string{"x"}})
	f.clock.Advance(time.Minute)
	f.apply(t, Change{Identities: []Identity{b}, AddTags: []string{"y"}})
	f.apply(t, Change{Identities: []Identity{a, b}})
	idA, idB := IDFor(a), IDFor(b)
	k := keysFor(idB)
	f.rdb.HSet(f.ctx, k.tagv, "y", "r")
	crashBeforeIndex(t, f, idB, "y", false, -time.Second)
	f.rdb.SRem(f.ctx, tagIndexKey("y"), idA)
	if err := f.store.RepairTagIndex(f.ctx, idB); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"x": {idA}, "y": {idA}}
	got := map[string][]string{"x": f.withTag(t, "x"), "y": f.withTag(t, "y")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tag index (-want +got):\n%s", diff)
	}
	if n, _ := f.rdb.Exists(f.ctx, k.tagv, k.tagp).Result(); n != 0 {
		t.Errorf("the merged contact keeps %d tag bookkeeping keys; want them gone", n)
	}
}

// A tag index writer (A) that stalls past its lease races its successor
// (B): B confirms and checktag.lua clears the contact's "tp" mark; then A's
// late checktag takes the lease again (version mismatch) and A dies before
// its second round. The lease must keep the contact marked, so that a later
// Apply finds it lapsed and repairs the index.
func TestStalledWriterLeaseIsStillRepaired(t *testing.T) {
	f := newFixture(t, Options{})
	p := phone("13800000001")
	id := IDFor(p)
	k := keysFor(id)
	f.apply(t, Change{Identities: []Identity{p}, AddTags: []string{"vip"}})

	// A removes vip and claims the index duty, then stalls (no index write).
	pa, err := f.store.prepare(Change{Identities: []Identity{p}, RemoveTags: []string{"vip"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.store.applies.run(f.ctx, append(k.list(), scoreLogKey(id), k.hash), pa.argv...)
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := asReply(v, 12)
	verA := strconv.FormatInt(ra.int(6), 10)
	if owned := ra.strings(7); len(owned) != 1 {
		t.Fatalf("A owns %v", owned)
	}

	// A's lease lapses; B adds vip back, takes the duty over and finishes.
	f.clock.Advance(tagLease + time.Second)
	f.apply(t, Change{Identities: []Identity{p}, AddTags: []string{"vip"}})
	if n, _ := f.rdb.HLen(f.ctx, k.tagp).Result(); n != 0 {
		t.Fatalf("tagp len %d after B", n)
	}

	// A wakes: writes its stale view (no vip), runs checktag, and dies.
	f.rdb.SRem(f.ctx, tagIndexKey("vip"), id)
	now := strconv.FormatInt(f.clock.Now().UnixMilli(), 10)
	if err := f.store.checktag.Run(f.ctx, f.rdb, []string{k.tagv, k.tagp, k.tags, k.link, k.hash},
		now, strconv.FormatInt(tagLease.Milliseconds(), 10), "vip", verA).Err(); err != nil {
		t.Fatal(err)
	}
	if tp, _ := f.rdb.HExists(f.ctx, k.hash, "tp").Result(); !tp {
		t.Error("A's late checktag left a lease but no pending mark on the contact")
	}

	// Long after every lease: further Applies should notice and repair.
	f.clock.Advance(time.Hour)
	for range 3 {
		f.apply(t, Change{Identities: []Identity{p}, ScoreDelta: 1})
	}
	if got := f.withTag(t, "vip"); len(got) != 1 {
		t.Errorf("WithTag(vip) = %v after lapsed lease + 3 Applies; want [%s] (contact has the tag)", got, id)
	}
	if n, _ := f.rdb.HLen(f.ctx, k.tagp).Result(); n != 0 {
		t.Errorf("tagp still holds %d lapsed lease(s); Apply never reported them stale", n)
	}
}
