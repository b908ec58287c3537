package outreach

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
)

//go:embed scripts/campaign_react.lua
var campaignReactLua string

// CountReaction counts an open, click or unsubscribe of a campaign message
// once per message, under the message's variant and channel. Tracking
// links carry the campaign and message id; a message that has expired is
// counted under no variant rather than lost. It reports whether this was
// the first such reaction to the message.
func (p *Pipeline) CountReaction(ctx context.Context, campaign, messageID, stat string) (bool, error) {
	switch stat {
	case StatOpened, StatClicked, StatUnsubscribed, StatReplied, StatRedeemed:
	default:
		return false, fmt.Errorf("%w: %q is not a reaction statistic", ErrInvalid, stat)
	}
	if campaign == "" || messageID == "" {
		return false, fmt.Errorf("%w: a reaction needs the campaign and the message id", ErrInvalid)
	}
	variant, channel := "", noChannel
	m, err := p.records.get(ctx, messageID)
	switch {
	case err == nil:
		variant, channel = m.Variant, string(m.Channel)
	case !errors.Is(err, ErrNotFound):
		return false, err
	}
	n, err := p.react.Run(ctx, p.rdb, []string{campaignSeenKey(campaign), campaignStatsKey(campaign)},
		stat+"|"+messageID, statField(variant, channel, stat), p.opt.MessageTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("outreach: count %s of message %s: %w", stat, messageID, err)
	}
	return n == 1, nil
}
