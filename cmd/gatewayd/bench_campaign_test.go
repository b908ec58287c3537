package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/contacts"
)

// BenchmarkCampaign100k runs a marketing SMS campaign to 100,000 contacts
// through the whole product as processes: audience by tag → frozen and
// dispatched in batches, each batch's contacts read and its caps reserved
// in one round trip (the campaign's channel is fixed) → tasks → at send
// time consent and quiet hours → render → Aliyun SDK → the sandbox (which
// then pushes every delivery receipt back). The contacts are seeded straight into
// Redis through contacts.Store (phone, tag, SMS opt-in), because seeding is
// not what is measured. Quiet hours are off so the figure does not depend
// on the time of day; each contact is under every cap, so every message
// makes one cap decision and goes out.
//
// Reported: msgs/s (creation to the last SMS at the platform), dispatch/s
// (audience resolved and every send queued), and Redis bytes per contact
// with its sent message. make bench sets the figures against
// BenchmarkCapDispatch's bare pipelined Lua cap+enqueue loop, measured in
// the same run. BENCH_CAMPAIGN_CONTACTS overrides the size.
func BenchmarkCampaign100k(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("BENCH_CAMPAIGN_CONTACTS")); err == nil && v > 0 {
		n = v
	}
	overlay := filepath.Join(b.TempDir(), "bench.yaml")
	if err := os.WriteFile(overlay, []byte("outreach:\n  workers: 40\n  quiet_hours: []\nlog:\n  level: error\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	s := startStackOpts(b, stackOptions{configs: []string{overlay},
		env: []string{"WECOM_WELCOME_TEMPLATE=", "LOG_LEVEL=error", fmt.Sprintf("SANDBOX_KEEP=%d", n+100)}})
	rdb := redis.NewClient(&redis.Options{Addr: s.redis.Addr})
	defer rdb.Close()
	before := redisUsedMemory(b, rdb)
	seedSMSContacts(b, rdb, n, "bench100k")
	var tpl map[string]any
	_ = json.Unmarshal([]byte(`{"name": "双十二预告", "purpose": "marketing", "channels": {
	  "sms": {"template_code": "SMS_123456", "params": {"name": "{{.name}}"}}}}`), &tpl)
	s.call(http.MethodPut, s.gateway+"/api/v1/templates/bench_sms", tpl, 200, nil)

	for iter := range b.N {
		id := fmt.Sprintf("bench100k-%d", iter)
		received0 := s.smsReceived()
		start := time.Now()
		s.call(http.MethodPost, s.gateway+"/api/v1/campaigns", map[string]any{
			"id": id, "name": "10 万人短信", "audience": "tag:bench100k", "template": "bench_sms", "purpose": "marketing",
			"channel": "sms", "owner": "rep.li", "vars": map[string]any{"name": "会员"},
		}, 201, nil)
		var dispatched time.Duration
		deadline := time.Now().Add(30 * time.Minute)
		for {
			if dispatched == 0 {
				var c struct {
					AudienceSize int `json:"audience_size"`
					Dispatched   int `json:"dispatched"`
				}
				s.call(http.MethodGet, s.gateway+"/api/v1/campaigns/"+id, nil, 200, &c)
				if c.AudienceSize == n && c.Dispatched == n {
					dispatched = time.Since(start)
				}
			}
			if s.smsReceived()-received0 >= n {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d SMS after 30 minutes", s.smsReceived()-received0, n)
			}
			time.Sleep(200 * time.Millisecond)
		}
		elapsed := time.Since(start)
		if dispatched == 0 {
			dispatched = elapsed
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64(n)/dispatched.Seconds(), "dispatch/s")
	}
	b.StopTimer()
	most, twice := maxPer(s.received("sms"))
	if twice != 0 || most > b.N {
		b.Fatalf("%d numbers got more than one SMS per campaign (most %d)", twice, most)
	}
	b.ReportMetric(float64(redisUsedMemory(b, rdb)-before)/float64(n), "redis-bytes/contact")

	// The same audience again: sms-daily (1 a day) now refuses every
	// message, so this campaign is audience → per batch of 500 one read of
	// the contacts, one ReserveMany and the capped records with their
	// statistics, and no tasks: cap decisions/s through the real pipeline,
	// without the platform call. Polled every 50 ms: it is quick.
	calls0, usec0, per0 := redisCommandStats(b, rdb)
	start := time.Now()
	s.call(http.MethodPost, s.gateway+"/api/v1/campaigns", map[string]any{
		"id": "bench100k-again", "name": "再发一次", "audience": "tag:bench100k", "template": "bench_sms", "purpose": "marketing",
		"channel": "sms", "owner": "rep.li", "vars": map[string]any{"name": "会员"},
	}, 201, nil)
	deadline := time.Now().Add(30 * time.Minute)
	for {
		var c struct {
			Stats struct{ Totals map[string]int }
		}
		s.call(http.MethodGet, s.gateway+"/api/v1/campaigns/bench100k-again", nil, 200, &c)
		if c.Stats.Totals["capped"] >= n {
			break
		}
		if c.Stats.Totals["sent"] > 0 || time.Now().After(deadline) {
			b.Fatalf("second campaign: %v, want all %d capped", c.Stats.Totals, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "cap-decisions/s")
	calls, usec, per := redisCommandStats(b, rdb)
	b.ReportMetric(float64(calls-calls0)/float64(n), "redis-cmds/decision")
	b.ReportMetric(float64(usec-usec0)/float64(n), "redis-us/decision")
	var top []string
	for cmd, c := range per {
		if d := c - per0[cmd]; d >= int64(n)/2 {
			top = append(top, fmt.Sprintf("%s %.1f", cmd, float64(d)/float64(n)))
		}
	}
	slices.Sort(top)
	b.Logf("Redis commands per capped message: %s", strings.Join(top, ", "))
}

// redisCommandStats sums calls and microseconds over INFO commandstats
// (a Lua script counts as its EVALSHA plus the commands it runs).
func redisCommandStats(b *testing.B, rdb redis.UniversalClient) (calls, usec int64, per map[string]int64) {
	per = map[string]int64{}
	info := rdb.Info(b.Context(), "commandstats").Val()
	for _, line := range strings.Split(info, "\r\n") {
		_, stats, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(stats, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				calls += n
				per[strings.TrimPrefix(line[:strings.IndexByte(line, ':')], "cmdstat_")] += n
			case "usec":
				usec += n
			}
		}
	}
	return calls, usec, per
}

// seedSMSContacts stores n contacts with a phone, SMS marketing opt-in and
// tag, 32 at a time.
func seedSMSContacts(b *testing.B, rdb redis.UniversalClient, n int, tag string) {
	b.Helper()
	store, err := contacts.NewStore(rdb, contacts.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				_, err := store.Apply(b.Context(), contacts.Change{
					Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: fmt.Sprintf("+8615%09d", i)}},
					AddTags:    []string{tag},
					Consent:    []contacts.ConsentChange{{Channel: "sms", Status: contacts.ConsentOptedIn, Source: "bench seed"}},
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

func redisUsedMemory(b *testing.B, rdb redis.UniversalClient) int64 {
	info := rdb.Info(b.Context(), "memory").Val()
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory in INFO memory")
	return 0
}
