package main

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/outreach"
)

// buildLimits turns the configured caps (plus the platforms' own quotas)
// and quiet hours into the pipeline's types.
func buildLimits(c configs.Outreach, rdb redis.UniversalClient) (*outreach.Caps, *outreach.QuietHours, error) {
	rules := outreach.PlatformRules()
	for _, r := range c.Caps {
		rules = append(rules, outreach.CapRule{Name: r.Name, Purpose: r.Purpose, Channel: r.Channel, Kind: r.Kind,
			Max: r.Max, Window: r.Window, Tag: r.Tag, Campaign: r.Campaign})
	}
	caps, err := outreach.NewCaps(rdb, rules, time.Now)
	if err != nil {
		return nil, nil, fmt.Errorf("outreach.caps: %w", err)
	}
	quiet := make([]outreach.QuietRule, 0, len(c.QuietHours))
	for i, q := range c.QuietHours {
		zone, err := time.LoadLocation(q.Timezone)
		if err != nil {
			return nil, nil, fmt.Errorf("outreach.quiet_hours[%d]: %w", i, err)
		}
		quiet = append(quiet, outreach.QuietRule{Channels: q.Channels, Start: q.Start, End: q.End, Zone: zone})
	}
	qh, err := outreach.NewQuietHours(quiet)
	if err != nil {
		return nil, nil, fmt.Errorf("outreach.quiet_hours: %w", err)
	}
	return caps, qh, nil
}
