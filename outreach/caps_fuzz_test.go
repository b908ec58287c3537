package outreach

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// hashTag is the part of key Redis Cluster hashes: the text between the
// first '{' and the next '}', if not empty; else the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// FuzzCapPlan feeds config rule fields and API request fields to the rule
// checks and the key builder: nothing panics, and every key of a request
// lands in the contact's Cluster slot, one key per matching rule, distinct
// campaigns apart.
func FuzzCapPlan(f *testing.F) {
	f.Add("marketing-weekly", "marketing", "any", "", "c1", "m1", "sms", "marketing", "")
	f.Add("promo", "any+transactional", "sms", "*", "abcdefgh23456777", "m_x", "sms", "transactional", "spring:2026")
	f.Add("r", "service+marketing", "wecom", "spring", "c}1", "m", "wecom", "service", "spring")
	f.Add("a:b", "marketing", "any", "", "{c:x}", "m", "sms", "marketing", "}{")
	f.Add("x", "+", "fax", "*", "", "", "", "", "")
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // plans never call Redis
	defer rdb.Close()
	f.Fuzz(func(t *testing.T, name, purpose, channel, ruleCampaign, contact, msg, reqChannel, reqPurpose, campaign string) {
		rules := []CapRule{
			{Name: name, Purpose: purpose, Channel: channel, Max: 2, Window: time.Hour, Campaign: ruleCampaign},
			{Name: "per-campaign", Purpose: "any+transactional", Channel: "any", Max: 1, Window: time.Minute, Campaign: "*"},
		}
		caps, err := NewCaps(rdb, rules, nil)
		if err != nil {
			rules = rules[1:]
			if caps, err = NewCaps(rdb, rules, nil); err != nil {
				t.Fatal(err)
			}
		}
		req := CapRequest{ContactID: contact, MessageID: msg, Channel: reqChannel, Purpose: reqPurpose, Campaign: campaign}
		p, err := caps.plan(req, "1")
		if err != nil {
			return
		}
		if len(p.keys) > len(rules) || len(p.rules) != len(p.keys) || len(p.args) != 2+2*len(p.keys) && len(p.keys) > 0 {
			t.Fatalf("plan has %d keys, %d rules, %d args for %d rules", len(p.keys), len(p.rules), len(p.args), len(rules))
		}
		seen := map[string]bool{}
		for _, k := range p.keys {
			if tag := hashTag(k); tag != "c:"+contact {
				t.Fatalf("key %q hashes on %q, not on the contact's tag", k, tag)
			}
			if seen[k] {
				t.Fatalf("key %q is used by two rules", k)
			}
			seen[k] = true
		}
		if campaign != "" {
			other := req
			other.Campaign = campaign + "x"
			q, err := caps.plan(other, "1")
			if err != nil {
				return // the longer campaign may be too long
			}
			last := func(keys []string) string { return keys[len(keys)-1] }
			if last(p.keys) == last(q.keys) {
				t.Fatalf("campaigns %q and %q share key %q", campaign, other.Campaign, last(p.keys))
			}
		}
	})
}
