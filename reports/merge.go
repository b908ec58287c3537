package reports

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

//go:embed scripts/merge.lua
var mergeLua string

var mergeScript = redis.NewScript(mergeLua)

// ContactsMerged moves what the reports remember of contact absorbed into
// the survivor's state (see scripts/merge.lua) and forgets the absorbed
// id's. The contacts store calls it after each merge (and again when a
// merge is retried); a failure is logged, and leaves the absorbed id's
// state where it was (an erasure still finds it).
func (r *Reports) ContactsMerged(ctx context.Context, survivor, absorbed string) {
	if err := r.mergeState(ctx, survivor, absorbed); err != nil {
		r.opt.Log.Warn("report state of a merged contact not moved", zap.String("survivor", survivor),
			zap.String("absorbed", absorbed), zap.Error(err))
	}
}

func (r *Reports) mergeState(ctx context.Context, survivor, absorbed string) error {
	from := contactStateKey(absorbed)
	// The absorbed state is deleted only if nothing wrote to it since it
	// was read (WATCH): a send recorded under the old id meanwhile is merged
	// on the next attempt, not lost. The merge rules make a repeat harmless.
	for attempt := 0; attempt < 3; attempt++ {
		err := r.rdb.Watch(ctx, func(tx *redis.Tx) error {
			theirs, err := tx.HGetAll(ctx, from).Result()
			if err != nil || len(theirs) == 0 {
				return err
			}
			args := make([]any, 0, 2*len(theirs))
			for f, v := range theirs {
				args = append(args, f, v)
			}
			// The survivor's state is in another slot, so outside the
			// transaction.
			if err := mergeScript.Run(ctx, r.rdb, []string{contactStateKey(survivor)}, args...).Err(); err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, from)
				return nil
			})
			return err
		}, from)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return fmt.Errorf("reports: merge the state of %s into %s: %w", absorbed, survivor, err)
			}
			return nil
		}
	}
	return fmt.Errorf("reports: the state of %s kept changing while it was merged into %s", absorbed, survivor)
}
