package contacts

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// activityBuffer writes activity index entries behind the change that made
// them: Apply hands an entry over and returns after its one script call, and
// a timer writes everything pending in one pipeline a moment later. A new
// contact therefore costs one round trip on the callback path, not two.
//
// The crash window grows by at most one flush interval, which the sweeps
// tolerate (see activity.go: a missed entry is written again on the
// contact's next activity). Entries are kept and retried when a write
// fails, up to maxPending; beyond that the oldest state is dropped the same
// way a crash would drop it. Sweeps flush first, so this process's sweeps
// never miss its own pending entries.
type activityBuffer struct {
	rdb        redis.UniversalClient
	every      time.Duration
	decayAfter time.Duration

	mu      sync.Mutex
	pending map[string]int64 // contact id -> last activity (unix ms)
	armed   bool
	dropped int
}

// maxPending bounds the buffer while Redis does not answer.
const maxPending = 200_000

// add queues contact id's activity ms; the write follows within every.
func (b *activityBuffer) add(id string, ms int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur, ok := b.pending[id]; ok {
		b.pending[id] = max(cur, ms)
	} else if len(b.pending) < maxPending {
		b.pending[id] = ms
	} else {
		b.dropped++
	}
	if !b.armed {
		b.armed = true
		time.AfterFunc(b.every, func() { _ = b.flush(context.Background()) })
	}
}

// flush writes every pending entry (ZADD GT: an entry only moves forward).
// On failure the entries go back and the timer is armed again.
func (b *activityBuffer) flush(ctx context.Context) error {
	b.mu.Lock()
	batch := b.pending
	b.pending = make(map[string]int64, len(batch))
	b.armed = false
	b.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	_, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, ms := range batch {
			p.ZAddGT(ctx, seenIndexKey, redis.Z{Score: float64(ms), Member: id})
			p.ZAddGT(ctx, decayIndexKey, redis.Z{Score: float64(ms + b.decayAfter.Milliseconds()), Member: id})
		}
		return nil
	})
	if err != nil {
		for id, ms := range batch {
			b.add(id, ms)
		}
	}
	return err
}
