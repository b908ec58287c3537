package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/gateway"
	"github.com/journeygate/gateway/outreach"
	"github.com/journeygate/gateway/reports"
)

// tickEvery is how often due dialog sessions (timeouts, idle ends) move:
// fine enough for reminders counted in minutes, cheap when nothing is due.
const tickEvery = 5 * time.Second

// buildDialogs loads the scripts and builds their engine; it returns nil
// when the folder is missing or holds no scripts, so a deployment without
// scripts runs without the engine. A folder with broken scripts stops the
// start: gatewayd -check lists the problems.
func buildDialogs(cfg configs.Config, rdb redis.UniversalClient, store *contacts.Store, pipe *outreach.Pipeline, notifier *outreach.RepNotifier, log *zap.Logger,
	mirror *outreach.TagMirror, scoring contacts.Scoring, rep *reports.Reports) (*dialogs.Engine, *gateway.DialogActions, error) {
	if _, err := os.Stat(cfg.Dialogs.Dir); errors.Is(err, fs.ErrNotExist) {
		log.Info("no dialog scripts folder; running without scripts", zap.String("dir", cfg.Dialogs.Dir))
		return nil, nil, nil
	}
	// Templates live in Redis and may be created after the scripts, so the
	// references are checked by gatewayd -check against the template files.
	lib, err := dialogs.Load(cfg.Dialogs.Dir, dialogs.LoadOptions{TemplateExists: nil})
	if err != nil {
		return nil, nil, err
	}
	if len(lib.Scripts()) == 0 {
		log.Info("no dialog scripts; running without scripts", zap.String("dir", cfg.Dialogs.Dir))
		return nil, nil, nil
	}
	actions, err := gateway.NewDialogActions(store, pipe, outreach.NewCoupons(rdb, time.Now), log.Named("dialogs"), time.Now)
	if err != nil {
		return nil, nil, err
	}
	actions.SetNotifier(notifier)
	actions.SetReports(rep)
	actions.SetTagMirror(mirror)
	// score_band triggers use the same bands as the scoring rules.
	engine, err := dialogs.NewEngine(rdb, lib, actions, dialogs.Options{HotScore: scoring.Bands.Hot, WarmScore: scoring.Bands.Warm})
	if err != nil {
		return nil, nil, err
	}
	log.Info("dialog scripts loaded", zap.String("dir", cfg.Dialogs.Dir), zap.Int("scripts", len(lib.Scripts())))
	return engine, actions, nil
}

// tickDialogs advances due sessions until ctx ends; it returns when the
// loop has stopped, so shutdown can wait for it.
func tickDialogs(ctx context.Context, engine *dialogs.Engine, log *zap.Logger) {
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			moved, err := engine.Tick(ctx, now)
			if err != nil && ctx.Err() == nil {
				log.Warn("dialog tick had failures", zap.Int("moved", moved), zap.Error(err))
			}
		}
	}
}

// reloadOnHangup reloads the dialog scripts on each SIGHUP, as operators
// expect of a daemon; a folder with problems is logged and changes nothing.
func reloadOnHangup(ctx context.Context, srv *gateway.Server, log *zap.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			lib, err := srv.ReloadDialogs(ctx)
			if err != nil {
				log.Error("dialog scripts not reloaded; the running ones stay", zap.Error(err))
				continue
			}
			log.Info("dialog scripts reloaded", zap.Int("scripts", len(lib.Scripts())))
		}
	}
}

// sweepLifecycle runs the lifecycle sweeps (silence, score decay, the
// hand-off queue) every period until ctx ends; with several gateways one
// of them does each round (see Server.Sweep).
func sweepLifecycle(ctx context.Context, srv *gateway.Server, every time.Duration, log *zap.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := srv.Sweep(ctx); err != nil && ctx.Err() == nil {
				log.Warn("lifecycle sweep had failures; it continues next round", zap.Error(err))
			}
		}
	}
}
