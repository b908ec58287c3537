package outreach

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

// benchWindowLua is the least a sliding-window cap can do: one rule, one
// key, no idempotency, no reason when full. It is the yardstick for what
// caps_reserve.lua costs on top.
const benchWindowLua = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`

const (
	benchMessages = 20000 // per side and round, each to its own contact
	benchBatch    = 32
	benchRounds   = 3
)

// BenchmarkCapDispatch measures cap reservation plus scheduling against a
// bare loop doing the least possible, in the same run on the same Redis:
// (a) per batch of 32, one pipeline of EVALSHAs of a one-rule window script,
// then an asynq enqueue per message; (b) ReserveMany for 32 real requests
// under the contract's two rules, then an asynq enqueue per reserved
// message. Sides alternate over three rounds; the metrics are medians (the
// ratio is the median of the per-round ratios, so load drift cancels).
// Run: go test -run '^$' -bench CapDispatch -benchtime 1x ./outreach
func BenchmarkCapDispatch(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	queue := asynq.NewClientFromRedisClient(rdb)
	b.Cleanup(func() { _ = queue.Close() })
	caps, err := NewCaps(rdb, contractRules, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	window := redis.NewScript(benchWindowLua)
	if err := window.Load(ctx, rdb).Err(); err != nil {
		b.Fatal(err)
	}
	if err := caps.reserve.Load(ctx, rdb).Err(); err != nil {
		b.Fatal(err)
	}
	enqueue := func(id string) {
		payload, _ := json.Marshal(taskPayload{ID: id})
		if _, err := queue.EnqueueContext(ctx, asynq.NewTask(taskSend, payload), asynq.TaskID(id)); err != nil {
			b.Fatal(err)
		}
	}
	channelsCycle := []string{"sms", "email", "wecom"}
	requests := func(side string, round int) []CapRequest {
		rs := make([]CapRequest, benchMessages)
		for i := range rs {
			id := fmt.Sprintf("%s%d-%05d", side, round, i)
			rs[i] = CapRequest{ContactID: "k" + id, MessageID: "m" + id, Channel: channelsCycle[i%3], Purpose: "marketing"}
		}
		return rs
	}
	baseline := func(rs []CapRequest) float64 {
		start := time.Now()
		for lo := 0; lo < len(rs); lo += benchBatch {
			batch := rs[lo:min(lo+benchBatch, len(rs))]
			now := time.Now().UnixMilli()
			pipe := rdb.Pipeline()
			cmds := make([]*redis.Cmd, len(batch))
			for j, r := range batch {
				cmds[j] = window.EvalSha(ctx, pipe, []string{capKey(capKeyPrefix(r.ContactID), "bench", "")}, now, 604800000, 3, r.MessageID)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
			for j, cmd := range cmds {
				if ok, _ := cmd.Int(); ok != 1 {
					b.Fatalf("baseline refused %s", batch[j].MessageID)
				}
				enqueue(batch[j].MessageID)
			}
		}
		return float64(len(rs)) / time.Since(start).Seconds()
	}
	dispatch := func(rs []CapRequest) float64 {
		start := time.Now()
		for lo := 0; lo < len(rs); lo += benchBatch {
			batch := rs[lo:min(lo+benchBatch, len(rs))]
			res, errs := caps.ReserveMany(ctx, batch)
			for j := range batch {
				if errs[j] != nil {
					b.Fatalf("dispatch refused %s: %v", batch[j].MessageID, errs[j])
				}
				enqueue(res[j].MessageID)
			}
		}
		return float64(len(rs)) / time.Since(start).Seconds()
	}

	var base, disp, ratio []float64
	for n := range b.N {
		for round := range benchRounds {
			id := n*benchRounds + round
			br, dr := requests("b", id), requests("d", id)
			var bRate, dRate float64
			if round%2 == 0 {
				bRate = baseline(br)
				dRate = dispatch(dr)
			} else {
				dRate = dispatch(dr)
				bRate = baseline(br)
			}
			base, disp, ratio = append(base, bRate), append(disp, dRate), append(ratio, dRate/bRate)
		}
	}
	b.ReportMetric(benchMedian(base), "baseline-msgs/s")
	b.ReportMetric(benchMedian(disp), "dispatch-msgs/s")
	b.ReportMetric(benchMedian(ratio), "ratio")
}

func benchMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
