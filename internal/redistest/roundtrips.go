package redistest

import (
	"context"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// RoundTrips counts the requests a client sends, one per command or
// pipeline, so tests can hold the hot paths to their round-trip budget.
type RoundTrips struct{ n atomic.Int64 }

// CountRoundTrips starts counting on rdb.
func CountRoundTrips(rdb redis.UniversalClient) *RoundTrips {
	r := &RoundTrips{}
	rdb.AddHook(r)
	return r
}

// N is the count so far.
func (r *RoundTrips) N() int64 { return r.n.Load() }

// Reset starts the count again.
func (r *RoundTrips) Reset() { r.n.Store(0) }

func (r *RoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *RoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *RoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}
