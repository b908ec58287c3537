package outreach

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// index records a new campaign in the list. A crash between storing the
// record and this leaves a campaign that Get finds and List does not; the
// record is never lost.
func (cs *Campaigns) index(ctx context.Context, id string, created time.Time) error {
	if err := cs.rdb.ZAdd(ctx, campaignsIndexKey, redis.Z{Score: float64(created.UnixMilli()), Member: id}).Err(); err != nil {
		return fmt.Errorf("outreach: list campaign %s: %w", id, err)
	}
	return nil
}

// List returns the newest campaigns first, at most limit (default and
// most 200), with their progress but without statistics (GET one campaign
// for those): one range read and one pipelined read of the records.
// Campaigns whose record expired are dropped from the list on the way.
func (cs *Campaigns) List(ctx context.Context, limit int) ([]*Campaign, error) {
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	ids, err := cs.rdb.ZRevRange(ctx, campaignsIndexKey, 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("outreach: list campaigns: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	if len(ids) > 0 {
		_, err = cs.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.HGetAll(ctx, campaignKey(id))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("outreach: read campaigns: %w", err)
		}
	}
	out := make([]*Campaign, 0, len(ids))
	var gone []any
	for i, id := range ids {
		h := cmds[i].Val()
		if len(h) == 0 {
			gone = append(gone, id)
			continue
		}
		c, err := campaignFromHash(id, h)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(gone) > 0 {
		if err := cs.rdb.ZRem(ctx, campaignsIndexKey, gone...).Err(); err != nil {
			return nil, fmt.Errorf("outreach: tidy the campaign list: %w", err)
		}
	}
	return out, nil
}
