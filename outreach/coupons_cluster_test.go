package outreach

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

// startCouponCluster starts a three-node Redis Cluster (no replicas) and
// returns a cluster client for it.
func startCouponCluster(t *testing.T) *redis.ClusterClient {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not found; it creates the test cluster")
	}
	var addrs []string
	for range 3 {
		srv := redistest.Start(t, "cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 5000")
		addrs = append(addrs, srv.Addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, a := range addrs {
		host, port, _ := strings.Cut(a, ":")
		for {
			out, _ := exec.Command(cli, "-h", host, "-p", port, "cluster", "info").Output()
			if strings.Contains(string(out), "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster at %s not ready: %s", a, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestCouponsOnCluster runs the whole life of two batches on a cluster:
// every script must find its keys in one slot and the code index must work
// across nodes.
func TestCouponsOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := startCouponCluster(t)
	ctx := t.Context()
	clk := &couponClock{t: couponStart}
	c := NewCoupons(rdb, clk.now)
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
