package dialogs

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed scripts/*.lua
var scriptFS embed.FS

func loadScript(name string) (*redis.Script, error) {
	src, err := scriptFS.ReadFile("scripts/" + name)
	if err != nil {
		return nil, fmt.Errorf("dialogs: embedded script %s: %w", name, err)
	}
	return redis.NewScript(string(src)), nil
}

// Lock modes of load.lua.
const (
	lockIfSession  = "0"
	lockUnlessHeld = "1"
	lockAlways     = "2"
)

// loaded is a contact's state as load.lua returned it.
type loaded struct {
	locked  bool
	token   string
	rawSess string
	rawHold string
}

// lock reads the contact's state and takes its step lock (per mode),
// waiting up to BusyWait while another worker holds it.
func (e *Engine) lock(ctx context.Context, contactID, mode string, wait bool) (loaded, error) {
	var tok [12]byte
	_, _ = rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	keys := []string{sessionKey(contactID), lockKey(contactID)}
	ttl := strconv.FormatInt(e.opt.LockTTL.Milliseconds(), 10)
	start := time.Now()
	backoff := 2 * time.Millisecond
	for {
		v, err := e.load.Run(ctx, e.rdb, keys, token, ttl, mode).StringSlice()
		if err != nil {
			return loaded{}, fmt.Errorf("dialogs: load session of %s: %w", contactID, err)
		}
		if len(v) != 3 {
			return loaded{}, fmt.Errorf("dialogs: load.lua answered %d values; are the scripts in Redis from another version?", len(v))
		}
		switch v[0] {
		case "locked":
			return loaded{locked: true, token: token, rawSess: v[1], rawHold: v[2]}, nil
		case "free":
			return loaded{rawSess: v[1], rawHold: v[2]}, nil
		}
		if !wait || time.Since(start) > e.opt.BusyWait {
			return loaded{}, fmt.Errorf("dialogs: contact %s: %w (another worker held it for over %v)", contactID, ErrBusy, e.opt.BusyWait)
		}
		select {
		case <-ctx.Done():
			return loaded{}, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// write is what one step commits for a contact.
type write struct {
	contactID string
	token     string
	sess      string // "" delete, "=" keep
	hold      string // "" delete, "=" keep
	// deadline is the new deadline to index (0 none); oldDeadline the one
	// the contact had, removed from the index when no new one replaces it.
	deadline, oldDeadline int64
	sources               []*Script
}

// commit saves w and releases the lock in one round trip (three on
// Cluster, where the index lives on another node and must be written
// before the session so a deadline is never unindexed).
func (e *Engine) commit(ctx context.Context, w write) error {
	keys := []string{sessionKey(w.contactID), lockKey(w.contactID)}
	_, cluster := e.rdb.(*redis.ClusterClient)
	if cluster && w.deadline != 0 {
		if err := e.rdb.ZAdd(ctx, dueKey, redis.Z{Score: float64(w.deadline), Member: w.contactID}).Err(); err != nil {
			return fmt.Errorf("dialogs: index deadline of %s: %w", w.contactID, err)
		}
	}
	removeOld := w.oldDeadline != 0 && w.deadline == 0
	var zadd *redis.IntCmd
	srcs := make([]*redis.BoolCmd, len(w.sources))
	run := func(useSha bool) (*redis.Cmd, *redis.Cmd, error) {
		var res, due *redis.Cmd
		_, err := e.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, s := range w.sources {
				srcs[i] = p.SetNX(ctx, sourceKey(s.ID, s.Version), s.source, 0)
			}
			if !cluster && w.deadline != 0 {
				zadd = p.ZAdd(ctx, dueKey, redis.Z{Score: float64(w.deadline), Member: w.contactID})
			}
			if useSha {
				res = e.commitLua.EvalSha(ctx, p, keys, w.token, w.sess, w.hold)
			} else {
				res = e.commitLua.Eval(ctx, p, keys, w.token, w.sess, w.hold)
			}
			// The entry of a deadline that is gone; if the commit fails this
			// still only removes an entry with the old score, which no
			// other worker can have written while we held the lock.
			if removeOld {
				args := []any{w.contactID, w.oldDeadline, ""}
				if useSha {
					due = e.dueLua.EvalSha(ctx, p, []string{dueKey}, args...)
				} else {
					due = e.dueLua.Eval(ctx, p, []string{dueKey}, args...)
				}
			}
			return nil
		})
		return res, due, err
	}
	res, due, err := run(true)
	if err != nil && isNoScript(res.Err()) {
		// Redis lost its script cache (restart, failover): nothing ran
		// but the idempotent writes, so run it all again with the source.
		res, due, err = run(false)
	}
	if err != nil && due != nil && isNoScript(due.Err()) {
		_ = e.dueLua.Run(ctx, e.rdb, []string{dueKey}, w.contactID, w.oldDeadline, "").Err()
	}
	if err != nil && res.Err() != nil {
		return fmt.Errorf("dialogs: save session of %s: %w", w.contactID, res.Err())
	}
	if n, _ := res.Int(); n != 1 {
		return fmt.Errorf("dialogs: contact %s: %w after %v; the step was not saved", w.contactID, ErrConflict, e.opt.LockTTL)
	}
	if zadd != nil && zadd.Err() != nil {
		// Saved but not indexed: the timeout would never fire.
		if err := e.rdb.ZAdd(ctx, dueKey, redis.Z{Score: float64(w.deadline), Member: w.contactID}).Err(); err != nil {
			return fmt.Errorf("dialogs: session of %s saved but its deadline is not indexed (it fires on the next reply only): %w", w.contactID, err)
		}
	}
	for i, s := range w.sources {
		if srcs[i] != nil && srcs[i].Err() == nil {
			e.stored.Store(s.Key(), true)
		}
	}
	// A failed index removal is left for Tick, which drops stale entries.
	return nil
}

// release drops the lock without changing anything.
func (e *Engine) release(ctx context.Context, contactID, token string) error {
	err := e.commitLua.Run(ctx, e.rdb, []string{sessionKey(contactID), lockKey(contactID)}, token, "=", "=").Err()
	if err != nil {
		return fmt.Errorf("dialogs: release session of %s: %w", contactID, err)
	}
	return nil
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// source reads the stored YAML of a script version ("" when none).
func (e *Engine) source(ctx context.Context, id string, version int) (string, error) {
	v, err := e.rdb.Get(ctx, sourceKey(id, version)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}
