package contacts

import (
	"context"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

// newClock starts the tests' clock at a fixed day.
func newClock() *testclock.Clock { return testclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) }

type fixture struct {
	store *Store
	rdb   *redis.Client
	clock *testclock.Clock
	ctx   context.Context
}

func newFixture(t testing.TB, opt Options) *fixture {
	t.Helper()
	rdb := redistest.Client(t)
	clk := newClock()
	if opt.Now == nil {
		opt.Now = clk.Now
	}
	s, err := NewStore(rdb, opt)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	return &fixture{store: s, rdb: rdb, clock: clk, ctx: redistest.Ctx(t)}
}

func (f *fixture) apply(t testing.TB, ch Change) Result {
	t.Helper()
	r, err := f.store.Apply(f.ctx, ch)
	if err != nil {
		t.Fatalf("Apply(%+v): %v", ch, err)
	}
	// Tests compare Redis state: write the activity index now, not behind.
	if err := f.store.FlushActivity(f.ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) get(t testing.TB, id string) *Contact {
	t.Helper()
	c, err := f.store.Get(f.ctx, id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return c
}

func (f *fixture) timeline(t testing.TB, id string) []Entry {
	t.Helper()
	e, err := f.store.Timeline(f.ctx, id, 0)
	if err != nil {
		t.Fatalf("Timeline(%s): %v", id, err)
	}
	return e
}

func (f *fixture) withTag(t testing.TB, tag string) []string {
	t.Helper()
	ids, err := f.store.WithTag(f.ctx, tag)
	if err != nil {
		t.Fatalf("WithTag(%s): %v", tag, err)
	}
	return ids
}

// dump returns every key and its contents, to prove that nothing changed.
func (f *fixture) dump(t testing.TB) map[string]string {
	t.Helper()
	return redistest.Snapshot(t, f.rdb, "*")
}

func phone(v string) Identity  { return Identity{KindPhone, v} }
func email(v string) Identity  { return Identity{KindEmail, v} }
func openid(v string) Identity { return Identity{KindOpenID, v} }

// defaultConsent is Get's consent map for a contact with none recorded.
func consent(kv ...string) map[string]string {
	m := map[string]string{"wecom": "unknown", "officialaccount": "unknown", "sms": "unknown", "email": "unknown"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
