package outreach

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
)

// dumpAll is every key with its contents, for before/after comparisons.
func dumpAll(t *testing.T, rdb *redis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		var v any
		switch rdb.Type(ctx, k).Val() {
		case "string":
			v = rdb.Get(ctx, k).Val()
		case "hash":
			v = rdb.HGetAll(ctx, k).Val()
		case "list":
			v = rdb.LRange(ctx, k, 0, -1).Val()
		case "set":
			s := rdb.SMembers(ctx, k).Val()
			sort.Strings(s)
			v = s
		case "zset":
			v = rdb.ZRange(ctx, k, 0, -1).Val()
		}
		out[k] = fmt.Sprint(v)
	}
	return out
}

func TestEraseContactOutreachRecords(t *testing.T) {
	var caps *Caps
	f := newFixtureWith(t, func(o *Options, rdb *redis.Client) {
		var err error
		caps, err = NewCaps(rdb, []CapRule{{Name: "week", Purpose: "any", Channel: "any", Max: 5, Window: 168 * time.Hour}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Caps = caps
	})
	ctx := t.Context()
	phoneB := contacts.Identity{Kind: contacts.KindPhone, Value: "+8613900139000"}
	a, b := contacts.IDFor(phoneA), contacts.IDFor(phoneB)
	for _, id := range []contacts.Identity{phoneA, phoneB} {
		f.contactWith(t, contacts.Change{EventID: "seed-" + id.Value, Identities: []contacts.Identity{id}, At: time.Now()})
	}
	// Messages for tomorrow: records and scheduled tasks.
	for i, id := range []contacts.Identity{phoneA, phoneA, phoneB} {
		in := Intent{ID: fmt.Sprintf("m%d", i), Contact: []contacts.Identity{id}, Template: "receipt", Vars: map[string]any{"name": "王"},
			Purpose: channels.Transactional, SendAt: time.Now().Add(24 * time.Hour)}
		if _, _, err := f.pipe.Submit(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	// Cap places.
	for _, c := range []string{a, b} {
		if _, err := caps.Reserve(ctx, CapRequest{ContactID: c, MessageID: "x-" + c, Channel: "sms", Purpose: "marketing"}); err != nil {
			t.Fatal(err)
		}
	}
	// Coupons: both hold one, A redeemed it.
	cp := NewCoupons(f.rdb, nil)
	if _, err := cp.CreateBatch(ctx, CouponBatch{ID: "b1", Name: "B1", ExpiresAt: time.Now().Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.AddCodes(ctx, "b1", []string{"CODE1", "CODE2", "CODE3"}); err != nil {
		t.Fatal(err)
	}
	codeA, _, err := cp.Issue(ctx, "b1", a)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cp.Issue(ctx, "b1", b); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Redeem(ctx, codeA, "order-7"); err != nil {
		t.Fatal(err)
	}
	// A campaign that dispatched the first two of B, A, B2, with a reaction each.
	f.rdb.RPush(ctx, campaignAudienceKey("c1"), b, a, "b2b2b2b2b2b2b2b2")
	f.rdb.HSet(ctx, campaignKey("c1"), "dispatched", 2, "audience_size", 3)
	f.rdb.SAdd(ctx, campaignSeenKey("c1"), "c1-"+a, "c1-"+b)
	// Hand-offs, and a task naming A's phone.
	f.rdb.HSet(ctx, handoffKey(a), "rep", "rep.li", "status", "open")
	f.rdb.Set(ctx, repLatestKey("rep.li"), a, 0)
	f.rdb.Set(ctx, repLatestKey("rep.wang"), b, 0)
	if _, err := f.pipe.queue.Enqueue(asynq.NewTask("wecom:tag", []byte(`{"phone":"`+phoneA.Value+`"}`)), asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}

	// Activity index entries are written behind; write them now so the
	// snapshots below see only what erasure does.
	if err := f.contacts.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	before := dumpAll(t, f.rdb)
	got, err := f.pipe.EraseContact(ctx, []string{a}, []string{phoneA.Value})
	if err != nil {
		t.Fatal(err)
	}
	want := Erased{Messages: 2, Tasks: 3, CapReservations: 1, Coupons: 1, CampaignEntries: 1, Handoffs: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("erased (-want +got)\n%s", diff)
	}
	after := dumpAll(t, f.rdb)
	for k, v := range after {
		if (strings.HasPrefix(k, "{c:"+a+"}:") && !strings.HasPrefix(k, capKeyPrefix(a))) || strings.HasPrefix(k, "{act}:") {
			continue // the contact's own keys and activity index: the contacts store erases them
		}
		if strings.Contains(k, a) || strings.Contains(v, a) || strings.Contains(k, phoneA.Value) || strings.Contains(v, phoneA.Value) {
			t.Errorf("%s still mentions the contact: %.200s", k, v)
		}
	}
	// What changed is exactly A's part.
	changed := map[string][2]string{}
	for k, v := range before {
		if after[k] != v {
			changed[k] = [2]string{v, after[k]}
		}
	}
	for _, k := range []string{campaignAudienceKey("c1"), campaignKey("c1"), couponCodesKey("b1"), couponHolderKey("b1"), repLatestKey("rep.li")} {
		if _, ok := changed[k]; !ok {
			t.Errorf("%s did not change", k)
		}
	}
	checks := map[string]string{
		"audience":   fmt.Sprint(f.rdb.LRange(ctx, campaignAudienceKey("c1"), 0, -1).Val()),
		"dispatched": f.rdb.HGet(ctx, campaignKey("c1"), "dispatched").Val(),
		"code of A":  f.rdb.HGet(ctx, couponCodesKey("b1"), codeA).Val(),
		"B's latest": f.rdb.Get(ctx, repLatestKey("rep.wang")).Val(),
		"B's caps":   fmt.Sprint(f.rdb.Exists(ctx, capKeyPrefix(b)+"week").Val()),
		"B's msg":    f.rdb.HGet(ctx, messageKey("m2"), "contact_id").Val(),
	}
	wantChecks := map[string]string{"audience": "[" + b + " b2b2b2b2b2b2b2b2]", "dispatched": "1", "code of A": ErasedHolder,
		"B's latest": b, "B's caps": "1", "B's msg": b}
	if diff := cmp.Diff(wantChecks, checks); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	batch, err := cp.Batch(ctx, "b1")
	if err != nil || batch.Issued != 2 || batch.Redeemed != 1 {
		t.Errorf("batch counts after erasure: %+v, %v; want 2 issued, 1 redeemed", batch, err)
	}
	// Again: nothing to do.
	again, err := f.pipe.EraseContact(ctx, []string{a}, []string{phoneA.Value})
	if err != nil || again != (Erased{}) {
		t.Errorf("repeat: %+v, %v", again, err)
	}
	if diff := cmp.Diff(after, dumpAll(t, f.rdb)); diff != "" {
		t.Errorf("a repeat changed keys (-before +after)\n%s", diff)
	}
}

// TestEraseContactOnCluster: the keyspace walk visits every master, and
// each change stays in one slot.
func TestEraseContactOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := redistest.Cluster(t)
	ctx := t.Context()
	store, err := contacts.NewStore(rdb, contacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	caps, err := NewCaps(rdb, []CapRule{{Name: "week", Purpose: "any", Channel: "any", Max: 5, Window: 168 * time.Hour}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(rdb, store, renderer{orders: map[string][]channels.Channel{"receipt": {channels.SMS}}}, nil, Options{Caps: caps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	a := contacts.IDFor(phoneA)
	for i := range 20 { // records spread over the masters
		id := fmt.Sprintf("m-%d", i)
		if _, err := p.records.add(ctx, &Message{ID: id, Status: StatusSent, ContactID: a, Template: "receipt"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.records.add(ctx, &Message{ID: "other", Status: StatusSent, ContactID: "bbbbbbbbbbbbbbbb", Template: "receipt"}); err != nil {
		t.Fatal(err)
	}
	if _, err := caps.Reserve(ctx, CapRequest{ContactID: a, MessageID: "m-0", Channel: "sms", Purpose: "marketing"}); err != nil {
		t.Fatal(err)
	}
	cp := NewCoupons(rdb, nil)
	if _, err := cp.CreateBatch(ctx, CouponBatch{ID: "b1", Name: "B1", ExpiresAt: time.Now().Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.AddCodes(ctx, "b1", []string{"CODE1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cp.Issue(ctx, "b1", a); err != nil {
		t.Fatal(err)
	}
	ex, err := p.ExportContact(ctx, []string{a})
	if err != nil || len(ex.Messages) != 20 || len(ex.Coupons) != 1 {
		t.Fatalf("export: %d messages, %d coupons, %v", len(ex.Messages), len(ex.Coupons), err)
	}
	got, err := p.EraseContact(ctx, []string{a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Erased{Messages: 20, CapReservations: 1, Coupons: 1}); got != want {
		t.Errorf("erased %+v, want %+v", got, want)
	}
	if m, err := p.records.get(ctx, "other"); err != nil || m.ContactID != "bbbbbbbbbbbbbbbb" {
		t.Errorf("another contact's message: %v, %v", m, err)
	}
}
