package outreach

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/internal/testclock"
)

// TestCapsAtDispatchOnCluster: the batch's contact read, ReserveMany and
// the records are pipelines over many slots; on a cluster each command
// must reach the node of its keys.
func TestCapsAtDispatchOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := redistest.Cluster(t)
	ctx := t.Context()
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.FlushAll(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(time.Now().UTC().Truncate(time.Second))
	store, err := contacts.NewStore(rdb, contacts.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	caps, err := NewCaps(rdb, contractRules, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(rdb, store, renderer{orders: map[string][]channels.Channel{"receipt": {channels.SMS}}}, []Sender{newRecorder(channels.SMS)},
		Options{MaxRetry: 3, Now: clk.Now, Caps: caps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	var items []BatchItem
	want := map[string]Status{}
	for i := range 12 {
		res, err := store.Apply(ctx, contacts.Change{Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: fmt.Sprintf("+86137%08d", i)}},
			Consent: []contacts.ConsentChange{{Channel: "sms", Status: contacts.ConsentOptedIn, Source: "form"}}})
		if err != nil {
			t.Fatal(err)
		}
		id := "cl-" + res.ContactID
		want[id] = StatusScheduled
		if i%3 == 0 { // full under sms-daily
			if _, err := caps.Reserve(ctx, CapRequest{ContactID: res.ContactID, MessageID: "earlier", Channel: "sms", Purpose: "marketing"}); err != nil {
				t.Fatal(err)
			}
			want[id] = StatusCapped
		}
		items = append(items, BatchItem{ID: id, ContactID: res.ContactID, Template: "receipt", Vars: map[string]any{"name": "Li"}})
	}
	if _, err := p.SubmitBatch(ctx, Batch{Items: items, Purpose: channels.Marketing, Channel: channels.SMS, Campaign: "cl"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]Status{}
	for _, it := range items {
		m, err := p.Get(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		got[it.ID] = m.Status
		if held := len(m.CapKeys) == 2; held != (m.Status == StatusScheduled) {
			t.Errorf("%s: %s holding %v", it.ID, m.Status, m.CapKeys)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records after dispatch (-want +got):\n%s", diff)
	}
}
