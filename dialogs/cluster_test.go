package dialogs

import (
	"context"
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

// TestOnCluster runs a conversation with a timeout, a hand-off and a resume
// on Redis Cluster: every script stays in one slot.
func TestOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := startCluster(t)
	ctx := context.Background()
	act, clk := newFakeActions(), &clock{t: t0}
	const script = `id: w
version: 1
triggers: [{keyword: {any: [go], exact: true}}]
steps:
  - id: q
    ask: {text: "name?", capture: {var: name}, timeout: 1h, on_timeout: late}
  - id: hi
    send: "hi {{.name}}"
    next: end
  - id: late
    send: late
`
	eng, err := NewEngine(rdb, mustLoadFS(t, map[string]string{"w.yaml": script}), act, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	say := func(id, text string) []string {
		out, err := eng.Handle(ctx, Inbound{ContactID: id, Channel: "wecom", Text: text})
		if err != nil {
			t.Fatalf("%s %q: %v", id, text, err)
		}
		return texts(out)
	}
	var got []string
	for _, id := range []string{"a", "b", "c", "d"} {
		got = append(got, say(id, "go")...)
	}
	got = append(got, say("a", "Ann")...)
	got = append(got, say("b", "human")...)
	n, err := eng.Tick(ctx, clk.Add(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("Tick = %d, %v; want 2", n, err)
	}
	got = append(got, act.take()...)
	if was, err := eng.Resume(ctx, "b"); err != nil || !was {
		t.Fatalf("Resume = %v, %v", was, err)
	}
	got = append(got, say("b", "go")...)
	want := []string{
		`"name?"`, `"name?"`, `"name?"`, `"name?"`,
		`"hi Ann"`,
		`"好的，已为您转接人工顾问，请稍候。"`,
		`handoff reason="keyword" text="human"`, `send wecom "late"`, `send wecom "late"`,
		`"name?"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if left, _ := rdb.ZCard(ctx, dueKey).Result(); left != 1 {
		t.Errorf("%d deadlines indexed; want 1 (b's new session)", left)
	}
}
