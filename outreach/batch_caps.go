package outreach

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
)

// manyContacts is the contact store's batch read (contacts.Store has it);
// without it the contacts of a batch are read one by one.
type manyContacts interface {
	GetMany(ctx context.Context, ids []string) ([]*contacts.Contact, []error)
}

func (p *Pipeline) contactsOf(ctx context.Context, ids []string) ([]*contacts.Contact, []error) {
	if m, ok := p.contacts.(manyContacts); ok {
		return m.GetMany(ctx, ids)
	}
	out, errs := make([]*contacts.Contact, len(ids)), make([]error, len(ids))
	for i, id := range ids {
		out[i], errs[i] = p.contacts.Get(ctx, id)
	}
	return out, errs
}

// capsAtDispatch reports whether a batch's caps can be decided when it is
// dispatched rather than by each worker: the channel is fixed and one
// whose outbound kind does not depend on the contact (SMS, email; WeCom's
// kind follows the contact's 客服 session and the official account's
// service window the rendered body), it is configured, and the batch is
// due now.
func (p *Pipeline) capsAtDispatch(b Batch, sendAt, now time.Time) bool {
	return p.opt.Caps != nil && (b.Channel == channels.SMS || b.Channel == channels.Email) &&
		p.senders[b.Channel] != nil && !sendAt.After(now)
}

// reserveAtDispatch decides the caps of a batch's messages in one round
// trip (ReserveMany) instead of one per message in the workers, which is
// what makes a capped campaign message cost no task at all. Only messages
// the worker would get as far as the caps are decided here: the contact is
// readable, reachable and consents on the channel, and quiet hours do not
// hold it now; the rest keep the worker's path, unchanged. A reserved
// message gets CapKeys (its record keeps the place and the worker sends
// under it); a refused one becomes capped, as the worker would record it.
// A Redis error leaves the message to the worker, whose Reserve is
// idempotent by message id, so a place the script did take is not counted
// twice.
func (p *Pipeline) reserveAtDispatch(ctx context.Context, b Batch, msgs []*Message, now time.Time) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ContactID
	}
	cs, errs := p.contactsOf(ctx, ids)
	reqs := make([]CapRequest, 0, len(msgs))
	at := make([]int, 0, len(msgs))
	for i, m := range msgs {
		c := cs[i]
		if errs[i] != nil || c == nil {
			continue
		}
		if _, why := recipient(c, b.Channel); why != "" {
			continue
		}
		if ok, _ := consentAllows(c, b.Channel, b.Purpose); !ok {
			continue
		}
		if b.Purpose == channels.Marketing && !p.opt.Quiet.Until(now, string(b.Channel), c.TZ).IsZero() {
			continue
		}
		reqs = append(reqs, CapRequest{ContactID: c.ID, MessageID: m.ID, Channel: string(b.Channel), Kind: outboundKind(b.Channel, wecomRoute{}),
			Purpose: string(b.Purpose), Campaign: b.Campaign, Tags: c.Tags})
		at = append(at, i)
	}
	if len(reqs) == 0 {
		return
	}
	res, rerrs := p.opt.Caps.ReserveMany(ctx, reqs)
	for j, i := range at {
		m := msgs[i]
		var capped *CappedError
		switch {
		case errors.As(rerrs[j], &capped):
			m.Status, m.Reason = StatusCapped, capped.Rule
			m.Error = joinReasons([]string{string(b.Channel) + ": capped by " + capped.Rule})
		case rerrs[j] != nil:
			p.opt.Log.Warn("cap not decided at dispatch; the worker decides", zap.String("message", m.ID), zap.Error(rerrs[j]))
		case len(res[j].Keys) > 0 && !slicesHaveSpace(res[j].Keys):
			m.CapKeys = res[j].Keys
		}
	}
}

func slicesHaveSpace(keys []string) bool {
	for _, k := range keys {
		if strings.ContainsAny(k, " \t\r\n") {
			return true
		}
	}
	return false
}

// heldReservation is the place a record holds from its dispatch.
func (m *Message) heldReservation() Reservation {
	return Reservation{Keys: m.CapKeys, MessageID: m.ID}
}

// dropHeld appends the field change that forgets a dispatch-time
// reservation to a record move's fields, once the place was given back.
func (m *Message) dropHeld(fields ...string) []string {
	if len(m.CapKeys) == 0 {
		return fields
	}
	return append(fields, "cap_keys", "")
}

// batchOutcomes is what a batch's dispatch counts: statistic field → new
// messages, and the messages capped at dispatch, to report.
type batchOutcomes struct {
	counts map[string]int64
	capped []MessageEvent
}

// count adds a batch's statistics (queued, and capped with capped:<rule>
// for messages refused at dispatch) to its campaign in one round trip for
// the whole batch, with the capped outcomes for the reports observer when
// it takes them in a pipeline; like every statistic, a failure is logged
// and undoes nothing.
func (p *Pipeline) count(ctx context.Context, campaign string, o batchOutcomes) {
	for range o.capped {
		p.sends.WithLabelValues("none", string(StatusCapped)).Inc()
	}
	po, queue := p.opt.Observer.(PipelineObserver)
	queue = queue && len(o.capped) > 0
	if (campaign == "" || len(o.counts) == 0) && !queue {
		for _, e := range o.capped {
			p.observe(ctx, e)
		}
		return
	}
	key := campaignStatsKey(campaign)
	_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		if campaign != "" && len(o.counts) > 0 {
			for f, n := range o.counts {
				pipe.HIncrBy(ctx, key, f, n)
			}
			pipe.PExpire(ctx, key, p.opt.MessageTTL)
		}
		if queue {
			for _, e := range o.capped {
				po.QueueMessage(ctx, pipe, e)
			}
		}
		return nil
	})
	if err != nil {
		p.opt.Log.Warn("campaign statistic not counted", zap.String("campaign", campaign), zap.String("stat", StatQueued), zap.Error(err))
	}
	if !queue {
		for _, e := range o.capped {
			p.observe(ctx, e)
		}
	}
}
