package outreach

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/contacts"
)

// DutyRep is a rep who takes leads that have no owner: only during working
// hours on working days, and at most DailyLimit a shift, so a lead never
// lands with someone who is off or already swamped.
type DutyRep struct {
	UserID string
	// Days are the working days; empty is every day.
	Days []time.Weekday
	// Start and End are minutes after local midnight; End before Start is
	// a shift across midnight (it belongs to the day it starts); equal is
	// all day.
	Start, End int
	Loc        *time.Location
	// DailyLimit bounds the leads a shift takes; 0 is no limit.
	DailyLimit int
}

// shift reports whether t falls in a shift of the rep, and the day (in the
// rep's zone) that shift started on.
func (r DutyRep) shift(t time.Time) (string, bool) {
	loc := r.Loc
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	day := lt
	switch {
	case r.Start == r.End:
	case r.Start < r.End:
		if m < r.Start || m >= r.End {
			return "", false
		}
	case m >= r.Start:
	case m < r.End:
		day = lt.AddDate(0, 0, -1) // the tail of last night's shift
	default:
		return "", false
	}
	if len(r.Days) > 0 && !slices.Contains(r.Days, day.Weekday()) {
		return "", false
	}
	return day.Format(time.DateOnly), true
}

// OnDuty reports whether the rep works at t.
func (r DutyRep) OnDuty(t time.Time) bool {
	_, ok := r.shift(t)
	return ok
}

//go:embed scripts/handoff_pick.lua
var handoffPickSrc string

var handoffPick = redis.NewScript(handoffPickSrc)

// loadTTL keeps a shift's counter past any shift's end.
const loadTTL = 48 * time.Hour

// SetDuty replaces the reps who take leads without an owner; now is the
// clock their hours are read on (nil: time.Now).
func (n *RepNotifier) SetDuty(reps []DutyRep, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	n.duty, n.now = append([]DutyRep(nil), reps...), now
}

// pickOnDuty is the next rep in turn who is on duty and below their limit
// ("" when none is).
func (n *RepNotifier) pickOnDuty(ctx context.Context) (string, error) {
	now := n.now()
	keys := make([]string, 0, 1+len(n.duty))
	args := make([]any, 0, 1+len(n.duty))
	keys = append(keys, roundRobinKey)
	for _, r := range n.duty {
		day, on := r.shift(now)
		keys = append(keys, repLoadKey(r.UserID, day))
		switch {
		case !on:
			args = append(args, "-1")
		default:
			args = append(args, strconv.Itoa(r.DailyLimit))
		}
	}
	args = append(args, strconv.FormatInt(loadTTL.Milliseconds(), 10))
	i, err := handoffPick.Run(ctx, n.rdb, keys, args...).Int()
	if err != nil {
		return "", fmt.Errorf("outreach: pick a rep: %w", err)
	}
	if i == 0 {
		return "", nil
	}
	return n.duty[i-1].UserID, nil
}

// waiting is what a queued hand-off remembers besides its place.
type waiting struct {
	Escalated bool `json:"escalated,omitempty"`
}

// wait queues contact c until a rep is on duty; queueing it again keeps its
// place and its first reason.
func (n *RepNotifier) wait(ctx context.Context, c *contacts.Contact) error {
	now := n.now()
	info, _ := json.Marshal(waiting{})
	_, err := n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAddNX(ctx, waitingKey, redis.Z{Score: float64(now.UnixMilli()), Member: c.ID})
		p.HSetNX(ctx, waitingInfoKey, c.ID, info)
		return nil
	})
	if err != nil {
		return fmt.Errorf("outreach: queue the hand-off of %s: %w", c.ID, err)
	}
	n.tasks.log.Info("hand-off waits for a rep on duty", zap.String("contact", c.ID))
	return nil
}

// Waiting lists the contacts waiting for a rep on duty, longest first.
func (n *RepNotifier) Waiting(ctx context.Context) ([]string, error) {
	if n == nil {
		return nil, nil
	}
	ids, err := n.rdb.ZRange(ctx, waitingKey, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("outreach: read the hand-off queue: %w", err)
	}
	return ids, nil
}

// DrainWaiting gives queued hand-offs, longest waiting first, to reps now on
// duty: each rep gets the card and the SLA clock starts, and the contact's
// timeline records it. A hand-off that has waited longer than the SLA with
// nobody on duty is told to the team lead once; it stays queued for the
// next rep on duty.
func (n *RepNotifier) DrainWaiting(ctx context.Context, store *contacts.Store) error {
	if n == nil || len(n.duty) == 0 {
		return nil
	}
	queued, err := n.rdb.ZRangeWithScores(ctx, waitingKey, 0, 199).Result()
	if err != nil {
		return fmt.Errorf("outreach: read the hand-off queue: %w", err)
	}
	var errs []error
	for _, z := range queued {
		id := z.Member.(string)
		rep, err := n.pickOnDuty(ctx)
		if err != nil {
			return err
		}
		if rep == "" {
			errs = append(errs, n.escalateWaiting(ctx, id, time.UnixMilli(int64(z.Score))))
			continue
		}
		errs = append(errs, n.assignWaiting(ctx, store, id, rep, int64(z.Score)))
	}
	return errors.Join(errs...)
}

func (n *RepNotifier) assignWaiting(ctx context.Context, store *contacts.Store, id, rep string, since int64) error {
	ct, err := store.Get(ctx, id)
	if errors.Is(err, contacts.ErrNotFound) {
		return n.rdb.ZRem(ctx, waitingKey, id).Err()
	}
	if err != nil {
		return err
	}
	if ident, ok := anyIdentityOf(ct); ok {
		// Once per queued hand-off: a repeat after a crash records nothing new.
		if _, err := store.Apply(ctx, contacts.Change{EventID: "handoff-assigned:" + id + ":" + strconv.FormatInt(since, 10),
			Identities: []contacts.Identity{ident}, At: n.now(),
			Timeline: &contacts.Entry{Type: "handoff", Source: "duty", Props: map[string]string{"rep": rep, "reason": "queued for a rep on duty"}}}); err != nil {
			return err
		}
	}
	if err := n.Notify(ctx, rep, ct, "排队等候的线索，现已分配给您", ""); err != nil {
		return err
	}
	if err := n.Opened(ctx, ct, rep, n.now()); err != nil {
		return err
	}
	_, err = n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, waitingKey, id)
		p.HDel(ctx, waitingInfoKey, id)
		return nil
	})
	return err
}

func (n *RepNotifier) escalateWaiting(ctx context.Context, id string, since time.Time) error {
	if n.policy == nil || n.policy.Lead == "" || n.now().Sub(since) < n.policy.SLA {
		return nil
	}
	var w waiting
	if raw, err := n.rdb.HGet(ctx, waitingInfoKey, id).Result(); err == nil {
		_ = json.Unmarshal([]byte(raw), &w)
	}
	if w.Escalated {
		return nil
	}
	if err := n.card(ctx, n.policy.Lead, "线索无人值班接手："+id, "这条线索已等待 "+n.now().Sub(since).Round(time.Minute).String()+
		"，没有在岗或未满额的销售可以接手。请安排跟进；有人上岗后它会自动分配。", id); err != nil {
		return err
	}
	w.Escalated = true
	info, _ := json.Marshal(w)
	return n.rdb.HSet(ctx, waitingInfoKey, id, info).Err()
}

// anyIdentityOf finds an identity to address a change to c by.
func anyIdentityOf(c *contacts.Contact) (contacts.Identity, bool) {
	kinds := make([]string, 0, len(c.Identities))
	for k := range c.Identities {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		if v := c.Identities[k]; len(v) > 0 {
			return contacts.Identity{Kind: k, Value: v[0]}, true
		}
	}
	return contacts.Identity{}, false
}
