package outreach

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// MessageEvent is one recorded message outcome, as observers hear it.
type MessageEvent struct {
	MessageID, ContactID string
	Campaign, Variant    string
	Channel              string // "" or "none" before a channel was picked
	Stat                 string // sent, delivered, failed, capped, suppressed
	At                   time.Time
}

// MessageObserver hears each message outcome as the pipeline records it,
// so reports can count as things happen instead of scanning messages. An
// observer's failure is logged and never undoes an outcome.
type MessageObserver interface {
	ObserveMessage(ctx context.Context, e MessageEvent) error
}

// PipelineObserver is a MessageObserver that can put its writes into the
// pipeline the worker records a sent message with, so the record, the
// campaign counters and the observer's counters cost one round trip
// together. The pipeline may span Cluster slots; the queued commands'
// errors are logged as an ObserveMessage error would be.
type PipelineObserver interface {
	MessageObserver
	QueueMessage(ctx context.Context, pipe redis.Pipeliner, e MessageEvent)
}

// observe tells the observer, if any, about an outcome.
func (p *Pipeline) observe(ctx context.Context, e MessageEvent) {
	if p.opt.Observer == nil {
		return
	}
	if e.At.IsZero() {
		e.At = p.opt.Now()
	}
	if err := p.opt.Observer.ObserveMessage(ctx, e); err != nil {
		p.opt.Log.Warn("message outcome not reported", zap.String("message", e.MessageID), zap.String("stat", e.Stat), zap.Error(err))
	}
}
