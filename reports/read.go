package reports

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// readDays reads one hash per day of the period in one pipeline.
func (r *Reports) readDays(ctx context.Context, p Period, key func(day string) string) ([]string, []map[string]string, error) {
	days := p.days()
	cmds := make([]*redis.MapStringStringCmd, len(days))
	_, err := r.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, d := range days {
			cmds[i] = pipe.HGetAll(ctx, key(d))
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reports: read daily counters: %w", err)
	}
	out := make([]map[string]string, len(days))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return days, out, nil
}

// split cuts "a|b" at the first "|".
func split(field string) (string, string, bool) { return strings.Cut(field, "|") }

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// ratio is a/b, nil when b is zero (the rate is undefined, not zero).
func ratio(a, b int64) *float64 {
	if b == 0 {
		return nil
	}
	v := float64(a) / float64(b)
	return &v
}

func ratioF(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := a / b
	return &v
}
