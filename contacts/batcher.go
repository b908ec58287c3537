package contacts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

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
// trip. go-redis may not send a call again by itself: after a lost reply
// the script may have run, and a second run would apply the change twice
// (or report a first delivery as a duplicate), so the caller gets the
// error instead. Only a call whose reply proves it never ran (NOSCRIPT
// after a restart or SCRIPT FLUSH, TRYAGAIN while a Cluster slot moves,
// LOADING, ...) is sent again, alone of its pipeline.
type scriptBatcher struct {
	rdb    redis.UniversalClient
	script *redis.Script
	src    string        // the script's source, for EVAL when Redis lacks it
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

func newScriptBatcher(rdb redis.UniversalClient, src string, lanes, max int) *scriptBatcher {
	return &scriptBatcher{rdb: rdb, script: redis.NewScript(src), src: src, lanes: make(chan struct{}, lanes), max: max}
}

// run is script.Run(ctx, rdb, keys, args...) sharing its round trip with
// the calls of other goroutines. ctx bounds the wait; once the call is in
// a pipeline it runs to its end, as a sent command does.
func (b *scriptBatcher) run(ctx context.Context, keys []string, args ...any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &batchedCall{keys: keys, args: args, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	b.mu.Unlock()
	for {
		// A finished call returns before it could take a lane (select
		// picks at random among ready cases).
		select {
		case <-c.done:
			return c.cmd.Result()
		default:
		}
		select {
		case <-c.done:
			return c.cmd.Result()
		case b.lanes <- struct{}{}:
			func() {
				defer func() { <-b.lanes }()
				b.lead(ctx)
			}()
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

// maxReruns bounds how often a call whose reply proves it never ran is
// sent again before its caller gets that reply as the error.
const maxReruns = 3

// send runs batch in one pipeline and closes each call's done, also when
// something panics on the way (the callers must not wait for ever).
func (b *scriptBatcher) send(ctx context.Context, batch []*batchedCall) {
	open := batch // the calls whose done is not closed yet
	defer func() {
		if r := recover(); r != nil {
			for _, c := range open {
				c.cmd = redis.NewCmd(ctx)
				c.cmd.SetErr(fmt.Errorf("contacts: the pipeline carrying this call panicked: %v", r))
				close(c.done)
			}
			panic(r)
		}
	}()
	for attempt := 0; len(open) > 0; attempt++ {
		b.exec(ctx, open, attempt > 0)
		var again []*batchedCall
		for _, c := range open {
			if attempt < maxReruns && neverRan(c.cmd.Err()) {
				again = append(again, c)
			} else {
				close(c.done)
			}
		}
		open = again
		if len(again) > 0 && !allNoScript(again) {
			time.Sleep(time.Duration(10<<attempt) * time.Millisecond)
		}
	}
}

// exec sends the calls as one pipeline of EVALSHA (of EVAL when eval is
// set: the script may be missing) that go-redis does not re-send. A lone
// call goes as a plain command: the same one trip, less bookkeeping.
func (b *scriptBatcher) exec(ctx context.Context, calls []*batchedCall, eval bool) {
	name, payload := "evalsha", b.script.Hash()
	if eval {
		name, payload = "eval", b.src
	}
	for _, c := range calls {
		args := make([]any, 3, 3+len(c.keys)+len(c.args))
		args[0], args[1], args[2] = name, payload, len(c.keys)
		for _, k := range c.keys {
			args = append(args, k)
		}
		args = append(args, c.args...)
		c.cmd = redis.NewCmd(ctx, args...)
		c.cmd.SetFirstKeyPos(3)
	}
	if len(calls) == 1 {
		_ = b.rdb.Process(ctx, onceCmd{calls[0].cmd})
		return
	}
	_, _ = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range calls {
			_ = p.Process(ctx, onceCmd{c.cmd})
		}
		return nil
	})
}

// onceCmd is a command go-redis must not send again by itself (see
// scriptBatcher): its reply, not a retry, says what happened.
type onceCmd struct{ *redis.Cmd }

func (onceCmd) NoRetry() bool { return true }

// neverRan reports whether err shows the call never reached the script:
// a Redis reply given before it could run, or a failure to get a
// connection at all. Sending it again cannot apply it twice.
func neverRan(err error) bool {
	if err == nil {
		return false
	}
	for _, prefix := range []string{"NOSCRIPT", "TRYAGAIN", "LOADING", "CLUSTERDOWN", "MASTERDOWN", "READONLY",
		"BUSY", "NOREPLICAS", "MOVED", "ASK"} {
		if redis.HasErrorPrefix(err, prefix) {
			return true
		}
	}
	var op *net.OpError
	return errors.Is(err, redis.ErrPoolTimeout) || errors.As(err, &op) && op.Op == "dial"
}

func allNoScript(calls []*batchedCall) bool {
	for _, c := range calls {
		if !redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			return false
		}
	}
	return true
}

// maxApplyBatch bounds a shared pipeline, so that one trip's wait stays short.
const maxApplyBatch = 64

// applyLanes is how many apply.lua pipelines may be in flight at once. Two
// per core measured best on 2 cores (a third made trips smaller without
// making Redis faster); a Cluster pipeline goes to its nodes in parallel
// within one lane.
func applyLanes() int { return max(2, runtime.GOMAXPROCS(0)) }
