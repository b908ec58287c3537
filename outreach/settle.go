package outreach

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// settle records an outcome the worker decided, in one round trip: one
// pipeline holding transition.lua on the record (sending → to, with
// fields) and the campaign counters for stats. The two live in different
// Cluster slots (the message's and the campaign's), so one script cannot
// hold both; the pipeline sends them together and a Cluster client splits
// it by node.
//
// The counters are added beside the move, not after it. When the move
// does not happen (a delivery receipt or a second worker settled the
// message first, or it was erased) they are taken back, unless keep says
// the outcome counts whatever the record says: a sent message went out.
// A non-nil tell is queued in the same pipeline when the observer is a
// PipelineObserver (only for outcomes that count whatever the record says)
// and reported in told (it stands even when the move fails: a sent
// message went out); otherwise the caller tells the observer.
// It reports whether the record moved.
func (p *Pipeline) settle(ctx context.Context, m *Message, to Status, channel string, stats []string, keep bool, tell *MessageEvent,
	fields ...string) (moved, told bool, err error) {
	keys := []string{messageKey(m.ID)}
	args := make([]any, 0, 4+len(fields))
	args = append(args, statusList([]Status{StatusSending}), string(to), msString(p.opt.Now()), "0")
	for _, f := range fields {
		args = append(args, f)
	}
	count := m.Campaign != "" && len(stats) > 0
	statsKey := campaignStatsKey(m.Campaign)
	pipe := p.rdb.Pipeline()
	move := p.records.transition.EvalSha(ctx, pipe, keys, args...)
	var incrs []*redis.IntCmd
	if count {
		for _, s := range stats {
			incrs = append(incrs, pipe.HIncrBy(ctx, statsKey, statField(m.Variant, channel, s), 1))
		}
		pipe.PExpire(ctx, statsKey, p.opt.MessageTTL)
	}
	var from int
	po, queue := p.opt.Observer.(PipelineObserver)
	if queue = queue && tell != nil && keep; queue {
		if tell.At.IsZero() {
			tell.At = p.opt.Now()
		}
		from = pipe.Len()
		po.QueueMessage(ctx, pipe, *tell)
	}
	cmds, _ := pipe.Exec(ctx) // each command carries its own error
	if queue {
		for _, c := range cmds[from:] {
			if c.Err() != nil {
				p.opt.Log.Warn("message outcome not reported", zap.String("message", m.ID), zap.String("stat", tell.Stat), zap.Error(c.Err()))
				break
			}
		}
	}
	if isNoScript(move.Err()) {
		move = p.records.transition.Eval(ctx, p.rdb, keys, args...)
	}
	moved, _, err = moveResult(move, m.ID, to)
	for i, c := range incrs {
		switch {
		case c.Err() != nil:
			p.opt.Log.Warn("campaign statistic not counted", zap.String("message", m.ID), zap.String("stat", stats[i]), zap.Error(c.Err()))
		case err != nil || !moved && !keep:
			if err := p.rdb.HIncrBy(ctx, statsKey, statField(m.Variant, channel, stats[i]), -1).Err(); err != nil {
				p.opt.Log.Warn("campaign statistic not taken back", zap.String("message", m.ID), zap.String("stat", stats[i]), zap.Error(err))
			}
		}
	}
	return moved, queue, err
}

// moveResult reads transition.lua's answer.
func moveResult(cmd *redis.Cmd, id string, to Status) (bool, Status, error) {
	v, err := cmd.Slice()
	if err != nil {
		return false, "", fmt.Errorf("outreach: move message %s to %s: %w", id, to, err)
	}
	if len(v) != 2 {
		return false, "", errors.New("outreach: transition.lua answered an unexpected shape")
	}
	moved, _ := v[0].(int64)
	cur, _ := v[1].(string)
	return moved == 1, Status(cur), nil
}
