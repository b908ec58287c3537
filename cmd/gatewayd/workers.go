package main

import (
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/outreach"
)

// workers runs the asynq server that executes scheduled sends.
type workers struct {
	srv     *asynq.Server
	running atomic.Bool
	log     *zap.Logger
}

// startWorkers runs the task handlers each register adds to the mux.
func startWorkers(rdb redis.UniversalClient, cfg configs.Config, log *zap.Logger, register ...func(*asynq.ServeMux)) *workers {
	w := &workers{log: log.Named("workers")}
	w.srv = asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:         cfg.Outreach.Workers,
		TaskCheckInterval:   cfg.Outreach.PollInterval,
		Queues:              outreach.Queues,
		ShutdownTimeout:     cfg.HTTP.ShutdownTimeout,
		Logger:              w.log.Sugar(),
		LogLevel:            asynq.WarnLevel,
		HealthCheckFunc:     func(err error) { w.running.Store(err == nil) },
		HealthCheckInterval: 5 * time.Second,
		RetryDelayFunc:      retryDelay,
	})
	mux := asynq.NewServeMux()
	for _, r := range register {
		r(mux)
	}
	if err := w.srv.Start(mux); err != nil {
		w.log.Error("workers did not start", zap.Error(err))
		return w
	}
	w.running.Store(true)
	return w
}

// Ready is the workers' part of /readyz.
func (w *workers) Ready() error {
	if !w.running.Load() {
		return errors.New("workers are not running (Redis unreachable from the worker pool?)")
	}
	return nil
}

func (w *workers) Shutdown() {
	w.running.Store(false)
	w.srv.Shutdown()
}

// retryDelay backs off 5 s, 10 s, 20 s ... up to 30 minutes, with jitter so
// a platform outage does not bring every retry back at the same instant.
// (asynq's default starts at 15 s and grows as n^4.) A task whose worker
// died is handed out again this way once its lease lapses.
func retryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	d := 5 * time.Second << min(n, 9)
	if d > 30*time.Minute {
		d = 30 * time.Minute
	}
	return d + time.Duration(rand.Int64N(int64(d/5)))
}
