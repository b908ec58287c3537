package redistest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Snapshot returns every key matching pattern with its type and contents
// in a canonical form, so tests can prove that a refused request changed
// nothing. DUMP is no proof: a hash or set stored as a hashtable serialises
// in iteration order, which incremental rehashing changes on plain reads.
// TTLs are left out (they tick); pass "*" for the whole keyspace.
func Snapshot(t testing.TB, rdb redis.UniversalClient, pattern string) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := allKeys(ctx, rdb, pattern)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		v, err := canonical(ctx, rdb, k)
		if err != nil {
			t.Fatalf("snapshot %s: %v", k, err)
		}
		out[k] = v
	}
	return out
}

func allKeys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		var mu []string
		ch := make(chan []string, 16)
		err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			keys, err := n.Keys(ctx, pattern).Result()
			ch <- keys
			return err
		})
		close(ch)
		for ks := range ch {
			mu = append(mu, ks...)
		}
		return mu, err
	}
	return rdb.Keys(ctx, pattern).Result()
}

func canonical(ctx context.Context, rdb redis.UniversalClient, k string) (string, error) {
	typ, err := rdb.Type(ctx, k).Result()
	if err != nil {
		return "", err
	}
	var parts []string
	switch typ {
	case "string":
		v, err := rdb.Get(ctx, k).Result()
		return "string:" + v, err
	case "hash":
		m, err := rdb.HGetAll(ctx, k).Result()
		if err != nil {
			return "", err
		}
		for f, v := range m {
			parts = append(parts, f+"="+v)
		}
		slices.Sort(parts)
	case "set":
		if parts, err = rdb.SMembers(ctx, k).Result(); err != nil {
			return "", err
		}
		slices.Sort(parts)
	case "list":
		if parts, err = rdb.LRange(ctx, k, 0, -1).Result(); err != nil {
			return "", err
		}
	case "zset":
		zs, err := rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		if err != nil {
			return "", err
		}
		for _, z := range zs {
			parts = append(parts, fmt.Sprintf("%v@%v", z.Member, z.Score))
		}
	case "stream":
		msgs, err := rdb.XRange(ctx, k, "-", "+").Result()
		if err != nil {
			return "", err
		}
		for _, m := range msgs {
			fields := make([]string, 0, len(m.Values))
			for f, v := range m.Values {
				fields = append(fields, fmt.Sprintf("%s=%v", f, v))
			}
			slices.Sort(fields)
			parts = append(parts, m.ID+" "+strings.Join(fields, " "))
		}
	case "none":
		return "none", nil
	default:
		v, err := rdb.Dump(ctx, k).Result()
		return typ + ":" + v, err
	}
	return typ + ":" + strings.Join(parts, "\x1f"), nil
}
