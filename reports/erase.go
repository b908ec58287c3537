package reports

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// EraseContact forgets what the reports keep about a person: the state of
// each id it had and the reaction marks of its messages (their ids carry
// the contact id). Counters are sums over many contacts and stay; they
// name no one. Safe to repeat.
func (r *Reports) EraseContact(ctx context.Context, ids []string) (int, error) {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, contactStateKey(id))
	}
	marks, err := r.reactionMarksOf(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("reports: erase: %w", err)
	}
	n := 0
	// One DEL per key: the keys live in different slots.
	for _, k := range append(keys, marks...) {
		d, err := r.rdb.Del(ctx, k).Result()
		if err != nil {
			return n, fmt.Errorf("reports: erase %s: %w", k, err)
		}
		n += int(d)
	}
	return n, nil
}

// reactionMarksOf walks the reaction marks (kept reactionTTL) for message
// ids that name one of ids, on every master.
func (r *Reports) reactionMarksOf(ctx context.Context, ids []string) ([]string, error) {
	cc, ok := r.rdb.(*redis.ClusterClient)
	if !ok {
		return marksOn(ctx, r.rdb, ids)
	}
	var (
		mu  sync.Mutex
		out []string
	)
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		mine, err := marksOn(ctx, c, ids)
		mu.Lock()
		out = append(out, mine...)
		mu.Unlock()
		return err
	})
	return out, err
}

func marksOn(ctx context.Context, c redis.UniversalClient, ids []string) ([]string, error) {
	var out []string
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, reactionSeenKey("*"), 1000).Result()
		if err != nil {
			return out, err
		}
		for _, k := range keys {
			if slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(k, id) }) {
				out = append(out, k)
			}
		}
		if cursor = next; cursor == 0 {
			return out, nil
		}
	}
}
