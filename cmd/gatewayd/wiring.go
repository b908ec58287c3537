package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/journeygate/gateway/configs"
)

func newLogger(c configs.Log) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	if c.Format == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.DisableStacktrace = true
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.Sampling = nil
	return zc.Build()
}

// connectRedis builds a UniversalClient (one server or Cluster), waits for it
// to answer, and warns, or refuses when configured, if nothing persists writes:
// without AOF a Redis restart forgets scheduled messages and consent.
func connectRedis(ctx context.Context, c configs.Redis, log *zap.Logger) (redis.UniversalClient, error) {
	var rdb redis.UniversalClient
	if len(c.ClusterAddrs) > 0 {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.ClusterAddrs, PoolSize: c.PoolSize})
	} else {
		opt, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, err
		}
		if c.PoolSize > 0 {
			opt.PoolSize = c.PoolSize
		}
		rdb = redis.NewClient(opt)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis does not answer (%s): %w", describe(c), err)
	}
	aof, rdb2 := persistence(pingCtx, rdb)
	switch {
	case aof:
	case c.RequirePersistence && !rdb2:
		_ = rdb.Close()
		return nil, fmt.Errorf("redis has neither AOF nor RDB persistence and redis.require_persistence is on: set appendonly yes")
	default:
		log.Warn("redis AOF is off: a Redis crash can lose recent consent changes and scheduled messages; set appendonly yes in production", zap.Bool("rdb_snapshots", rdb2))
	}
	return rdb, nil
}

func persistence(ctx context.Context, rdb redis.UniversalClient) (aof, snapshots bool) {
	vals, err := rdb.ConfigGet(ctx, "appendonly").Result()
	aof = err == nil && vals["appendonly"] == "yes"
	vals, err = rdb.ConfigGet(ctx, "save").Result()
	snapshots = err == nil && strings.TrimSpace(vals["save"]) != ""
	return aof, snapshots
}

func describe(c configs.Redis) string {
	if len(c.ClusterAddrs) > 0 {
		return "cluster " + strings.Join(c.ClusterAddrs, ",")
	}
	if opt, err := redis.ParseURL(c.URL); err == nil {
		return opt.Addr
	}
	return "?"
}
