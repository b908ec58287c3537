package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// BenchmarkSendsPerChannel measures messages/s through the whole product:
// POST /api/v1/messages → asynq → render → the channel's sender (real SDK)
// → the sandbox, one channel at a time. The platforms rate-limit in
// production, so this shows the pipeline's own ceiling, not a target.
func BenchmarkSendsPerChannel(b *testing.B) {
	const n = 400
	s := startStackWith(b, "WECOM_WELCOME_TEMPLATE=")
	channels := []struct {
		name    string
		contact func(i int) map[string]string
		prepare func(i int)
	}{
		{"sms", func(i int) map[string]string { return map[string]string{"phone": fmt.Sprintf("1390000%04d", i)} }, nil},
		{"email", func(i int) map[string]string {
			return map[string]string{"email": fmt.Sprintf("reader%d@example.com", i)}
		}, nil},
		{"officialaccount", func(i int) map[string]string { return map[string]string{"openid": fmt.Sprintf("oBench%d", i)} }, nil},
		{"wecom", func(i int) map[string]string {
			return map[string]string{"external_userid": fmt.Sprintf("wmBench%d", i)}
		},
			func(i int) {
				s.call(http.MethodPost, s.sandbox+"/api/play/wecom", map[string]string{"external_userid": fmt.Sprintf("wmBench%d", i), "user_id": "rep.li", "event": "add_external_contact", "state": "bench"}, 200, nil)
			}},
	}
	for _, ch := range channels {
		if ch.prepare != nil {
			for i := 0; i < n; i++ {
				ch.prepare(i)
			}
		}
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := 0; i < n; i++ {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{
					"id": fmt.Sprintf("bench-%s-%d", ch.name, i), "contact": ch.contact(i), "template": "order_shipped",
					"vars": map[string]any{"name": "王伟", "order": fmt.Sprint(i)}, "purpose": "transactional", "channel": ch.name}, 202, nil)
			}()
		}
		wg.Wait()
		s.eventually(ch.name+" sends", func() bool {
			var stats map[string]struct{ Received int }
			s.call(http.MethodGet, s.sandbox+"/api/stats", nil, 200, &stats)
			return stats[ch.name].Received >= n
		})
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), ch.name+"-msgs/s")
	}
}
