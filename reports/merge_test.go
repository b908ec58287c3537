package reports

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/internal/testclock"
)

func TestContactsMergedMovesTheState(t *testing.T) {
	tests := []struct {
		name               string
		survivor, absorbed map[string]string
		want               map[string]string
	}{
		{
			name:     "the survivor had nothing",
			absorbed: map[string]string{"src": "qr:expo", "st": "mql", "since": "100", "cc": "spring", "cm": "m1", "ct": "200", "lm": "m1", "lc": "sms", "lt": "200"},
			want:     map[string]string{"src": "qr:expo", "st": "mql", "since": "100", "cc": "spring", "cm": "m1", "ct": "200", "lm": "m1", "lc": "sms", "lt": "200"},
		},
		{
			name:     "the later touch and message win whole; source and stage stay the survivor's",
			survivor: map[string]string{"src": "wecom:bench", "st": "sql", "since": "300", "cc": "winter", "cm": "m0", "ct": "50", "lm": "m9", "lc": "wecom", "lt": "900"},
			absorbed: map[string]string{"src": "qr:expo", "st": "mql", "since": "100", "cc": "spring", "cm": "m1", "ct": "200", "lm": "m1", "lc": "sms", "lt": "200", "uo:sms": "2026-11-20"},
			want:     map[string]string{"src": "wecom:bench", "st": "sql", "since": "300", "cc": "spring", "cm": "m1", "ct": "200", "lm": "m9", "lc": "wecom", "lt": "900", "uo:sms": "2026-11-20"},
		},
		{
			name:     "the absorbed contact had nothing",
			survivor: map[string]string{"src": "wecom:bench", "st": "prospect", "since": "1"},
			want:     map[string]string{"src": "wecom:bench", "st": "prospect", "since": "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReports(t, redistest.Client(t), testclock.New(time.Now()))
			ctx := t.Context()
			if len(tt.survivor) > 0 {
				must(t, r.rdb.HSet(ctx, contactStateKey("s"), tt.survivor).Err())
			}
			if len(tt.absorbed) > 0 {
				must(t, r.rdb.HSet(ctx, contactStateKey("a"), tt.absorbed).Err())
			}
			for range 2 { // a repeat (a crash before the old state went) changes nothing more
				r.ContactsMerged(ctx, "s", "a")
				if len(tt.absorbed) > 0 {
					must(t, r.rdb.HSet(ctx, contactStateKey("a"), tt.absorbed).Err())
				}
			}
			r.ContactsMerged(ctx, "s", "a")
			got, err := r.rdb.HGetAll(ctx, contactStateKey("s")).Result()
			must(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("survivor's report state (-want +got):\n%s", diff)
			}
			if n := r.rdb.Exists(ctx, contactStateKey("a")).Val(); n != 0 {
				t.Error("the absorbed contact's report state is still there")
			}
		})
	}
}

// A send recorded under the absorbed id while its state is being merged is
// not lost: the state is deleted only if nothing wrote to it meanwhile.
func TestContactsMergedKeepsAWriteMadeMeanwhile(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	other := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = other.Close() })
	var once sync.Once
	rdb.AddHook(beforeScript{func(ctx context.Context) {
		once.Do(func() { must(t, other.HSet(ctx, contactStateKey("a"), "lm", "m2", "lc", "sms", "lt", "500").Err()) })
	}})
	r := newReports(t, rdb, testclock.New(time.Now()))
	ctx := t.Context()
	must(t, rdb.HSet(ctx, contactStateKey("a"), "lm", "m1", "lc", "sms", "lt", "200").Err())
	r.ContactsMerged(ctx, "s", "a")
	got, err := rdb.HGetAll(ctx, contactStateKey("s")).Result()
	must(t, err)
	if diff := cmp.Diff(map[string]string{"lm": "m2", "lc": "sms", "lt": "500"}, got); diff != "" {
		t.Errorf("survivor's report state (-want +got):\n%s", diff)
	}
	if n := rdb.Exists(ctx, contactStateKey("a")).Val(); n != 0 {
		t.Error("the absorbed contact's report state is still there")
	}
}

// beforeScript runs fn before each script call the client sends.
type beforeScript struct{ fn func(context.Context) }

func (h beforeScript) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h beforeScript) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n == "evalsha" || n == "eval" {
			h.fn(ctx)
		}
		return next(ctx, cmd)
	}
}

func (h beforeScript) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
