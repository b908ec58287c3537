package reports

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/outreach"
)

//go:embed scripts/swap.lua
var swapLua string

var swapScript = redis.NewScript(swapLua)

// Channel statistics, as the channel report shows them.
const (
	StatSent         = "sent"
	StatDelivered    = "delivered"
	StatFailed       = "failed"
	StatOpened       = "opened"
	StatClicked      = "clicked"
	StatReplied      = "replied"
	StatUnsubscribed = "unsubscribed"
)

// Campaign statistics kept per day.
const (
	statReach     = "reach"
	statLeads     = "leads"
	statSQL       = "sql"
	statCustomers = "customers"
	statDeals     = "deals"
	statRevenue   = "revenue" // cents
)

// reactionTTL is how long a message's counted reactions are remembered:
// longer than anyone opens an old mail.
const reactionTTL = 90 * 24 * time.Hour

// ObserveMessage records a message outcome from the send pipeline (it
// satisfies outreach.MessageObserver): sent, delivered and failed per
// channel; a campaign send is reach, and each send becomes the contact's
// last message (for replies) and, for a campaign, its last campaign touch
// (for attribution). Other statistics are recorded where they happen
// (Reaction, InboundReply, Unsubscribed).
func (r *Reports) ObserveMessage(ctx context.Context, e outreach.MessageEvent) error {
	return r.RecordMessages(ctx, []outreach.MessageEvent{e})
}

// QueueMessage is ObserveMessage written into the caller's pipeline (it
// satisfies outreach.PipelineObserver): the send pipeline records a sent
// message, its campaign counters and these reports in one round trip. The
// queued commands carry their own errors.
func (r *Reports) QueueMessage(ctx context.Context, pipe redis.Pipeliner, e outreach.MessageEvent) {
	if b := r.messageBatch([]outreach.MessageEvent{e}); !b.empty() {
		r.write(ctx, pipe, b)
	}
}

// RecordMessages is ObserveMessage in bulk: one pipeline.
func (r *Reports) RecordMessages(ctx context.Context, events []outreach.MessageEvent) error {
	return r.flush(ctx, r.messageBatch(events))
}

// messageBatch is what recording the events writes.
func (r *Reports) messageBatch(events []outreach.MessageEvent) *batch {
	b := newBatch()
	for _, e := range events {
		ch := cleanLabel(e.Channel)
		if ch == "" || ch == "none" {
			continue
		}
		switch e.Stat {
		case StatSent, StatDelivered, StatFailed:
		default:
			continue
		}
		day := r.day(e.At)
		b.add(channelDayKey(day), ch+"|"+e.Stat, 1)
		if e.Stat != StatSent || e.ContactID == "" {
			continue
		}
		at := strconv.FormatInt(e.At.UnixMilli(), 10)
		state := contactStateKey(e.ContactID)
		b.set(state, "lm", e.MessageID, "lc", ch, "lt", at)
		if c := cleanLabel(e.Campaign); c != "" {
			b.set(state, "cc", c, "cm", e.MessageID, "ct", at)
			b.add(campaignDayKey(day), c+"|"+statReach, 1)
			b.member(campaignsKey(), c)
		}
	}
	return b
}

// Reaction counts an open or click of a message on its channel, once per
// message however often the pixel loads or the link is followed.
func (r *Reports) Reaction(ctx context.Context, channel, stat, messageID string, at time.Time) error {
	switch stat {
	case StatOpened, StatClicked:
	default:
		return fmt.Errorf("%w: %q is not a reaction (opened, clicked)", ErrInvalid, stat)
	}
	if messageID == "" {
		return fmt.Errorf("%w: a reaction needs the message id", ErrInvalid)
	}
	first, err := r.firstReaction(ctx, messageID, stat)
	if err != nil || !first {
		return err
	}
	b := newBatch()
	b.add(channelDayKey(r.day(at)), cleanLabel(channel)+"|"+stat, 1)
	return r.flush(ctx, b)
}

func (r *Reports) firstReaction(ctx context.Context, messageID, stat string) (bool, error) {
	var set *redis.BoolCmd
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		set = p.HSetNX(ctx, reactionSeenKey(messageID), stat, 1)
		p.Expire(ctx, reactionSeenKey(messageID), reactionTTL)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reports: remember a reaction: %w", err)
	}
	return set.Val(), nil
}

// Touch is a message that reached a contact.
type Touch struct {
	Campaign  string
	MessageID string
	At        time.Time
}

// InboundReply records that a contact wrote to us at at: if a message
// reached it within ReplyWindow before, that message's channel counts a
// reply (once per message). It returns the contact's last campaign touch
// when that is within ReplyWindow, so the caller can count the reply in the
// campaign's statistics; ok is false otherwise.
func (r *Reports) InboundReply(ctx context.Context, contactID string, at time.Time) (Touch, bool, error) {
	v, err := r.rdb.HMGet(ctx, contactStateKey(contactID), "lm", "lc", "lt", "cc", "cm", "ct").Result()
	if err != nil {
		return Touch{}, false, fmt.Errorf("reports: read the last message of %s: %w", contactID, err)
	}
	lm, lc, lt := str(v[0]), str(v[1]), msOf(str(v[2]))
	if lm != "" && r.within(lt, at, r.opt.ReplyWindow) {
		first, err := r.firstReaction(ctx, lm, StatReplied)
		if err != nil {
			return Touch{}, false, err
		}
		if first {
			b := newBatch()
			b.add(channelDayKey(r.day(at)), lc+"|"+StatReplied, 1)
			if err := r.flush(ctx, b); err != nil {
				return Touch{}, false, err
			}
		}
	}
	t := Touch{Campaign: str(v[3]), MessageID: str(v[4]), At: msOf(str(v[5]))}
	return t, t.Campaign != "" && r.within(t.At, at, r.opt.ReplyWindow), nil
}

// LastCampaign is the contact's last campaign touch when it lies within
// AttributionWindow before at: the campaign an order or redemption is
// credited to.
func (r *Reports) LastCampaign(ctx context.Context, contactID string, at time.Time) (Touch, bool, error) {
	v, err := r.rdb.HMGet(ctx, contactStateKey(contactID), "cc", "cm", "ct").Result()
	if err != nil {
		return Touch{}, false, fmt.Errorf("reports: read the last campaign of %s: %w", contactID, err)
	}
	t := Touch{Campaign: str(v[0]), MessageID: str(v[1]), At: msOf(str(v[2]))}
	return t, t.Campaign != "" && r.within(t.At, at, r.opt.AttributionWindow), nil
}

// within reports whether at lies in [t, t+window].
func (r *Reports) within(t, at time.Time, window time.Duration) bool {
	return !t.IsZero() && !at.Before(t) && at.Sub(t) <= window
}

func msOf(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// Unsubscribed counts a contact opting out of a channel (SMS TD, an email
// unsubscribe or complaint, an unfollow, a WeCom deletion), once per
// contact, channel and day however often the link is clicked.
func (r *Reports) Unsubscribed(ctx context.Context, contactID, channel string, at time.Time) error {
	ch, day := cleanLabel(channel), r.day(at)
	if ch == "" || contactID == "" {
		return fmt.Errorf("%w: an opt-out needs the contact and the channel", ErrInvalid)
	}
	n, err := swapScript.Run(ctx, r.rdb, []string{contactStateKey(contactID)}, "uo:"+ch, day).Int()
	if err != nil {
		return fmt.Errorf("reports: record an opt-out: %w", err)
	}
	if n == 0 {
		return nil
	}
	b := newBatch()
	b.add(channelDayKey(day), ch+"|"+StatUnsubscribed, 1)
	return r.flush(ctx, b)
}
