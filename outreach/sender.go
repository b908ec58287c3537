// Package outreach is the send pipeline: scheduled messages, consent,
// frequency caps, quiet hours, channel routing and fallback, retries,
// coupons and campaigns.
package outreach

import (
	"context"

	"github.com/journeygate/gateway/channels"
)

// Sender delivers rendered messages over one channel. Each channel package
// satisfies it; main hands the configured ones to the pipeline. A failed
// send returns a *channels.SendError whose kind decides retry or fallback.
type Sender interface {
	Channel() channels.Channel
	Send(ctx context.Context, m *channels.Outbound) (channels.Receipt, error)
}
