package templates

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

// startCluster starts a three-node Redis Cluster (no replicas) and returns
// a cluster client for it.
func startCluster(t *testing.T) *redis.ClusterClient {
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

// TestStoreOnCluster runs saves, reads and the list on a Redis Cluster,
// where templates land in different slots and each script must stay in
// one.
func TestStoreOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	ctx := context.Background()
	s, err := NewStore(startCluster(t), Options{Now: steppingClock(time.Minute)})
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
}
