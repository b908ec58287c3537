// Command gatewayd serves the messaging gateway: platform callbacks, the admin
// API and the workers. `gatewayd -check` validates the configuration and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels/email"
	"github.com/journeygate/gateway/channels/officialaccount"
	"github.com/journeygate/gateway/channels/wecom"
	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/gateway"
	"github.com/journeygate/gateway/outreach"
	"github.com/journeygate/gateway/templates"
)

// configFiles collects repeated -config flags.
type configFiles []string

func (f *configFiles) String() string     { return strings.Join(*f, ",") }
func (f *configFiles) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var files configFiles
	flag.Var(&files, "config", "config file (repeatable; later files override earlier ones)")
	checkOnly := flag.Bool("check", false, "validate the configuration, templates and dialog scripts, print every problem and exit")
	templatesDir := flag.String("templates", "configs/templates", "template files -check validates (and dialog scripts may use)")
	flag.Parse()

	cfg, err := configs.Load(files, os.LookupEnv)
	if err == nil {
		err = cfg.Validate()
	}
	if *checkOnly {
		os.Exit(report(check(cfg, err, *templatesDir)))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gatewayd: configuration problems:\n%v\n", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "gatewayd: %v\n", err)
		os.Exit(1)
	}
}

func report(problems []string) int {
	if len(problems) == 0 {
		fmt.Println("configuration, templates and dialog scripts OK")
		return 0
	}
	fmt.Fprintf(os.Stderr, "%d problems:\n", len(problems))
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "  - "+p)
	}
	return 1
}

func run(cfg configs.Config) error {
	log, err := newLogger(cfg.Log)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	rdb, err := connectRedis(ctx, cfg.Redis, log)
	if err != nil {
		return err
	}
	defer rdb.Close()

	scoring, err := loadScoring(cfg.Dialogs.ScoringFile, log)
	if err != nil {
		return err
	}
	rep, err := buildReports(cfg.Reports, rdb, log.Named("reports"))
	if err != nil {
		return err
	}
	store, err := contacts.NewStore(rdb, contacts.Options{TimelineMax: cfg.Contacts.TimelineMax, DedupTTL: cfg.Callbacks.DedupTTL,
		DecayAfter: scoring.Decay.After, Merges: rep})
	if err != nil {
		return err
	}
	tokens, err := email.NewTokens([]byte(cfg.Public.TrackingSecret), time.Now)
	if err != nil {
		return err
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	tplStore, err := templates.NewStore(rdb, templates.Options{})
	if err != nil {
		return err
	}
	renderer, err := templates.NewRenderer(templates.RenderOptions{})
	if err != nil {
		return err
	}
	senders, closeSenders, err := buildSenders(cfg, rdb, tokens)
	if err != nil {
		return err
	}
	defer closeSenders()
	caps, quiet, err := buildLimits(cfg.Outreach, rdb)
	if err != nil {
		return err
	}
	pipeline, err := outreach.New(rdb, store, outreach.TemplateRenderer{Store: tplStore, Renderer: renderer}, senders,
		outreach.Options{MaxRetry: cfg.Outreach.MaxRetry, Log: log.Named("outreach"), Registry: registry, Caps: caps, Quiet: quiet, Observer: rep})
	if err != nil {
		return err
	}
	defer func() { _ = pipeline.Close() }()
	notifier := repNotifier(rdb, cfg, senders, log)
	notifier.SetObserver(rep)
	defer func() { _ = notifier.Close() }()
	campaigns, err := buildCampaigns(rdb, pipeline, store, notifier, log)
	if err != nil {
		return err
	}
	mirror := tagMirror(rdb, cfg.WeCom, senders, log)
	defer func() { _ = mirror.Close() }()
	engine, actions, err := buildDialogs(cfg, rdb, store, pipeline, notifier, log, mirror, scoring, rep)
	if err != nil {
		return err
	}
	imports, exports, err := buildTransfer(cfg, rdb, store, rep, log)
	if err != nil {
		return err
	}
	workers := startWorkers(rdb, cfg, log, pipeline.Register, campaigns.Register, mirror.Register, notifier.Register, imports.Register, exports.Register)
	defer workers.Shutdown()

	deps := gateway.Deps{Scoring: scoring, Notifier: notifier, Config: cfg, Log: log, Redis: rdb, Contacts: store, Tokens: tokens, Registry: registry,
		Outreach: pipeline, Templates: tplStore, Renderer: renderer, WorkersReady: workers.Ready, Dialogs: engine, TagMirror: mirror,
		Imports: imports, Exports: exports, Reports: rep}
	if cfg.WeCom.CallbacksEnabled() {
		if deps.WeCom, err = wecom.NewCallback(wecom.CallbackConfig{Token: cfg.WeCom.Token, EncodingAESKey: cfg.WeCom.AESKey, CorpID: cfg.WeCom.CorpID, MaxSkew: cfg.Callbacks.MaxSkew}); err != nil {
			return err
		}
	}
	if cfg.WeChat.CallbacksEnabled() {
		if deps.OA, err = officialaccount.NewCallback(officialaccount.CallbackConfig{AppID: cfg.WeChat.AppID, Token: cfg.WeChat.Token, EncodingAESKey: cfg.WeChat.AESKey, MaxSkew: cfg.Callbacks.MaxSkew}); err != nil {
			return err
		}
	}
	gin.SetMode(gin.ReleaseMode)
	srv, err := gateway.New(deps)
	if err != nil {
		return err
	}
	if engine != nil {
		actions.OnScore(srv.ScoreChanged) // before the first step runs
		tickCtx, stopTicks := context.WithCancel(ctx)
		ticked := make(chan struct{})
		go func() { defer close(ticked); tickDialogs(tickCtx, engine, log.Named("dialogs")) }()
		defer func() { stopTicks(); <-ticked }()
		go reloadOnHangup(ctx, srv, log.Named("dialogs"))
	}
	stopKF, err := startKF(ctx, srv, deps.WeCom != nil, senders, log)
	if err != nil {
		return err
	}
	defer stopKF()
	sweepCtx, stopSweeps := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() { defer close(swept); sweepLifecycle(sweepCtx, srv, cfg.Contacts.SweepEvery, log.Named("sweep")) }()
	defer func() { stopSweeps(); <-swept }()
	httpSrv := &http.Server{
		Addr:              cfg.HTTP.Addr,
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.ListenAndServe() }()
	log.Info("gatewayd serving", zap.String("addr", cfg.HTTP.Addr), zap.Bool("wecom_callbacks", deps.WeCom != nil),
		zap.Bool("officialaccount_callbacks", deps.OA != nil), zap.Int("senders", len(senders)), zap.Int("workers", cfg.Outreach.Workers), zap.Bool("dialogs", engine != nil))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", zap.Duration("grace", cfg.HTTP.ShutdownTimeout))
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Activity index entries are written behind the changes; write the
	// last ones before leaving.
	return store.FlushActivity(shutdownCtx)
}
