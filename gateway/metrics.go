package gateway

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// metrics are registered on the registry main hands in (never the global
// one), so tests and several servers in one process do not collide.
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	callbacks *prometheus.CounterVec
	errors    *prometheus.CounterVec
	dialogs   *prometheus.CounterVec
	redis     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gateway_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_callbacks_total", Help: "Platform callbacks by source and outcome (applied, duplicate, ignored, rejected, failed).",
		}, []string{"source", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_errors_total", Help: "Error responses by catalogue name.",
		}, []string{"kind"}),
		dialogs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_dialog_errors_total", Help: "Failures of nurture scripts on inbound events by stage (profile, handle, reply); the event itself was stored.",
		}, []string{"stage"}),
		redis: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gateway_redis_duration_seconds", Help: "Redis round-trip latency by command (pipeline for pipelines).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5},
		}, []string{"command"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.callbacks, m.errors, m.dialogs, m.redis} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observeRequest(route, method string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, method, statusLabel(status)).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
}

func statusLabel(status int) string {
	switch status {
	case 200:
		return "200"
	case 202:
		return "202"
	case 400:
		return "400"
	case 401:
		return "401"
	case 404:
		return "404"
	}
	return strconv.Itoa(status)
}

// redisHook times every command and pipeline.
func (m *metrics) redisHook() redis.Hook { return redisTimer{m.redis} }

type redisTimer struct{ h *prometheus.HistogramVec }

func (t redisTimer) DialHook(next redis.DialHook) redis.DialHook { return next }

func (t redisTimer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		t.h.WithLabelValues(cmd.Name()).Observe(time.Since(start).Seconds())
		return err
	}
}

func (t redisTimer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		t.h.WithLabelValues("pipeline").Observe(time.Since(start).Seconds())
		return err
	}
}
