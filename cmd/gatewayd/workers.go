package main

import (
	"errors"
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

func startWorkers(rdb redis.UniversalClient, cfg configs.Config, log *zap.Logger, p *outreach.Pipeline) *workers {
	w := &workers{log: log.Named("workers")}
	w.srv = asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:         cfg.Outreach.Workers,
		Queues:              outreach.Queues,
		ShutdownTimeout:     cfg.HTTP.ShutdownTimeout,
		Logger:              w.log.Sugar(),
		LogLevel:            asynq.WarnLevel,
		HealthCheckFunc:     func(err error) { w.running.Store(err == nil) },
		HealthCheckInterval: 5 * time.Second,
	})
	mux := asynq.NewServeMux()
	p.Register(mux)
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
