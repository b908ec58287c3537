package reports

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/outreach"
)

// benchContacts is how many contacts the benchmark's aggregates describe.
const benchContacts = 1_000_000

// BenchmarkReportQueries records the life of a million contacts through the
// recorder (pipelined: first sights and stage changes over 90 days from 20
// sources, one campaign message each from 50 campaigns with deliveries,
// replies and orders, hand-offs to 30 reps) and then times each report over
// the 90 days against a baseline measured in the same run: one HGETALL of
// one day's funnel hash. Query time depends on days, sources, campaigns and
// reps, not on the number of contacts: nothing is scanned.
func BenchmarkReportQueries(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	first := time.Date(2026, 8, 1, 9, 0, 0, 0, shanghai)
	last := first.AddDate(0, 0, 89)
	r, err := New(rdb, Options{Now: func() time.Time { return last }, MessageCost: map[string]float64{"sms": 0.045}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	generate(b, r, first)
	gen := time.Since(start)
	mem, _ := rdb.Info(ctx, "memory").Result()

	p, err := r.Period(first.Format(dateFormat), last.Format(dateFormat))
	if err != nil {
		b.Fatal(err)
	}
	queries := []struct {
		name string
		run  func() error
	}{
		{"baseline", func() error { return rdb.HGetAll(ctx, funnelDayKey(r.day(first), allSources)).Err() }},
		{"funnel", func() error { _, err := r.Funnel(ctx, p, "", false); return err }},
		{"funnel-source", func() error { _, err := r.Funnel(ctx, p, "qr:scene3", true); return err }},
		{"campaigns", func() error { _, err := r.Campaigns(ctx, p, "", true); return err }},
		{"channels", func() error { _, err := r.Channels(ctx, p, true); return err }},
		{"handoffs", func() error { _, err := r.Handoffs(ctx, p, "", true); return err }},
	}
	b.ResetTimer()
	for range b.N {
		times := map[string]time.Duration{}
		for _, q := range queries {
			var ds []time.Duration
			for range 15 {
				t0 := time.Now()
				if err := q.run(); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(t0))
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			times[q.name] = ds[len(ds)/2]
		}
		base := times["baseline"]
		b.ReportMetric(float64(base.Microseconds())/1000, "baseline-ms")
		for _, q := range queries[1:] {
			b.ReportMetric(float64(times[q.name].Microseconds())/1000, q.name+"-ms")
			b.ReportMetric(float64(times[q.name])/float64(base), q.name+"-ratio")
		}
	}
	b.StopTimer()
	b.ReportMetric(gen.Seconds(), "generate-s")
	b.ReportMetric(float64(benchContacts)/gen.Seconds(), "recorded-contacts/s")
	b.ReportMetric(usedMemory(mem)/benchContacts, "redis-bytes/contact")
}

func usedMemory(info string) float64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return n
		}
	}
	return 0
}

// generate records a million contacts' events through the recorder in
// chunks of 10,000 contacts.
func generate(b *testing.B, r *Reports, first time.Time) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	sources := make([]string, 0, 20)
	for i := range 10 {
		sources = append(sources, QRSource("scene"+strconv.Itoa(i)))
	}
	for i := range 5 {
		sources = append(sources, WeComStateSource("s"+strconv.Itoa(i)), ImportSource("job"+strconv.Itoa(i)))
	}
	chans := []string{"sms", "wecom", "officialaccount", "email"}
	const chunk = 10_000
	for base := 0; base < benchContacts; base += chunk {
		var facts []StageFact
		var msgs []outreach.MessageEvent
		hb := newBatch()
		type later struct {
			id string
			at time.Time
		}
		var replies, orders []later
		for i := base; i < base+chunk; i++ {
			id := "c" + strconv.Itoa(i)
			seen := first.Add(time.Duration(i%90)*24*time.Hour + time.Duration(rng.IntN(12*3600))*time.Second)
			facts = append(facts, StageFact{ContactID: id, Source: sources[i%len(sources)], At: seen, First: true})
			sent := seen.Add(time.Duration(rng.IntN(48)) * time.Hour)
			ch := chans[i%len(chans)]
			camp := fmt.Sprintf("camp%02d", i%50)
			msgs = append(msgs, outreach.MessageEvent{MessageID: camp + "-" + id, ContactID: id, Campaign: camp, Channel: ch, Stat: StatSent, At: sent})
			if ch == "sms" {
				stat := StatDelivered
				if rng.IntN(20) == 0 {
					stat = StatFailed
				}
				msgs = append(msgs, outreach.MessageEvent{MessageID: camp + "-" + id, ContactID: id, Campaign: camp, Channel: ch, Stat: stat, At: sent.Add(time.Minute)})
			}
			if rng.IntN(10) == 0 {
				replies = append(replies, later{id, sent.Add(2 * time.Hour)})
			}
			at := sent
			for s, share := range []int{40, 37, 33} { // of the previous stage: 40 % mql, 15 % sql, 5 % customer
				if rng.IntN(100) >= share {
					break
				}
				at = at.Add(time.Duration(1+rng.IntN(240)) * time.Hour)
				facts = append(facts, StageFact{ContactID: id, Stage: Stages[s+1], At: at})
				if s == 1 {
					rep := "rep" + strconv.Itoa(i%30)
					r.handoffOpened(hb, rep, at)
					if rng.IntN(10) == 0 {
						r.handoffBreached(hb, rep, at.Add(24*time.Hour))
					}
					r.handoffFollowedUp(hb, rep, at, at.Add(time.Duration(rng.IntN(48*3600))*time.Second))
				}
				if s == 2 {
					orders = append(orders, later{id, at})
				}
			}
		}
		// Stage facts are applied in time order per contact: first sights
		// first, then moves in the order they were made.
		if err := r.RecordStages(ctx, facts); err != nil {
			b.Fatal(err)
		}
		if err := r.RecordMessages(ctx, msgs); err != nil {
			b.Fatal(err)
		}
		if err := r.flush(ctx, hb); err != nil {
			b.Fatal(err)
		}
		for _, rp := range replies[:min(len(replies), 100)] { // replies and orders one by one, as they arrive
			if _, _, err := r.InboundReply(ctx, rp.id, rp.at); err != nil {
				b.Fatal(err)
			}
		}
		for _, o := range orders[:min(len(orders), 50)] {
			if _, err := r.RecordOrder(ctx, Order{ContactID: o.id, OrderID: "o-" + o.id, AmountCents: int64(1000 + rng.IntN(100000)), At: o.at}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
