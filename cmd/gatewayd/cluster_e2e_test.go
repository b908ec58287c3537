package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The cluster run: two gatewayd processes on one Redis Cluster behind a
// round-robin load balancer, with one sandbox playing every platform. It
// needs REDIS_CLUSTER_ADDRS (scripts/test-cluster.sh starts a fresh
// three-master cluster and sets it) and is skipped otherwise.

// roundRobin is the load balancer: each request goes to the next gateway.
type roundRobin struct {
	backends []*httputil.ReverseProxy
	served   []atomic.Int64
	next     atomic.Uint64
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(rr.next.Add(1) % uint64(len(rr.backends)))
	rr.served[i].Add(1)
	rr.backends[i].ServeHTTP(w, r)
}

// startBalancer listens on addr and spreads requests over the gateways.
func startBalancer(t testing.TB, addr string, gateways ...string) *roundRobin {
	t.Helper()
	rr := &roundRobin{served: make([]atomic.Int64, len(gateways))}
	for _, g := range gateways {
		u, _ := url.Parse("http://" + g)
		rr.backends = append(rr.backends, httputil.NewSingleHostReverseProxy(u))
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("load balancer on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: rr, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rr
}

// startGatewayAt starts one more gatewayd of the stack on its own address
// and waits until it is ready.
func (s *stack) startGatewayAt(name, addr string) {
	s.t.Helper()
	base := s.env
	s.env = append(append([]string{}, base...), "HTTP_ADDR="+addr)
	args := []string{"-config", "../../configs/gateway.yaml", "-config", "../../configs/demo.yaml"}
	for _, c := range s.configs {
		args = append(args, "-config", c)
	}
	p := s.start(name, args...)
	s.env = base
	s.eventually(name+" ready", func() bool {
		select {
		case <-p.done:
			s.t.Fatalf("%s exited during start", name)
		default:
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// metric sums the samples of a Prometheus counter whose labels contain
// every one of labels, as scraped from one gateway.
func metric(t testing.TB, addr, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

func TestClusterTwoGateways(t *testing.T) {
	addrs := os.Getenv("REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		t.Skip("set REDIS_CLUSTER_ADDRS (make test-cluster starts a cluster and does)")
	}
	cluster := strings.Split(addrs, ",")
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.FlushAll(ctx).Err() }); err != nil {
		t.Fatalf("flush the cluster: %v", err)
	}
	// Idle workers look for tasks every 50ms instead of every second: the
	// campaign below lasts about a second, and both gateways' workers must
	// notice it in time to share it.
	poll := filepath.Join(t.TempDir(), "poll.yaml")
	if err := os.WriteFile(poll, []byte("outreach: {poll_interval: 50ms}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startStackOpts(t, stackOptions{cluster: cluster, noGateway: true, configs: []string{poll}, env: []string{"DIALOGS_DIR=../../configs/dialogs"}})
	gwA, gwB := freeAddr(t), freeAddr(t)
	lb := startBalancer(t, strings.TrimPrefix(s.gateway, "http://"), gwA, gwB)
	s.startGatewayAt("gatewayd-a", gwA)
	s.startGatewayAt("gatewayd-b", gwB)
	s.seedTemplates()

	t.Run("callbacks through either gateway are applied once", func(t *testing.T) {
		const followers = 200
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range followers {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				openid := fmt.Sprintf("oCluster%03d", i)
				s.call(http.MethodPost, s.sandbox+"/api/play/officialaccount", map[string]string{"openid": openid, "event": "subscribe", "scene": "cluster"}, 200, nil)
				s.call(http.MethodPost, s.sandbox+"/api/play/officialaccount", map[string]string{"openid": openid, "text": "你好"}, 200, nil)
			}()
		}
		wg.Wait()
		for i := range followers {
			c := s.lookup("officialaccount", fmt.Sprintf("oCluster%03d", i))
			if c.Consent["officialaccount"] != "opted_in" || c.Activity != "active" {
				t.Fatalf("oCluster%03d: consent %v activity %q", i, c.Consent, c.Activity)
			}
		}
		a := metric(t, gwA, "gateway_callbacks_total", `outcome="applied"`)
		b := metric(t, gwB, "gateway_callbacks_total", `outcome="applied"`)
		if a == 0 || b == 0 || a+b != 2*followers {
			t.Fatalf("applied callbacks: %v on a, %v on b; want both busy and %d in all", a, b, 2*followers)
		}
		t.Logf("callbacks applied: %v by gateway a, %v by gateway b", a, b)
	})

	t.Run("a campaign split across both gateways' workers sends each message once", func(t *testing.T) {
		const audience = 2000
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range audience {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				var ev struct {
					ContactID string `json:"contact_id"`
				}
				s.call(http.MethodPost, s.gateway+"/api/v1/events", map[string]any{"contact": map[string]string{"email": fmt.Sprintf("cl%d@example.com", i)}, "type": "signup"}, 202, &ev)
				s.call(http.MethodPost, s.gateway+"/api/v1/contacts/"+ev.ContactID+"/tags", map[string]any{"add": []string{"cluster-run"}}, 200, nil)
			}()
		}
		wg.Wait()
		s.call(http.MethodPost, s.gateway+"/api/v1/campaigns", map[string]any{
			"id": "cluster-run", "name": "集群", "audience": "tag:cluster-run", "template": "webinar_reminder", "purpose": "marketing", "channel": "email", "owner": "rep.li",
			"vars": map[string]any{"name": "朋友", "title": "集群", "time": "明天", "url": "https://live.example.com/c"},
		}, 201, nil)
		var c struct {
			Status string
			Stats  struct{ Totals map[string]int }
		}
		s.eventuallyWithin(3*time.Minute, "campaign done", func() bool {
			s.call(http.MethodGet, s.gateway+"/api/v1/campaigns/cluster-run", nil, 200, &c)
			return c.Status == "done" && c.Stats.Totals["sent"] == audience
		})
		s.eventually("mail captured", func() bool { return s.smtpReceived() >= audience })
		per := map[string]int{}
		for _, r := range s.received("email") {
			per[r.To]++
		}
		for addr, n := range per {
			if n != 1 {
				t.Errorf("%s got %d mails", addr, n)
			}
		}
		if len(per) != audience {
			t.Errorf("%d addresses got mail, want %d", len(per), audience)
		}
		a := metric(t, gwA, "outreach_messages_total", `channel="email"`, `status="sent"`)
		b := metric(t, gwB, "outreach_messages_total", `channel="email"`, `status="sent"`)
		if a == 0 || b == 0 || int(a+b) != audience {
			t.Errorf("sent by a %v, by b %v; want both workers busy and %d in all", a, b, audience)
		}
		t.Logf("campaign of %d: %v sent by gateway a's workers, %v by b's; stats %v", audience, a, b, c.Stats.Totals)
	})

	t.Run("one contact flooded through both gateways never exceeds its cap", func(t *testing.T) {
		const tries = 40
		var wg sync.WaitGroup
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{"id": fmt.Sprintf("cl-flood-%d", i), "contact": map[string]string{"email": "flood@example.com"},
					"template": "webinar_reminder", "purpose": "marketing", "channel": "email",
					"vars": map[string]any{"name": "朋友", "title": "集群", "time": "明天", "url": "https://live.example.com/c"}}, 202, nil)
			}()
		}
		wg.Wait()
		count := map[string]int{}
		s.eventuallyWithin(time.Minute, "every flood message final", func() bool {
			clear(count)
			for i := range tries {
				count[s.rawStatus(fmt.Sprintf("cl-flood-%d", i))]++
			}
			return count["sent"]+count["capped"] == tries
		})
		if count["sent"] != 3 {
			t.Fatalf("statuses %v: want exactly 3 sent (marketing-weekly max 3) and the rest capped", count)
		}
		s.eventually("three mails", func() bool { return len(s.emailTo("flood@example.com")) == 3 })
		time.Sleep(time.Second)
		if n := len(s.emailTo("flood@example.com")); n != 3 {
			t.Fatalf("the contact received %d mails, cap is 3", n)
		}
	})
	// Background work (dialog ticks, hand-off reminders, asynq's own
	// scripts) logs what fails; on a cluster that would be a cross-slot key.
	for _, name := range []string{"gatewayd-a", "gatewayd-b"} {
		out, err := os.ReadFile(s.procs[name].log)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"CROSSSLOT", "MOVED", "ASK ", "slot"} {
			if strings.Contains(string(out), bad) {
				t.Errorf("%s logged %q:\n%s", name, bad, tail(string(out), 3000))
			}
		}
	}
	if lb.served[0].Load() == 0 || lb.served[1].Load() == 0 {
		t.Errorf("the load balancer served %d and %d requests: both gateways should take traffic", lb.served[0].Load(), lb.served[1].Load())
	}
}
