package dialogs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for Options.
const (
	DefaultIdleTimeout = 7 * 24 * time.Hour
	DefaultLockTTL     = 15 * time.Second
	DefaultBusyWait    = 3 * time.Second
	DefaultHotScore    = 80
	DefaultWarmScore   = 50
	DefaultTickBatch   = 200
	// MaxReprompts is how often an ask explains its choices again before
	// it gives up on an answer it cannot read.
	MaxReprompts = 2
	// maxRunSteps bounds the steps one call runs; loading refuses loops
	// without a wait, so only a chain of start: hops can get near it.
	maxRunSteps = 200
)

// Default texts of the global keywords' replies.
const (
	DefaultHandoffReply     = "好的，已为您转接人工顾问，请稍候。"
	DefaultUnsubscribeReply = "您已退订，我们将不再向您发送营销消息。"
	DefaultReprompt         = "抱歉，没有看懂您的回复。"
)

// Options tune an Engine. The zero value gives the defaults.
type Options struct {
	// Now is the clock for deadlines, reminders and keys; tests move it
	// instead of sleeping (default time.Now).
	Now func() time.Time
	// IdleTimeout ends a session that waits at a step without its own
	// timeout for this long (default 7 days), so none lingers forever.
	IdleTimeout time.Duration
	// LockTTL bounds how long one step may hold a contact (default 15 s);
	// actions should be fast queue writes, far below it.
	LockTTL time.Duration
	// BusyWait is how long Handle waits for another worker's step on the
	// same contact before ErrBusy (default 3 s).
	BusyWait time.Duration
	// HotScore and WarmScore are where the hot and warm score bands start
	// (default 80 and 50, the shipped scoring rules).
	HotScore, WarmScore int
	// HandoffReply and UnsubscribeReply answer the global keywords; "-"
	// sends nothing. Defaults: DefaultHandoffReply, DefaultUnsubscribeReply.
	HandoffReply, UnsubscribeReply string
	// Reprompt opens a re-prompt of an ask without its own (default
	// DefaultReprompt).
	Reprompt string
	// TickBatch is how many due sessions Tick reads at once (default 200).
	TickBatch int
}

// Engine runs scripts for contacts. It is safe for concurrent use, also from
// several processes on the same Redis: one step of one contact runs at a
// time, under a lock taken in the same round trip that reads the session.
type Engine struct {
	rdb     redis.UniversalClient
	actions Actions
	opt     Options
	bands   bands

	load, commitLua, dueLua *redis.Script

	lib atomic.Pointer[Library]
	mu  sync.RWMutex
	// versions holds every script version this process has known, so a
	// session finishes on the version it started with after a reload.
	versions map[string]*Script
	stored   sync.Map // version key -> true once its source is in Redis
}

// NewEngine checks its arguments and prepares the Lua scripts; it does not
// talk to Redis.
func NewEngine(rdb redis.UniversalClient, lib *Library, actions Actions, opt Options) (*Engine, error) {
	switch {
	case rdb == nil:
		return nil, errors.New("dialogs: NewEngine needs a Redis client, got nil")
	case lib == nil:
		return nil, errors.New("dialogs: NewEngine needs a Library (see Load), got nil")
	case actions == nil:
		return nil, errors.New("dialogs: NewEngine needs Actions, got nil")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
		n   string
	}{{&opt.IdleTimeout, DefaultIdleTimeout, "IdleTimeout"}, {&opt.LockTTL, DefaultLockTTL, "LockTTL"}, {&opt.BusyWait, DefaultBusyWait, "BusyWait"}} {
		switch {
		case *d.v < 0:
			return nil, fmt.Errorf("dialogs: %s is %v; use 0 for the default %v or a positive duration", d.n, *d.v, d.def)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if opt.LockTTL < 100*time.Millisecond {
		return nil, fmt.Errorf("dialogs: LockTTL %v is too short for a step; use at least 100ms", opt.LockTTL)
	}
	if opt.HotScore == 0 {
		opt.HotScore = DefaultHotScore
	}
	if opt.WarmScore == 0 {
		opt.WarmScore = DefaultWarmScore
	}
	if opt.WarmScore >= opt.HotScore {
		return nil, fmt.Errorf("dialogs: WarmScore %d must be below HotScore %d", opt.WarmScore, opt.HotScore)
	}
	if opt.HandoffReply == "" {
		opt.HandoffReply = DefaultHandoffReply
	}
	if opt.UnsubscribeReply == "" {
		opt.UnsubscribeReply = DefaultUnsubscribeReply
	}
	if opt.Reprompt == "" {
		opt.Reprompt = DefaultReprompt
	}
	switch {
	case opt.TickBatch < 0:
		return nil, fmt.Errorf("dialogs: TickBatch is %d; use 0 for the default %d", opt.TickBatch, DefaultTickBatch)
	case opt.TickBatch == 0:
		opt.TickBatch = DefaultTickBatch
	}
	e := &Engine{rdb: rdb, actions: actions, opt: opt, bands: bands{hot: opt.HotScore, warm: opt.WarmScore}, versions: map[string]*Script{}}
	var err error
	for _, s := range []struct {
		dst  **redis.Script
		name string
	}{{&e.load, "load.lua"}, {&e.commitLua, "commit.lua"}, {&e.dueLua, "due.lua"}} {
		if *s.dst, err = loadScript(s.name); err != nil {
			return nil, err
		}
	}
	if err := e.SetLibrary(lib); err != nil {
		return nil, err
	}
	return e, nil
}

// SetLibrary makes lib the library new sessions start from. Sessions already
// running keep their script version. A library whose script changed without
// a new version is refused with ErrVersionReused and the old one stays.
func (e *Engine) SetLibrary(lib *Library) error {
	if lib == nil {
		return errors.New("dialogs: SetLibrary needs a Library, got nil")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, s := range lib.Scripts() {
		if old, ok := e.versions[s.Key()]; ok && old.digest != s.digest {
			errs = append(errs, fmt.Errorf("dialogs: %s in %s differs from the %s loaded before; raise its version: %w", s.Key(), s.File, s.Key(), ErrVersionReused))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, s := range lib.Scripts() {
		if _, ok := e.versions[s.Key()]; !ok {
			e.versions[s.Key()] = s
		}
	}
	e.lib.Store(lib)
	return nil
}

// Library is the library new sessions start from.
func (e *Engine) Library() *Library { return e.lib.Load() }

// version finds a script version for a session: in memory, else from the
// source stored in Redis when the session started.
func (e *Engine) version(ctx context.Context, id string, version int) (*Script, error) {
	key := versionKey(id, version)
	e.mu.RLock()
	s := e.versions[key]
	e.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	src, err := e.source(ctx, id, version)
	if err != nil {
		return nil, fmt.Errorf("dialogs: read stored source of %s: %w", key, err)
	}
	if src == "" {
		return nil, fmt.Errorf("dialogs: script %s is neither loaded nor stored: %w", key, ErrRuntime)
	}
	s, err = compileStored(id, version, []byte(src))
	if err != nil {
		return nil, fmt.Errorf("dialogs: stored source of %s does not load (%v): %w", key, err, ErrRuntime)
	}
	e.mu.Lock()
	if have := e.versions[key]; have != nil {
		s = have
	} else {
		e.versions[key] = s
	}
	e.mu.Unlock()
	e.stored.Store(key, true)
	return s, nil
}

// State reads a contact's dialog state without changing it.
func (e *Engine) State(ctx context.Context, contactID string) (State, error) {
	if contactID == "" {
		return State{}, fmt.Errorf("dialogs: State needs a contact id: %w", ErrInvalidInbound)
	}
	v, err := e.rdb.HMGet(ctx, sessionKey(contactID), "s", "h").Result()
	if err != nil {
		return State{}, fmt.Errorf("dialogs: read session of %s: %w", contactID, err)
	}
	var st State
	if s, _ := v[0].(string); s != "" {
		sess, err := decodeSession(s)
		if err != nil {
			return State{}, fmt.Errorf("dialogs: contact %s: %w", contactID, err)
		}
		st = State{Script: sess.Script, Version: sess.Version, Step: sess.Step, Vars: sess.Vars,
			Deadline: fromMS(sess.Deadline), Reprompts: sess.Reprompts, Started: fromMS(sess.Started), Channel: sess.Channel}
	}
	if h, _ := v[1].(string); h != "" {
		st.HandedOff = true
		st.HandoffSince = fromMS(decodeHold(h).Since)
	}
	return st, nil
}

// Hold pauses the bot for a contact as a script's hand-off does, for a
// person who took the conversation over outside any script (a 微信客服
// servicer answering in the session). It reports whether the bot was
// answering until now; Resume ends the hold.
func (e *Engine) Hold(ctx context.Context, contactID, reason string) (bool, error) {
	if contactID == "" {
		return false, fmt.Errorf("dialogs: Hold needs a contact id: %w", ErrInvalidInbound)
	}
	ld, err := e.lock(ctx, contactID, lockAlways, true)
	if err != nil {
		return false, err
	}
	if ld.rawHold != "" {
		return false, e.release(ctx, contactID, ld.token)
	}
	h := mustJSON(hold{Since: ms(e.opt.Now()), Reason: reason})
	return true, e.commit(ctx, write{contactID: contactID, token: ld.token, sess: "=", hold: h})
}

// Resume ends a hand-off: the bot answers the contact again. It reports
// whether the contact was handed off.
func (e *Engine) Resume(ctx context.Context, contactID string) (bool, error) {
	if contactID == "" {
		return false, fmt.Errorf("dialogs: Resume needs a contact id: %w", ErrInvalidInbound)
	}
	ld, err := e.lock(ctx, contactID, lockAlways, true)
	if err != nil {
		return false, err
	}
	if ld.rawHold == "" {
		return false, e.release(ctx, contactID, ld.token)
	}
	return true, e.commit(ctx, write{contactID: contactID, token: ld.token, sess: "=", hold: ""})
}
