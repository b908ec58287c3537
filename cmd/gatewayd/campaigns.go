package main

import (
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/outreach"
)

// buildCampaigns is the campaign service the workers dispatch with. When
// WeCom sending is configured, a guardrail that pauses a campaign tells its
// owner (else wecom.handoff_lead) through the rep notifier; without it the
// notice stays on the campaign and in the log.
func buildCampaigns(rdb redis.UniversalClient, p *outreach.Pipeline, src outreach.AudienceSource, n *outreach.RepNotifier, log *zap.Logger) (*outreach.Campaigns, error) {
	opt := outreach.CampaignOptions{Log: log.Named("campaigns")}
	if n != nil {
		opt.Notifier = n
	}
	return outreach.NewCampaigns(rdb, p, src, opt)
}
