package redistest

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestRestartKeepsAOFData(t *testing.T) {
	srv := Start(t, "appendonly yes", "appendfsync always")
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := Ctx(t)
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	srv.Restart(t, "appendonly yes")
	got, err := rdb.Get(ctx, "k").Result()
	if err != nil || got != "v" {
		t.Fatalf("after restart GET k = %q, %v; want v", got, err)
	}
}
