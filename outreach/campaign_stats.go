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

// countByID is countMessage for callers holding only the message id.
func (p *Pipeline) countByID(ctx context.Context, id, stat string) {
	v, err := p.rdb.HMGet(ctx, messageKey(id), "campaign", "variant", "channel").Result()
	if err != nil || len(v) != 3 {
		p.opt.Log.Warn("campaign statistic not counted", zap.String("message", id), zap.String("stat", stat), zap.Error(err))
		return
	}
	campaign, _ := v[0].(string)
	variant, _ := v[1].(string)
	channel, _ := v[2].(string)
	p.countMessage(ctx, &Message{ID: id, Campaign: campaign, Variant: variant}, channel, stat)
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
