package reports

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

//go:embed scripts/merge.lua
var mergeLua string

var mergeScript = redis.NewScript(mergeLua)

// ContactsMerged moves what the reports remember of contact absorbed into
// the survivor's state (see scripts/merge.lua) and forgets the absorbed
// id's. The contacts store calls it after each merge; a failure is logged,
// and leaves the absorbed id's state where it was (an erasure still finds
// it).
func (r *Reports) ContactsMerged(ctx context.Context, survivor, absorbed string) {
	if err := r.mergeState(ctx, survivor, absorbed); err != nil {
		r.opt.Log.Warn("report state of a merged contact not moved", zap.String("survivor", survivor),
			zap.String("absorbed", absorbed), zap.Error(err))
	}
}

func (r *Reports) mergeState(ctx context.Context, survivor, absorbed string) error {
	theirs, err := r.rdb.HGetAll(ctx, contactStateKey(absorbed)).Result()
	if err != nil {
		return fmt.Errorf("reports: read the state of %s: %w", absorbed, err)
	}
	if len(theirs) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(theirs))
	for f, v := range theirs {
		args = append(args, f, v)
	}
	if err := mergeScript.Run(ctx, r.rdb, []string{contactStateKey(survivor)}, args...).Err(); err != nil {
		return fmt.Errorf("reports: merge the state of %s into %s: %w", absorbed, survivor, err)
	}
	// Another slot: a crash before this leaves a copy, which the merge
	// rules make harmless to apply again.
	if err := r.rdb.Del(ctx, contactStateKey(absorbed)).Err(); err != nil {
		return fmt.Errorf("reports: forget the state of %s: %w", absorbed, err)
	}
	return nil
}
