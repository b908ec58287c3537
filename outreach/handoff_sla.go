package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/contacts"
)

// Hand-off follow-up: a lead handed to a rep stays open until the rep says
// it was followed up. After one SLA period the rep is reminded, after two
// the team lead is told. Both are asynq tasks, so they survive restarts.

const taskHandoffSLA = "handoff:sla"

func handoffKey(contactID string) string { return "{handoff}:c:" + contactID }

func repLatestKey(rep string) string { return "{handoff}:rep:" + rep }

// openHandoffsKey is a sorted set of every open hand-off: contact id ->
// opened (unix ms), so the console lists them oldest first and finds the
// overdue ones with one range read.
const openHandoffsKey = "{handoff}:open"

// repOpenKey is openHandoffsKey for one rep's hand-offs.
func repOpenKey(rep string) string { return "{handoff}:open:" + rep }

// HandoffPolicy is the follow-up rule.
type HandoffPolicy struct {
	SLA  time.Duration // default 24h
	Lead string        // WeCom userid of the team lead; "" skips the escalation
}

type slaPayload struct {
	Contact string `json:"contact"`
	Rep     string `json:"rep"`
	Opened  int64  `json:"opened"`
	Step    string `json:"step"` // remind, then escalate
}

// HandoffObserver hears hand-offs open, get followed up and breach the
// SLA, so reports count them per rep as they happen. Its failures are
// logged and never undo the hand-off.
type HandoffObserver interface {
	HandoffOpened(ctx context.Context, rep, contactID string, at time.Time) error
	HandoffFollowedUp(ctx context.Context, rep, contactID string, opened, at time.Time) error
	HandoffBreached(ctx context.Context, rep, contactID string, at time.Time) error
}

// SetObserver sets who hears about hand-offs; nil tells no one.
func (n *RepNotifier) SetObserver(o HandoffObserver) {
	if n != nil {
		n.observer = o
	}
}

// observed logs an observer's failure.
func (n *RepNotifier) observed(err error, what, contactID string) {
	if err != nil {
		n.tasks.log.Warn("hand-off not reported", zap.String("what", what), zap.String("contact", contactID), zap.Error(err))
	}
}

// SetPolicy sets the follow-up rule; without it hand-offs are never chased.
func (n *RepNotifier) SetPolicy(p HandoffPolicy) {
	if p.SLA <= 0 {
		p.SLA = 24 * time.Hour
	}
	n.policy = &p
}

// Opened records a hand-off to rep and schedules its follow-up checks.
func (n *RepNotifier) Opened(ctx context.Context, c *contacts.Contact, rep string, now time.Time) error {
	if n == nil || n.policy == nil || rep == "" {
		return nil
	}
	name := c.Name
	if name == "" {
		name = c.ID
	}
	opened := now.UnixMilli()
	prev, err := n.rdb.HGet(ctx, handoffKey(c.ID), "rep").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("outreach: record the hand-off: %w", err)
	}
	_, err = n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, handoffKey(c.ID), "rep", rep, "name", name, "opened", opened, "status", "open")
		p.Expire(ctx, handoffKey(c.ID), 30*24*time.Hour)
		if prev != "" && prev != rep {
			p.ZRem(ctx, repOpenKey(prev), c.ID)
		}
		p.ZAdd(ctx, openHandoffsKey, redis.Z{Score: float64(opened), Member: c.ID})
		p.ZAdd(ctx, repOpenKey(rep), redis.Z{Score: float64(opened), Member: c.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("outreach: record the hand-off: %w", err)
	}
	if err := n.rdb.Set(ctx, repLatestKey(rep), c.ID, 30*24*time.Hour).Err(); err != nil {
		return fmt.Errorf("outreach: record the hand-off: %w", err)
	}
	if n.observer != nil {
		n.observed(n.observer.HandoffOpened(ctx, rep, c.ID, now), "opened", c.ID)
	}
	body, _ := json.Marshal(slaPayload{Contact: c.ID, Rep: rep, Opened: opened, Step: "remind"})
	_, err = n.tasks.queue.EnqueueContext(ctx, asynq.NewTask(taskHandoffSLA, body), asynq.ProcessIn(n.policy.SLA),
		asynq.TaskID(fmt.Sprintf("sla-%s-%d-remind", c.ID, opened)), asynq.MaxRetry(10))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("outreach: schedule the hand-off check: %w", err)
	}
	return nil
}

// ErrNoOpenHandoff means there is nothing to mark followed up.
var ErrNoOpenHandoff = errors.New("no open hand-off")

// FollowedUp closes the contact's hand-off; the checks then do nothing.
func (n *RepNotifier) FollowedUp(ctx context.Context, contactID string, now time.Time) error {
	if n == nil {
		return ErrNoOpenHandoff
	}
	h, err := n.rdb.HMGet(ctx, handoffKey(contactID), "status", "rep", "opened").Result()
	if err != nil {
		return err
	}
	if status, _ := h[0].(string); status != "open" {
		return fmt.Errorf("%w for contact %s", ErrNoOpenHandoff, contactID)
	}
	rep, _ := h[1].(string)
	_, err = n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, handoffKey(contactID), "status", "followed_up", "followed_up", now.UnixMilli())
		p.ZRem(ctx, openHandoffsKey, contactID)
		p.ZRem(ctx, repOpenKey(rep), contactID)
		return nil
	})
	if err != nil {
		return err
	}
	if n.observer != nil {
		opened, _ := h[2].(string)
		n.observed(n.observer.HandoffFollowedUp(ctx, rep, contactID, msTime(opened), now), "followed up", contactID)
	}
	return nil
}

// LatestOpen is the contact a rep was last handed, for a "已跟进" reply in
// the WeCom app that names no one.
func (n *RepNotifier) LatestOpen(ctx context.Context, rep string) (string, error) {
	if n == nil {
		return "", ErrNoOpenHandoff
	}
	id, err := n.rdb.Get(ctx, repLatestKey(rep)).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("%w for rep %s", ErrNoOpenHandoff, rep)
	}
	return id, err
}

func (n *RepNotifier) handleSLA(ctx context.Context, t *asynq.Task) error {
	var p slaPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("outreach: bad hand-off check: %w", asynq.SkipRetry)
	}
	h, err := n.rdb.HGetAll(ctx, handoffKey(p.Contact)).Result()
	if err != nil {
		return err
	}
	if h["status"] != "open" || h["opened"] != strconv.FormatInt(p.Opened, 10) {
		return nil // followed up, or a newer hand-off took its place
	}
	switch p.Step {
	case "remind":
		// Counted once per hand-off, though asynq may run this step again.
		if first, err := n.rdb.HSetNX(ctx, handoffKey(p.Contact), "breached", 1).Result(); err != nil {
			return err
		} else if first && n.observer != nil {
			n.observed(n.observer.HandoffBreached(ctx, p.Rep, p.Contact, time.UnixMilli(p.Opened).Add(n.policy.SLA)), "breached", p.Contact)
		}
		if err := n.card(ctx, p.Rep, "跟进提醒："+h["name"], "这条线索交给您已超过 "+n.policy.SLA.String()+"，还没有标记已跟进。跟进后在应用里回复「已跟进」。", p.Contact); err != nil {
			return err
		}
		if n.policy.Lead == "" {
			return nil
		}
		p.Step = "escalate"
		body, _ := json.Marshal(p)
		_, err := n.tasks.queue.EnqueueContext(ctx, asynq.NewTask(taskHandoffSLA, body), asynq.ProcessIn(n.policy.SLA),
			asynq.TaskID(fmt.Sprintf("sla-%s-%d-escalate", p.Contact, p.Opened)), asynq.MaxRetry(10))
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			return nil
		}
		return err
	case "escalate":
		return n.card(ctx, n.policy.Lead, "线索超时未跟进："+h["name"], "负责人 "+p.Rep+" 已超过 "+(2*n.policy.SLA).String()+" 未跟进这条线索，请协调。", p.Contact)
	}
	return nil
}

// card queues a textcard to a member about a contact.
func (n *RepNotifier) card(ctx context.Context, to, title, text, contactID string) error {
	n.tasks.log.Info("hand-off follow-up", zap.String("to", to), zap.String("contact", contactID), zap.String("title", title))
	return n.tasks.enqueue(ctx, taskNotifyRep, QueueCritical, repNotice{Rep: to, Title: title, Description: text,
		URL: n.baseURL + "/console/#/contacts/" + contactID})
}
