package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels/wecom"
	"github.com/journeygate/gateway/gateway"
	"github.com/journeygate/gateway/outreach"
)

// startKF runs the 微信客服 puller when WeCom both calls back (the signals)
// and can be called (sync_msg through the app's token). The returned stop
// waits for the loop to end.
func startKF(ctx context.Context, srv *gateway.Server, callbacks bool, senders []outreach.Sender, log *zap.Logger) (func(), error) {
	var sender *wecom.Sender
	for _, s := range senders {
		if ws, ok := s.(*wecom.Sender); ok {
			sender = ws
		}
	}
	if !callbacks || sender == nil {
		if callbacks {
			log.Warn("WeCom callbacks are on but WeCom sending is not configured (corp id, agent id, secret): 微信客服 messages are not pulled")
		}
		return func() {}, nil
	}
	w, err := srv.KFWorker(sender, gateway.KFOptions{})
	if err != nil {
		return nil, err
	}
	kfCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(kfCtx) }()
	return func() { cancel(); <-done }, nil
}
