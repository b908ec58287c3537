package wecom

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/work"
	"github.com/silenceper/wechat/v2/work/config"
	wcontext "github.com/silenceper/wechat/v2/work/context"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/accesstoken"
	"github.com/journeygate/gateway/outreach"
)

const defaultSendTimeout = 15 * time.Second

// SenderConfig names the WeCom app that sends: its corp id, AgentId and
// Secret from the admin console, and the Redis that every gateway process
// shares the app's access token through.
type SenderConfig struct {
	CorpID, AgentID, Secret string
	Redis                   redis.UniversalClient
	// Timeout bounds one Send or MarkTag, token fetch and retry included,
	// even when the HTTP client has no timeout of its own. Zero means 15 s.
	Timeout time.Duration
}

// Sender delivers app messages, welcome messages, 微信客服 replies and
// customer group tasks through the WeCom SDK, and mirrors tags onto WeCom.
// It holds no per-message state, so one value serves every worker.
type Sender struct {
	agentID string
	tokens  *accesstoken.Source
	// sdk is the SDK's context for this app; its token handle is the shared
	// Source, and each call runs on a copy pinned to one token (see call).
	sdk     *wcontext.Context
	timeout time.Duration
}

var _ outreach.Sender = (*Sender)(nil)

// NewSender checks the settings and wires the SDK to the cluster-wide token.
// It makes no network call: a wrong Secret shows on the first send.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if cfg.CorpID == "" || cfg.Secret == "" || cfg.Redis == nil {
		return nil, fmt.Errorf("%w: corp id, Secret and Redis are required", ErrSenderConfig)
	}
	if _, err := strconv.ParseUint(cfg.AgentID, 10, 32); err != nil {
		return nil, fmt.Errorf("%w: AgentId %q is not a number", ErrSenderConfig, cfg.AgentID)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: Timeout %v is negative", ErrSenderConfig, cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultSendTimeout
	}
	name := "wecom:" + cfg.CorpID + ":" + cfg.AgentID
	tokens, err := accesstoken.New(cfg.Redis, name, accesstoken.WeComFetcher(cfg.CorpID, cfg.Secret), accesstoken.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSenderConfig, err)
	}
	wk := work.NewWork(&config.Config{
		CorpID:     cfg.CorpID,
		CorpSecret: cfg.Secret,
		AgentID:    cfg.AgentID,
		Cache:      accesstoken.NewCache(cfg.Redis, name+":"),
	})
	// The SDK's own handle locks per process only; every process must share
	// one token, or each refresh expires the tokens the others hold.
	wk.GetContext().AccessTokenHandle = tokens
	return &Sender{agentID: cfg.AgentID, tokens: tokens, sdk: wk.GetContext(), timeout: cfg.Timeout}, nil
}

// Channel tells the pipeline to route WeCom messages to this sender.
func (s *Sender) Channel() channels.Channel { return channels.WeCom }

// Send delivers m by its kind. Every failure is a *channels.SendError: the
// errcode table decides whether the pipeline retries, falls back, or treats
// the conversation window as closed.
func (s *Sender) Send(ctx context.Context, m *channels.Outbound) (channels.Receipt, error) {
	if m == nil {
		return channels.Receipt{}, invalid(ErrIncomplete, "no message")
	}
	if m.Channel != "" && m.Channel != channels.WeCom {
		return channels.Receipt{}, invalid(ErrKindNotCarried, "message %s is for channel %q", m.ID, m.Channel)
	}
	if err := checkFields(m); err != nil {
		return channels.Receipt{}, err
	}
	switch m.Kind {
	case channels.KindWeComText, channels.KindWeComTextCard, channels.KindWeComMarkdown:
		return s.sendApp(ctx, m)
	case channels.KindWeComWelcome:
		return s.sendWelcome(ctx, m)
	case channels.KindWeComKF:
		return s.sendKF(ctx, m)
	case channels.KindWeComGroupTask:
		return s.sendGroupTask(ctx, m)
	}
	return channels.Receipt{}, invalid(ErrKindNotCarried, "kind %q", m.Kind)
}

// platformCall is one request to WeCom. sdk is pinned to token, so the SDK's
// calls use exactly that token; ctx is for the calls that take one (the
// SDK's mostly do not, and call bounds them from outside).
type platformCall[T any] func(ctx context.Context, sdk *wcontext.Context, token string) (T, error)

// call runs do with the shared token. If WeCom refuses the token itself, it
// drops that token (only that one: another process may already hold a fresh
// one) and tries once more with a new token. The result is classified.
func call[T any](ctx context.Context, s *Sender, api string, do platformCall[T]) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		token, err := s.tokens.GetAccessTokenContext(ctx)
		if err != nil {
			var zero T
			return zero, classify(api, fmt.Errorf("%w: %w", ErrNoAccessToken, err))
		}
		pinned := &wcontext.Context{Config: s.sdk.Config, AccessTokenHandle: pinnedToken(token)}
		out, err := bounded(ctx, func() (T, error) { return do(ctx, pinned, token) })
		if code, ok := errcodeOf(err); ok && errcodeRules[code].staleToken {
			if ierr := s.tokens.Invalidate(context.WithoutCancel(ctx), token); ierr != nil {
				return out, classify(api, fmt.Errorf("%w: drop the refused token: %w", ErrNoAccessToken, ierr))
			}
			if attempt == 1 {
				continue
			}
		}
		return out, classify(api, err)
	}
}

// bounded returns when do does or ctx ends, whichever is first. The SDK's
// calls ignore contexts, so a hung platform must not hold the worker; the
// abandoned call ends at the HTTP client's own timeout.
func bounded[T any](ctx context.Context, do func() (T, error)) (T, error) {
	type result struct {
		out T
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := do()
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("no answer in time: %w", ctx.Err())
	}
}

// pinnedToken hands the SDK one fixed token, so the sender knows which
// token a refused call used.
type pinnedToken string

func (t pinnedToken) GetAccessToken() (string, error) { return string(t), nil }
