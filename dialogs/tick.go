package dialogs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxTickBatches bounds one Tick call, so a backlog is worked off over
// several calls instead of one that never returns.
const maxTickBatches = 20

// Tick advances every session whose deadline is at or before now: an ask
// or wait times out into its on_timeout branch, an idle session ends.
// Replies produced go out through Actions.Send on the session's channel.
// The integration calls it from a periodic task; several workers may call
// it at once. It returns how many sessions moved, and the errors of those
// that failed (they are ended, or retried on the next call when Redis
// failed).
func (e *Engine) Tick(ctx context.Context, now time.Time) (int, error) {
	moved := 0
	var errs []error
	for range maxTickBatches {
		due, err := e.rdb.ZRangeByScoreWithScores(ctx, dueKey, &redis.ZRangeBy{
			Min: "-inf", Max: strconv.FormatInt(ms(now), 10), Count: int64(e.opt.TickBatch),
		}).Result()
		if err != nil {
			return moved, errors.Join(append(errs, fmt.Errorf("dialogs: read due sessions: %w", err))...)
		}
		progress := false
		for _, z := range due {
			id, _ := z.Member.(string)
			ok, changed, err := e.tickOne(ctx, id, int64(z.Score), now)
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				moved++
			}
			progress = progress || changed
		}
		if len(due) < e.opt.TickBatch || !progress {
			break
		}
	}
	return moved, errors.Join(errs...)
}

// tickOne handles one due entry. moved: a session advanced; changed: the
// entry left the due range (so the next batch reads new ones).
func (e *Engine) tickOne(ctx context.Context, contactID string, score int64, now time.Time) (moved, changed bool, err error) {
	if checkContactID(contactID) != nil {
		return false, true, e.rdb.ZRem(ctx, dueKey, contactID).Err()
	}
	ld, err := e.lock(ctx, contactID, lockIfSession, false)
	if errors.Is(err, ErrBusy) {
		return false, false, nil // a step is running; the next tick sees its result
	}
	if err != nil {
		return false, false, err
	}
	if !ld.locked {
		// No session (ended or handed off): drop the stale entry.
		return false, true, e.dueLua.Run(ctx, e.rdb, []string{dueKey}, contactID, score, "").Err()
	}
	t := e.newTurn(ctx, contactID, "", now, nil)
	t.deliver = true
	t.resume(ld.rawSess)
	if t.sess != nil && t.sess.Deadline > ms(now) {
		// Early entry: move it to the session's real deadline.
		if err := e.release(ctx, contactID, ld.token); err != nil {
			return false, false, err
		}
		return false, true, e.dueLua.Run(ctx, e.rdb, []string{dueKey}, contactID, score, t.sess.Deadline).Err()
	}
	if t.sess != nil {
		t.timeout()
		moved = true
	}
	t.oldDeadline = score // the entry finish moves or drops
	_, err = t.finish(ld)
	return moved, true, err
}
