package outreach

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
)

// BatchItem is one message of a batch to a known contact.
type BatchItem struct {
	// ID is the message id: the idempotency key that makes a re-run of the
	// same batch queue nothing twice.
	ID        string
	ContactID string
	Template  string
	Variant   string
	Vars      map[string]any
}

// Batch is many messages sharing purpose, channel, schedule and campaign.
type Batch struct {
	Items    []BatchItem
	Purpose  channels.Purpose
	Channel  channels.Channel
	SendAt   time.Time // zero or past: now
	Campaign string
}

// SubmitBatch records a batch's messages in one pipelined round trip and
// schedules each. Unlike Submit it takes contact ids the caller resolved,
// writes no timeline entry and skips the render precheck: a campaign
// already knows its contacts, and consent, reachability and rendering are
// decided per message by the worker anyway. It returns how many records
// were new; existing ids are left as they are but re-enqueued, which
// repairs an enqueue lost in a crash.
func (p *Pipeline) SubmitBatch(ctx context.Context, b Batch) (created int, err error) {
	if len(b.Items) == 0 {
		return 0, nil
	}
	now := p.opt.Now()
	sendAt := b.SendAt
	if sendAt.IsZero() || sendAt.Before(now) {
		sendAt = now
	}
	msgs := make([]*Message, len(b.Items))
	for i, it := range b.Items {
		if !idPattern.MatchString(it.ID) || it.ContactID == "" || it.Template == "" {
			return 0, fmt.Errorf("%w: batch item %d (id %q) needs a valid id, a contact id and a template", ErrInvalid, i, it.ID)
		}
		msgs[i] = &Message{ID: it.ID, Status: StatusScheduled, ContactID: it.ContactID, Template: it.Template, Purpose: b.Purpose,
			ForcedChannel: b.Channel, Campaign: b.Campaign, Variant: it.Variant, Vars: it.Vars, SendAt: sendAt, CreatedAt: now, UpdatedAt: now}
	}
	if err := p.records.create.Load(ctx, p.rdb).Err(); err != nil {
		return 0, fmt.Errorf("outreach: load create script: %w", err)
	}
	cmds := make([]*redis.Cmd, len(msgs))
	_, err = p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, m := range msgs {
			args, err := p.records.createArgs(m)
			if err != nil {
				return err
			}
			cmds[i] = p.records.create.EvalSha(ctx, pipe, []string{messageKey(m.ID)}, args...)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("outreach: store batch: %w", err)
	}
	queued := map[string]int64{} // statistic field → new messages
	defer func() { p.countQueued(ctx, b.Campaign, queued) }()
	for i, m := range msgs {
		n, err := cmds[i].Int()
		if err != nil {
			return created, fmt.Errorf("outreach: store message %s: %w", m.ID, err)
		}
		if n == 1 {
			created++
			queued[statField(m.Variant, string(b.Channel), StatQueued)]++
		} else if msgs[i], err = p.records.get(ctx, m.ID); err != nil {
			return created, err
		}
		if err := p.enqueue(ctx, msgs[i]); err != nil {
			return created, err
		}
	}
	return created, nil
}

// countQueued adds a batch's new messages to its campaign's queued
// statistic in one round trip for the whole batch; like every statistic,
// a failure is logged and undoes nothing.
func (p *Pipeline) countQueued(ctx context.Context, campaign string, queued map[string]int64) {
	if campaign == "" || len(queued) == 0 {
		return
	}
	key := campaignStatsKey(campaign)
	_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for f, n := range queued {
			pipe.HIncrBy(ctx, key, f, n)
		}
		pipe.PExpire(ctx, key, p.opt.MessageTTL)
		return nil
	})
	if err != nil {
		p.opt.Log.Warn("campaign statistic not counted", zap.String("campaign", campaign), zap.String("stat", StatQueued), zap.Error(err))
	}
}
