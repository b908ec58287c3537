package outreach

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

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
//
// A batch due now on a fixed SMS or email channel has its caps decided
// here, for the whole batch in one round trip (see reserveAtDispatch):
// a capped message is recorded capped and gets no task, a reserved one
// carries its place to the worker. The caps are reserved before the
// records are written, so a crash in between leaves places whose records
// a re-run creates under the same message ids (a reservation is
// idempotent by message id); the existing record always wins.
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
	if p.capsAtDispatch(b, sendAt, now) {
		p.reserveAtDispatch(ctx, b, msgs, now)
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
	o := batchOutcomes{counts: map[string]int64{}} // statistic field → new messages
	defer func() { p.count(ctx, b.Campaign, o) }()
	for i, m := range msgs {
		n, err := cmds[i].Int()
		if err != nil {
			return created, fmt.Errorf("outreach: store message %s: %w", m.ID, err)
		}
		if n == 1 {
			created++
			o.counts[statField(m.Variant, string(b.Channel), StatQueued)]++
			if m.Status == StatusCapped {
				for _, s := range []string{string(StatusCapped), string(StatusCapped) + ":" + m.Reason} {
					o.counts[statField(m.Variant, "", s)]++
					o.capped = append(o.capped, MessageEvent{MessageID: m.ID, ContactID: m.ContactID, Campaign: m.Campaign, Variant: m.Variant, Stat: s, At: now})
				}
			}
		} else {
			if msgs[i], err = p.records.get(ctx, m.ID); err != nil {
				return created, err
			}
			p.keepStored(ctx, m, msgs[i])
		}
		if err := p.enqueue(ctx, msgs[i]); err != nil { // a capped record is terminal: no task
			return created, err
		}
	}
	return created, nil
}

// keepStored gives back a place reserved at dispatch for a message whose
// record already existed (a re-run of the batch) and holds none: it was
// capped, cancelled or suppressed. Any other record keeps the place: it is
// the same place (reserving is idempotent by message id) that its worker
// reserved or will reserve.
func (p *Pipeline) keepStored(ctx context.Context, fresh, stored *Message) {
	if len(fresh.CapKeys) == 0 || len(stored.CapKeys) > 0 {
		return
	}
	switch stored.Status {
	case StatusCapped, StatusCancelled, StatusSuppressed:
		p.release(ctx, fresh.heldReservation(), nil)
	}
}
