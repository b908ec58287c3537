package outreach

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/journeygate/gateway/internal/redistest"
)

// TestCouponsOnCluster runs the whole life of two batches on a cluster:
// every script must find its keys in one slot and the code index must work
// across nodes.
func TestCouponsOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := redistest.Cluster(t)
	ctx := t.Context()
	clk := testclock.New(couponStart)
	c := NewCoupons(rdb, clk.Now)
	for _, id := range []string{"north", "south"} {
		if _, err := c.CreateBatch(ctx, CouponBatch{ID: id, Name: id, ExpiresAt: couponStart.Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.AddCodes(ctx, "north", numberedCodes("N-", 40)); err != nil || n != 40 {
		t.Fatalf("AddCodes = %d, %v", n, err)
	}
	if n, err := c.AddCodes(ctx, "south", append(numberedCodes("N-", 5), numberedCodes("S-", 5)...)); err != nil || n != 5 {
		t.Fatalf("AddCodes south = %d, %v; want the 5 S- codes only", n, err)
	}
	if n, err := c.Generate(ctx, "south", 20, "S"); err != nil || n != 20 {
		t.Fatalf("Generate = %d, %v", n, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	issued := map[string]string{}
	exhausted := 0
	for i := range 48 {
		wg.Go(func() {
			contact := fmt.Sprintf("c%02d", i)
			code, _, err := c.Issue(ctx, "north", contact)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrCouponsExhausted):
				exhausted++
			case err != nil:
				t.Error(err)
			default:
				issued[code] = contact
			}
		})
	}
	wg.Wait()
	if len(issued) != 40 || exhausted != 8 {
		t.Fatalf("%d codes issued, %d exhausted; want 40 and 8", len(issued), exhausted)
	}
	for code, contact := range issued {
		r, err := c.Redeem(ctx, code, "order-"+contact)
		if err != nil || r.ContactID != contact || r.Batch != "north" {
			t.Fatalf("Redeem %s = %+v, %v", code, r, err)
		}
	}
	left, err := c.Unredeemed(ctx, "north")
	if err != nil || len(left) != 0 {
		t.Errorf("Unredeemed = %v, %v; want none", left, err)
	}
	b, err := c.Batch(ctx, "north")
	if err != nil || b.Total != 40 || b.Issued != 40 || b.Redeemed != 40 {
		t.Errorf("Batch = %+v, %v", b, err)
	}
}
