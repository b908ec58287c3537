package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestEndToEndCampaign runs a tagged audience through a campaign over email:
// every tagged contact gets exactly one message, untagged ones none, and the
// campaign's statistics match what the SMTP server received.
func TestEndToEndCampaign(t *testing.T) {
	const tagged, others = 10000, 200
	s := startStack(t)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := 0; i < tagged+others; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var ev struct {
				ContactID string `json:"contact_id"`
			}
			s.call(http.MethodPost, s.gateway+"/api/v1/events", map[string]any{"contact": map[string]string{"email": fmt.Sprintf("fan%d@example.com", i)}, "type": "signup"}, 202, &ev)
			if i < tagged {
				s.call(http.MethodPost, s.gateway+"/api/v1/contacts/"+ev.ContactID+"/tags", map[string]any{"add": []string{"webinar-nov"}}, 200, nil)
			}
		}()
	}
	wg.Wait()
	s.call(http.MethodPost, s.gateway+"/api/v1/campaigns", map[string]any{
		"id": "nov-webinar", "name": "11 月研讨会", "audience": "tag:webinar-nov", "template": "webinar_reminder", "purpose": "marketing", "channel": "email", "owner": "rep.li",
		"vars": map[string]any{"name": "朋友", "title": "私域增长实战", "time": "11 月 28 日 14:00", "url": "https://live.example.com/nov"},
	}, 201, nil)
	s.eventuallyWithin(4*time.Minute, "campaign mail", func() bool { return s.smtpReceived() >= tagged })
	var c struct {
		Status string
		Stats  struct {
			Totals map[string]int
		}
	}
	s.eventuallyWithin(time.Minute, "campaign done", func() bool {
		s.call(http.MethodGet, s.gateway+"/api/v1/campaigns/nov-webinar", nil, 200, &c)
		return c.Status == "done" && c.Stats.Totals["sent"] == tagged
	})
	perAddress := map[string]int{}
	for _, r := range s.received("email") {
		perAddress[r.To]++
	}
	if len(perAddress) != tagged {
		t.Errorf("%d addresses got mail, want the %d tagged", len(perAddress), tagged)
	}
	for addr, n := range perAddress {
		if n != 1 {
			t.Errorf("%s got %d messages", addr, n)
		}
	}
	if c.Stats.Totals["queued"] != tagged {
		t.Errorf("stats %v, want %d queued and sent", c.Stats.Totals, tagged)
	}
}

func (s *stack) smtpReceived() int {
	var stats map[string]struct{ Received int }
	s.call(http.MethodGet, s.sandbox+"/api/stats", nil, 200, &stats)
	return stats["email"].Received
}
