package outreach

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Statistic names beyond the message statuses: what tracking and coupon
// events add to a campaign's counts.
const (
	StatQueued       = "queued"
	StatOpened       = "opened"
	StatClicked      = "clicked"
	StatReplied      = "replied"
	StatUnsubscribed = "unsubscribed"
	StatRedeemed     = "redeemed"
)

// noChannel stands for "before a channel was picked" in statistics.
const noChannel = "none"

// CampaignStats counts a campaign's messages and reactions. Variants maps
// variant → channel → statistic → count; Totals sums over both.
type CampaignStats struct {
	Totals   map[string]int64                       `json:"totals"`
	Variants map[string]map[string]map[string]int64 `json:"variants"`
}

func statField(variant, channel, stat string) string {
	if channel == "" {
		channel = noChannel
	}
	return variant + "|" + channel + "|" + stat
}

// CountCampaign adds one to a campaign statistic. Tracking routes call it
// for opens, clicks, unsubscribes and redemptions; the pipeline for the
// message outcomes. An empty campaign is a no-op.
func (p *Pipeline) CountCampaign(ctx context.Context, campaign, variant, channel, stat string) error {
	if campaign == "" {
		return nil
	}
	key := campaignStatsKey(campaign)
	_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HIncrBy(ctx, key, statField(variant, channel, stat), 1)
		pipe.PExpire(ctx, key, p.opt.MessageTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("outreach: count %s for campaign %s: %w", stat, campaign, err)
	}
	return nil
}

// countMessage counts an outcome of a campaign message; statistics are a
// report, so a failure is logged and never undoes the outcome.
func (p *Pipeline) countMessage(ctx context.Context, m *Message, channel, stat string) {
	if m == nil || m.Campaign == "" {
		return
	}
	if err := p.CountCampaign(ctx, m.Campaign, m.Variant, channel, stat); err != nil {
		p.opt.Log.Warn("campaign statistic not counted", zap.String("message", m.ID), zap.String("stat", stat), zap.Error(err))
	}
}

// countByID is countMessage for callers holding only the message id; it
// also tells the observer.
func (p *Pipeline) countByID(ctx context.Context, id, stat string) {
	m, channel, ok := p.statFields(ctx, id, stat)
	if !ok {
		return
	}
	p.countMessage(ctx, m, channel, stat)
	p.observe(ctx, MessageEvent{MessageID: id, ContactID: m.ContactID, Campaign: m.Campaign, Variant: m.Variant, Channel: channel, Stat: stat})
}

// observeByID tells the observer about an outcome of a message known by id.
func (p *Pipeline) observeByID(ctx context.Context, id, stat string) {
	if p.opt.Observer == nil {
		return
	}
	if m, channel, ok := p.statFields(ctx, id, stat); ok {
		p.observe(ctx, MessageEvent{MessageID: id, ContactID: m.ContactID, Campaign: m.Campaign, Variant: m.Variant, Channel: channel, Stat: stat})
	}
}

// statFields reads what statistics need of a message record.
func (p *Pipeline) statFields(ctx context.Context, id, stat string) (*Message, string, bool) {
	v, err := p.rdb.HMGet(ctx, messageKey(id), "campaign", "variant", "channel", "contact_id").Result()
	if err != nil || len(v) != 4 {
		p.opt.Log.Warn("message statistic not counted", zap.String("message", id), zap.String("stat", stat), zap.Error(err))
		return nil, "", false
	}
	campaign, _ := v[0].(string)
	variant, _ := v[1].(string)
	channel, _ := v[2].(string)
	contact, _ := v[3].(string)
	return &Message{ID: id, Campaign: campaign, Variant: variant, ContactID: contact}, channel, true
}

// Stats reads a campaign's statistics.
func (cs *Campaigns) Stats(ctx context.Context, id string) (*CampaignStats, error) {
	h, err := cs.rdb.HGetAll(ctx, campaignStatsKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("outreach: read statistics of campaign %s: %w", id, err)
	}
	return parseStats(h), nil
}

func parseStats(h map[string]string) *CampaignStats {
	s := &CampaignStats{Totals: map[string]int64{}, Variants: map[string]map[string]map[string]int64{}}
	for f, v := range h {
		parts := strings.SplitN(f, "|", 3)
		if len(parts) != 3 {
			continue
		}
		var n int64
		if _, err := fmt.Sscan(v, &n); err != nil {
			continue
		}
		variant, channel, stat := parts[0], parts[1], parts[2]
		if s.Variants[variant] == nil {
			s.Variants[variant] = map[string]map[string]int64{}
		}
		if s.Variants[variant][channel] == nil {
			s.Variants[variant][channel] = map[string]int64{}
		}
		s.Variants[variant][channel][stat] += n
		s.Totals[stat] += n
	}
	return s
}

// variantTotals sums one variant's statistic over its channels.
func (s *CampaignStats) variantTotal(variant, stat string) int64 {
	var n int64
	for _, byStat := range s.Variants[variant] {
		n += byStat[stat]
	}
	return n
}
