package reports

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// batch gathers counter increments and state writes, merging increments of
// the same field, so many events cost one pipeline.
type batch struct {
	incr map[string]map[string]int64 // daily key → field → delta
	sets map[string][]any            // key → field, value, ... (HSET)
	adds map[string][]any            // set key → members (SADD)
}

func newBatch() *batch {
	return &batch{incr: map[string]map[string]int64{}, sets: map[string][]any{}, adds: map[string][]any{}}
}

func (b *batch) add(key, field string, n int64) {
	m := b.incr[key]
	if m == nil {
		m = map[string]int64{}
		b.incr[key] = m
	}
	m[field] += n
}

func (b *batch) set(key string, fieldValues ...any) {
	b.sets[key] = append(b.sets[key], fieldValues...)
}

func (b *batch) member(key string, m string) { b.adds[key] = append(b.adds[key], m) }

func (b *batch) empty() bool { return len(b.incr) == 0 && len(b.sets) == 0 && len(b.adds) == 0 }

// flush writes the batch in one pipeline; daily keys get the retention.
func (r *Reports) flush(ctx context.Context, b *batch) error {
	if b.empty() {
		return nil
	}
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		r.write(ctx, p, b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("reports: write counters: %w", err)
	}
	return nil
}

// write adds the batch's commands to a pipeline.
func (r *Reports) write(ctx context.Context, p redis.Pipeliner, b *batch) {
	for key, fields := range b.incr {
		for f, n := range fields {
			if n != 0 {
				p.HIncrBy(ctx, key, f, n)
			}
		}
		p.PExpire(ctx, key, r.opt.Retention)
	}
	for key, fv := range b.sets {
		p.HSet(ctx, key, fv...)
	}
	for key, members := range b.adds {
		p.SAdd(ctx, key, members...)
	}
}
