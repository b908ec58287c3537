package outreach

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// OpenHandoff is a lead waiting for its rep's follow-up, as a rep's
// work list shows it.
type OpenHandoff struct {
	ContactID string    `json:"contact_id"`
	Name      string    `json:"name"`
	Rep       string    `json:"rep"`
	OpenedAt  time.Time `json:"opened_at"`
	// DueAt is when the rep gets reminded (opened + the SLA).
	DueAt   time.Time `json:"due_at"`
	Overdue bool      `json:"overdue"`
}

// HandoffQuery narrows ListOpen.
type HandoffQuery struct {
	// Rep limits the list to one rep's hand-offs; "" lists everyone's.
	Rep string
	// Overdue keeps only hand-offs past their SLA at Now.
	Overdue bool
	Now     time.Time
	// Limit caps the answer (default and most 500).
	Limit int
}

// ErrHandoffsOff means hand-offs are not tracked: no follow-up policy is
// set (wecom.handoff_reps and the notifier are not configured).
var ErrHandoffsOff = errors.New("hand-offs are not tracked on this gateway")

// ListOpen lists open hand-offs oldest first, so the lead waiting longest
// is on top. It costs one range read and one pipelined read of the
// hand-offs it returns; entries whose record expired are dropped from the
// index on the way.
func (n *RepNotifier) ListOpen(ctx context.Context, q HandoffQuery) ([]OpenHandoff, error) {
	if n == nil || n.policy == nil {
		return nil, ErrHandoffsOff
	}
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 500
	}
	key := openHandoffsKey
	if q.Rep != "" {
		key = repOpenKey(q.Rep)
	}
	maxScore := "+inf"
	if q.Overdue {
		maxScore = strconv.FormatInt(q.Now.Add(-n.policy.SLA).UnixMilli(), 10)
	}
	ids, err := n.rdb.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: "-inf", Max: maxScore, Count: int64(q.Limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("outreach: list hand-offs: %w", err)
	}
	if len(ids) == 0 {
		return []OpenHandoff{}, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = n.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, handoffKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outreach: read hand-offs: %w", err)
	}
	out := make([]OpenHandoff, 0, len(ids))
	var stale []any
	for i, id := range ids {
		h := cmds[i].Val()
		if h["status"] != "open" || (q.Rep != "" && h["rep"] != q.Rep) {
			stale = append(stale, id)
			continue
		}
		ms, _ := strconv.ParseInt(h["opened"], 10, 64)
		opened := time.UnixMilli(ms).UTC()
		due := opened.Add(n.policy.SLA)
		out = append(out, OpenHandoff{ContactID: id, Name: h["name"], Rep: h["rep"], OpenedAt: opened, DueAt: due, Overdue: !q.Now.Before(due)})
	}
	if len(stale) > 0 {
		if err := n.rdb.ZRem(ctx, key, stale...).Err(); err != nil {
			return nil, fmt.Errorf("outreach: tidy the hand-off index: %w", err)
		}
	}
	return out, nil
}
