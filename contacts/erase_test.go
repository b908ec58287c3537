package contacts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

// failAfter is a hook that fails every command after the first n, as a
// connection lost midway would.
type failAfter struct{ left atomic.Int64 }

var errInjected = errors.New("injected failure")

func (f *failAfter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (f *failAfter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.left.Add(-1) < 0 {
			cmd.SetErr(errInjected)
			return errInjected
		}
		return next(ctx, cmd)
	}
}
func (f *failAfter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if f.left.Add(-1) < 0 {
			for _, c := range cmds {
				c.SetErr(errInjected)
			}
			return errInjected
		}
		return next(ctx, cmds)
	}
}

// person makes a contact of three identities, two of which started as
// contacts of their own and were merged, with tags and events.
func (f *fixture) person(t *testing.T, n int) (string, []string) {
	t.Helper()
	phone := Identity{KindPhone, fmt.Sprintf("+861380013%04d", n)}
	mail := Identity{KindEmail, fmt.Sprintf("p%d@example.com", n)}
	openid := Identity{KindOpenID, fmt.Sprintf("o-person-%d", n)}
	f.apply(t, Change{EventID: fmt.Sprintf("e%d-1", n), Identities: []Identity{phone}, At: f.clock.Now(), AddTags: []string{"vip"}})
	f.apply(t, Change{EventID: fmt.Sprintf("e%d-2", n), Identities: []Identity{mail}, At: f.clock.Now(), AddTags: []string{"trial"}})
	r := f.apply(t, Change{EventID: fmt.Sprintf("e%d-3", n), Identities: []Identity{phone, mail, openid}, At: f.clock.Now(),
		Fields: map[string]string{"company": "Acme"}, Timeline: &Entry{Type: "webinar", Source: "api"}})
	needles := []string{r.ContactID}
	for _, i := range []Identity{phone, mail, openid} {
		needles = append(needles, i.Value, IDFor(i))
	}
	return r.ContactID, needles
}

// mentioning lists the keys whose name or content mentions any needle.
func (f *fixture) mentioning(t *testing.T, needles []string) []string {
	t.Helper()
	keys, err := f.rdb.Keys(f.ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var hits []string
	for _, k := range keys {
		var content string
		switch f.rdb.Type(f.ctx, k).Val() {
		case "string":
			content = f.rdb.Get(f.ctx, k).Val()
		case "hash":
			content = fmt.Sprint(f.rdb.HGetAll(f.ctx, k).Val())
		case "list":
			content = fmt.Sprint(f.rdb.LRange(f.ctx, k, 0, -1).Val())
		case "set":
			content = fmt.Sprint(f.rdb.SMembers(f.ctx, k).Val())
		case "zset":
			content = fmt.Sprint(f.rdb.ZRange(f.ctx, k, 0, -1).Val())
		}
		for _, n := range needles {
			if strings.Contains(k, n) || strings.Contains(content, n) {
				hits = append(hits, k)
				break
			}
		}
	}
	sort.Strings(hits)
	return hits
}

func (f *fixture) erase(id string) (Erased, error) {
	h, err := f.store.Holdings(f.ctx, id)
	if err != nil {
		return Erased{}, err
	}
	return f.store.Erase(f.ctx, h)
}

func TestEraseReachesEveryKeyAndSparesOthers(t *testing.T) {
	f := newFixture(t, Options{})
	id, needles := f.person(t, 1)
	other, otherNeedles := f.person(t, 2)
	otherBefore := f.get(t, other)
	if hits := f.mentioning(t, needles); len(hits) < 10 {
		t.Fatalf("the contact has only %d keys: %v", len(hits), hits)
	}
	got, err := f.erase(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Identities != 3 || got.Tags != 2 || got.Keys < 8 {
		t.Errorf("erased %+v", got)
	}
	if hits := f.mentioning(t, needles); len(hits) > 0 {
		t.Errorf("keys still mention the contact: %v", hits)
	}
	if diff := cmp.Diff(otherBefore, f.get(t, other)); diff != "" {
		t.Errorf("the other contact changed (-want +got)\n%s", diff)
	}
	if len(f.mentioning(t, otherNeedles)) < 10 {
		t.Error("the other contact lost keys")
	}
	if _, err := f.erase(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("erasing again: %v, want ErrNotFound (nothing held)", err)
	}
	// The merged-away id leads to nothing either.
	if _, err := f.store.Lookup(f.ctx, Identity{KindEmail, "p1@example.com"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("lookup of an erased identity: %v", err)
	}
}

// TestEraseFailingMidwayIsFinishedByARepeat cuts the connection after each
// number of commands in turn; whatever was done, a repeat erases the rest.
func TestEraseFailingMidwayIsFinishedByARepeat(t *testing.T) {
	for n := 0; n < 14; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFixture(t, Options{})
			id, needles := f.person(t, 1)
			_, otherNeedles := f.person(t, 2)
			otherKeys := f.mentioning(t, otherNeedles)
			hook := &failAfter{}
			hook.left.Store(int64(n))
			f.rdb.AddHook(hook)
			_, err := f.erase(id)
			hook.left.Store(1 << 40) // the connection is back
			if err != nil && !errors.Is(err, errInjected) {
				t.Fatalf("first attempt: %v", err)
			}
			if err != nil {
				if _, err := f.erase(id); err != nil {
					t.Fatalf("repeat: %v", err)
				}
			}
			if hits := f.mentioning(t, needles); len(hits) > 0 {
				t.Errorf("after a failure at command %d and a repeat, keys still mention the contact: %v", n, hits)
			}
			if diff := cmp.Diff(otherKeys, f.mentioning(t, otherNeedles)); diff != "" {
				t.Errorf("the other contact's keys (-want +got)\n%s", diff)
			}
		})
	}
}

func TestExport(t *testing.T) {
	f := newFixture(t, Options{})
	id, _ := f.person(t, 1)
	ex, err := f.store.Export(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"identities": ex.Contact.Identities, "tags": ex.Contact.Tags, "fields": ex.Contact.Fields, "timeline": len(ex.Timeline)}
	want := map[string]any{"identities": map[string][]string{"email": {"p1@example.com"}, "openid": {"o-person-1"}, "phone": {"+8613800130001"}},
		"tags": []string{"trial", "vip"}, "fields": map[string]string{"company": "Acme"}, "timeline": len(f.timeline(t, id))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if _, err := f.store.Export(f.ctx, "aaaaaaaaaaaaaaaa"); !errors.Is(err, ErrNotFound) {
		t.Errorf("export of an unknown id: %v", err)
	}
}

// TestEraseOnCluster: the contact and its merged-away slots live in
// different Cluster slots; every step stays in one.
func TestEraseOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := redistest.Cluster(t)
	clk := newClock()
	s, err := NewStore(rdb, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: s, clock: clk, ctx: t.Context()}
	id, needles := f.person(t, 1)
	_, otherNeedles := f.person(t, 2)
	keyNames := func(needles []string) []string {
		var hits []string
		var mu sync.Mutex // masters are visited at once
		err := rdb.ForEachMaster(f.ctx, func(ctx context.Context, c *redis.Client) error {
			keys, err := c.Keys(ctx, "*").Result()
			mu.Lock()
			defer mu.Unlock()
			for _, k := range keys {
				for _, n := range needles {
					if strings.Contains(k, n) {
						hits = append(hits, k)
						break
					}
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(hits)
		return hits
	}
	otherKeys := keyNames(otherNeedles)
	if len(keyNames(needles)) < 5 {
		t.Fatalf("the contact has few keys: %v", keyNames(needles))
	}
	if _, err := f.erase(id); err != nil {
		t.Fatal(err)
	}
	if hits := keyNames(needles); len(hits) > 0 {
		t.Errorf("keys left on the cluster: %v", hits)
	}
	for _, tag := range []string{"vip", "trial"} {
		if ok, _ := rdb.SIsMember(f.ctx, tagIndexKey(tag), id).Result(); ok {
			t.Errorf("tag index %s keeps the contact", tag)
		}
	}
	if diff := cmp.Diff(otherKeys, keyNames(otherNeedles)); diff != "" {
		t.Errorf("the other contact's keys (-want +got)\n%s", diff)
	}
}

// A tag index write under way (a lease in tagp, a hash) must not stop the
// erasure from listing what the contact holds.
func TestHoldingsWithATagIndexWriteUnderWay(t *testing.T) {
	f := newFixture(t, Options{})
	p := phone("13800000002")
	id := IDFor(p)
	f.apply(t, Change{Identities: []Identity{p}, AddTags: []string{"vip"}})
	crashBeforeIndex(t, f, id, "vip", true, time.Minute)
	h, err := f.store.Holdings(f.ctx, id)
	if err != nil {
		t.Fatalf("Holdings with a lease pending: %v", err)
	}
	if !slices.Contains(h.Tags, "vip") {
		t.Errorf("Holdings tags = %v; want vip among them", h.Tags)
	}
}
