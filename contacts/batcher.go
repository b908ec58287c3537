package contacts

import (
	"context"
	"runtime"
	"sync"

	"github.com/redis/go-redis/v9"
)

// scriptBatcher lets concurrent callers of one script share round trips.
// Under callback load most of what a change costs, in the gateway and in
// Redis alike, is the write and read of its one script call; calls that
// queue up while a pipeline is in flight go out together in the next one,
// so one write and one read carry many of them.
//
// Nobody waits for a batch to fill: a caller that finds a lane free sends
// at once whatever is queued, its own call included. Callers that find
// every lane busy wait; the first to get a lane when one frees up sends
// everything queued by then. There are no goroutines to start or stop.
//
// Each call is still its own atomic script run; a pipeline only shares the
// trip. A call that finds the script missing from Redis (NOSCRIPT, after a
// restart or SCRIPT FLUSH) is run again alone, with the script's own
// fallback; the others in its pipeline ran once and are not repeated.
type scriptBatcher struct {
	rdb    redis.UniversalClient
	script *redis.Script
	lanes  chan struct{} // a token per pipeline in flight
	max    int           // calls per pipeline at most

	mu    sync.Mutex
	queue []*batchedCall
}

type batchedCall struct {
	keys  []string
	args  []any
	taken bool // in a pipeline already (guarded by the batcher's mu)
	cmd   *redis.Cmd
	done  chan struct{}
}

func newScriptBatcher(rdb redis.UniversalClient, script *redis.Script, lanes, max int) *scriptBatcher {
	return &scriptBatcher{rdb: rdb, script: script, lanes: make(chan struct{}, lanes), max: max}
}

// run is script.Run(ctx, rdb, keys, args...) sharing its round trip with
// the calls of other goroutines. ctx bounds the wait; once the call is in
// a pipeline it runs to its end, as a sent command does.
func (b *scriptBatcher) run(ctx context.Context, keys []string, args ...any) (any, error) {
	c := &batchedCall{keys: keys, args: args, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	b.mu.Unlock()
	for {
		select {
		case <-c.done:
			return c.cmd.Result()
		case b.lanes <- struct{}{}:
			b.lead(ctx)
			<-b.lanes
			if b.isTaken(c) {
				<-c.done
				return c.cmd.Result()
			}
			// More than a pipeline's worth was queued ahead of this call:
			// it waits for a lane again, like every queued caller.
		case <-ctx.Done():
			if b.withdraw(c) {
				return nil, ctx.Err()
			}
			<-c.done
			return c.cmd.Result()
		}
	}
}

func (b *scriptBatcher) isTaken(c *batchedCall) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return c.taken
}

// withdraw takes c out of the queue if no pipeline took it yet.
func (b *scriptBatcher) withdraw(c *batchedCall) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.taken {
		return false
	}
	for i, q := range b.queue {
		if q == c {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			break
		}
	}
	return true
}

// lead sends the calls queued now, up to max of them, in one pipeline.
// The rest go with the next caller that gets a lane: every caller whose
// call is still queued is waiting for one.
func (b *scriptBatcher) lead(ctx context.Context) {
	b.mu.Lock()
	n := min(len(b.queue), b.max)
	batch := make([]*batchedCall, n)
	copy(batch, b.queue)
	b.queue = b.queue[n:]
	for _, c := range batch {
		c.taken = true
	}
	b.mu.Unlock()
	if n > 0 {
		// The pipeline carries other callers' calls: the leader's own
		// cancellation must not fail them.
		b.send(context.WithoutCancel(ctx), batch)
	}
}

func (b *scriptBatcher) send(ctx context.Context, batch []*batchedCall) {
	if len(batch) == 1 {
		c := batch[0]
		c.cmd = b.script.Run(ctx, b.rdb, c.keys, c.args...)
		close(c.done)
		return
	}
	_, _ = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range batch {
			c.cmd = b.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	for _, c := range batch {
		if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			c.cmd = b.script.Run(ctx, b.rdb, c.keys, c.args...)
		}
		close(c.done)
	}
}

// maxApplyBatch bounds a shared pipeline, so that one trip's wait stays short.
const maxApplyBatch = 64

// applyLanes is how many apply.lua pipelines may be in flight at once. Two
// per core measured best on 2 cores (a third made trips smaller without
// making Redis faster); a Cluster pipeline goes to its nodes in parallel
// within one lane.
func applyLanes() int { return max(2, runtime.GOMAXPROCS(0)) }
