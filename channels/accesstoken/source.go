// Package accesstoken keeps WeChat and WeCom access tokens in Redis so every
// gateway process shares one token per app and only one of them refreshes
// it. The SDK's own handles lock per process only, so N gateways would fetch
// N tokens and each fetch invalidates the others' after five minutes.
package accesstoken

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/credential"
)

// Fetcher asks the platform for a fresh token.
type Fetcher func(ctx context.Context) (token string, expiresIn time.Duration, err error)

// Options tune a Source; zero values take the defaults.
type Options struct {
	// Margin is how long before the platform's expiry a token is refreshed;
	// default 5 minutes.
	Margin time.Duration
	// LockTTL bounds one refresh; default 10 seconds.
	LockTTL time.Duration
	// Poll is how often a process waiting on another's refresh looks again;
	// default 50 ms.
	Poll time.Duration
}

// Source is one app's token, shared through Redis. It satisfies the SDK's
// credential.AccessTokenContextHandle.
type Source struct {
	rdb   redis.UniversalClient
	key   string
	lock  string
	fetch Fetcher
	opt   Options
}

var _ credential.AccessTokenContextHandle = (*Source)(nil)

// ErrNoToken is returned when no token could be had within the lock time.
var ErrNoToken = errors.New("no access token: the platform did not answer in time")

// New makes a Source for the app named name (e.g. "wecom:<corp id>:<agent id>").
func New(rdb redis.UniversalClient, name string, fetch Fetcher, opt Options) (*Source, error) {
	if rdb == nil || fetch == nil || name == "" {
		return nil, errors.New("accesstoken: Redis client, fetcher and name are required")
	}
	if opt.Margin <= 0 {
		opt.Margin = 5 * time.Minute
	}
	if opt.LockTTL <= 0 {
		opt.LockTTL = 10 * time.Second
	}
	if opt.Poll <= 0 {
		opt.Poll = 50 * time.Millisecond
	}
	return &Source{rdb: rdb, key: tokenKey(name), lock: lockKey(name), fetch: fetch, opt: opt}, nil
}

// GetAccessToken is the SDK's context-free entry point.
func (s *Source) GetAccessToken() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opt.LockTTL+5*time.Second)
	defer cancel()
	return s.GetAccessTokenContext(ctx)
}

// GetAccessTokenContext returns the shared token, refreshing it when it is
// missing: one process takes a Redis lock and fetches; the others wait for
// the token to appear (or for the lock to lapse and try themselves).
func (s *Source) GetAccessTokenContext(ctx context.Context) (string, error) {
	deadline := time.Now().Add(s.opt.LockTTL * 2)
	for {
		tok, err := s.rdb.Get(ctx, s.key).Result()
		if err == nil {
			return tok, nil
		}
		if !errors.Is(err, redis.Nil) {
			return "", fmt.Errorf("accesstoken: read %s: %w", s.key, err)
		}
		owner := randomID()
		ok, err := s.rdb.SetNX(ctx, s.lock, owner, s.opt.LockTTL).Result()
		if err != nil {
			return "", fmt.Errorf("accesstoken: lock %s: %w", s.lock, err)
		}
		if ok {
			// Another process may have stored a token between our read and the lock.
			if tok, err := s.rdb.Get(ctx, s.key).Result(); err == nil {
				_ = releaseLock.Run(ctx, s.rdb, []string{s.lock}, owner).Err()
				return tok, nil
			}
			return s.refresh(ctx, owner)
		}
		if time.Now().After(deadline) {
			return "", ErrNoToken
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(s.opt.Poll):
		}
	}
}

func (s *Source) refresh(ctx context.Context, owner string) (string, error) {
	defer func() { _ = releaseLock.Run(context.WithoutCancel(ctx), s.rdb, []string{s.lock}, owner).Err() }()
	fetchCtx, cancel := context.WithTimeout(ctx, s.opt.LockTTL)
	defer cancel()
	tok, expiresIn, err := s.fetch(fetchCtx)
	if err != nil {
		return "", err
	}
	if tok == "" {
		return "", errors.New("accesstoken: the platform returned an empty token")
	}
	ttl := expiresIn - s.opt.Margin
	if ttl < time.Minute {
		ttl = expiresIn / 2
	}
	if ttl <= 0 {
		return "", fmt.Errorf("accesstoken: the platform gave a token that expires in %v", expiresIn)
	}
	if err := s.rdb.Set(ctx, s.key, tok, ttl).Err(); err != nil {
		return "", fmt.Errorf("accesstoken: store %s: %w", s.key, err)
	}
	return tok, nil
}

// Invalidate drops the shared token if it is still the one that failed
// (errcode 40014/42001), so a stale answer from a slow call cannot throw
// away a token another process just fetched.
func (s *Source) Invalidate(ctx context.Context, token string) error {
	return dropIfEqual.Run(ctx, s.rdb, []string{s.key}, token).Err()
}

// releaseLock deletes the refresh lock if this process still holds it.
//
// KEYS[1] lock key
// ARGV[1] owner id
// Returns 1 when released, 0 when another owner holds it (ours lapsed).
var releaseLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// dropIfEqual deletes the token if it is the given one.
//
// KEYS[1] token key
// ARGV[1] the token that failed
// Returns 1 when deleted, 0 when the stored token is another (or none).
var dropIfEqual = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
