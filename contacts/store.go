package contacts

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for Options.
const (
	DefaultTimelineMax = 200
	DefaultDedupTTL    = 72 * time.Hour
	// DefaultScoreLogMax bounds each contact's score log.
	DefaultScoreLogMax = 200
	// DefaultIndexEvery is how stale a contact's activity index entry may
	// get before a change rewrites it (see activity.go).
	DefaultIndexEvery = time.Hour
	// DefaultIndexFlush is how long activity index writes wait to be batched.
	DefaultIndexFlush = 20 * time.Millisecond
)

// DefaultChannels returns the consent keys used when Options.Channels is
// empty: the channels the gateway sends on.
func DefaultChannels() []string { return []string{"wecom", "officialaccount", "sms", "email"} }

// maxHops bounds how many links a lookup follows. Merges repoint identities
// straight at the survivor and lookups compress what remains, so real chains
// are one or two links long; more means a loop.
const maxHops = 8

// maxAttempts bounds how often a multi-identity change re-resolves after
// concurrent changes invalidated a link or merge step (with backoff, about
// half a second in all).
const maxAttempts = 16

// Options tune a Store. The zero value gives the defaults.
type Options struct {
	// TimelineMax bounds each contact's timeline (default 200 entries).
	TimelineMax int
	// DedupTTL is how long an event id is remembered (default 72 h, longer
	// than any platform retries).
	DedupTTL time.Duration
	// Now is the clock; tests move it instead of sleeping (default time.Now).
	Now func() time.Time
	// Channels are the consent keys Get reports and Change may name
	// (default DefaultChannels()).
	Channels []string
	// ScoreLogMax bounds each contact's score log (default 200 entries).
	ScoreLogMax int
	// IndexEvery is how stale an activity index entry may get before a
	// change of the contact rewrites it (default 1h): the sweeps check the
	// contact itself, so a lag only delays them by that much, and most
	// changes skip the extra index write.
	IndexEvery time.Duration
	// DecayAfter is the scoring rules' decay period; a fresh activity
	// schedules the contact's first decay look that far ahead (0: at once).
	DecayAfter time.Duration
	// IndexFlush is how long activity index entries wait to be written in
	// one pipeline behind the changes that made them (default 20ms).
	IndexFlush time.Duration
	// Merges, when set, hears of every merge (nil: nobody).
	Merges MergeObserver
}

// MergeObserver is told when one contact was merged into another, for
// stores that keep their own state per contact id (the reports do): what
// they kept under the absorbed id belongs to the survivor now. It handles
// (and reports) its own failures: the merge itself is done.
type MergeObserver interface {
	ContactsMerged(ctx context.Context, survivor, absorbed string)
}

// Store reads and changes contacts. It is safe for concurrent use, also
// from several processes on the same Redis.
type Store struct {
	rdb      redis.UniversalClient
	opt      Options
	channels map[string]bool
	activity *activityBuffer

	read, absorb, retire, link, checktag, claimtags *redis.Script
	silence, decay, reindex                         *redis.Script
	applies                                         *scriptBatcher // apply.lua, its calls sharing round trips
}

//go:embed scripts/*.lua
var scriptFS embed.FS

func loadScript(name string) (*redis.Script, error) {
	src, err := scriptFS.ReadFile("scripts/" + name)
	if err != nil {
		return nil, fmt.Errorf("contacts: embedded script %s: %w", name, err)
	}
	return redis.NewScript(string(src)), nil
}

// NewStore checks opt, fills its defaults and prepares the scripts. It does
// not talk to Redis: scripts are loaded on first use.
func NewStore(rdb redis.UniversalClient, opt Options) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("contacts: NewStore needs a Redis client, got nil")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if err := errors.Join(
		optionOrDefault("TimelineMax", &opt.TimelineMax, DefaultTimelineMax),
		optionOrDefault("DedupTTL", &opt.DedupTTL, DefaultDedupTTL),
		optionOrDefault("ScoreLogMax", &opt.ScoreLogMax, DefaultScoreLogMax),
		optionOrDefault("IndexEvery", &opt.IndexEvery, DefaultIndexEvery),
		optionOrDefault("IndexFlush", &opt.IndexFlush, DefaultIndexFlush),
	); err != nil {
		return nil, err
	}
	if opt.DedupTTL < time.Millisecond {
		return nil, fmt.Errorf("contacts: DedupTTL %v is below Redis's 1 ms resolution; use a longer one", opt.DedupTTL)
	}
	if opt.DecayAfter < 0 {
		return nil, fmt.Errorf("contacts: DecayAfter is %v; use 0 or a positive duration", opt.DecayAfter)
	}
	if len(opt.Channels) == 0 {
		opt.Channels = DefaultChannels()
	}
	opt.Channels = append([]string(nil), opt.Channels...)
	channels := make(map[string]bool, len(opt.Channels))
	for _, c := range opt.Channels {
		if c == "" || len(c) > maxNameLen || checkText(c) != nil {
			return nil, fmt.Errorf("contacts: channel name %q is not usable; use short names such as sms or email", c)
		}
		if channels[c] {
			return nil, fmt.Errorf("contacts: channel %q is listed twice in Options.Channels; list each once", c)
		}
		channels[c] = true
	}
	applySrc, err := scriptFS.ReadFile("scripts/apply.lua")
	if err != nil {
		return nil, fmt.Errorf("contacts: embedded script apply.lua: %w", err)
	}
	s := &Store{rdb: rdb, opt: opt, channels: channels, applies: newScriptBatcher(rdb, string(applySrc), applyLanes(), maxApplyBatch),
		activity: &activityBuffer{rdb: rdb, every: opt.IndexFlush, decayAfter: opt.DecayAfter, pending: map[string]int64{}}}
	for _, sc := range []struct {
		dst  **redis.Script
		name string
	}{
		{&s.read, "read.lua"}, {&s.absorb, "absorb.lua"},
		{&s.retire, "retire.lua"}, {&s.link, "link.lua"}, {&s.checktag, "checktag.lua"},
		{&s.claimtags, "claimtags.lua"}, {&s.silence, "silence.lua"}, {&s.decay, "decay.lua"},
		{&s.reindex, "reindex.lua"},
	} {
		var err error
		if *sc.dst, err = loadScript(sc.name); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// pipelined runs fn as one pipeline. Scripts in a pipeline cannot fall back
// from EVALSHA to EVAL command by command, so on NOSCRIPT (a restarted or
// flushed server) it loads every script and runs the pipeline once more;
// callers only pipeline idempotent commands.
func (s *Store) pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error) {
	cmds, err := s.rdb.Pipelined(ctx, fn)
	if err == nil || !anyNoScript(cmds) {
		return cmds, err
	}
	for _, sc := range []*redis.Script{s.applies.script, s.read, s.absorb, s.retire, s.link, s.checktag, s.claimtags, s.silence, s.decay, s.reindex} {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return nil, fmt.Errorf("contacts: load scripts into Redis: %w", err)
		}
	}
	return s.rdb.Pipelined(ctx, fn)
}

func anyNoScript(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			return true
		}
	}
	return false
}

func (s *Store) now() time.Time { return s.opt.Now() }

// optionOrDefault fills a zero option with its default and refuses a negative one.
func optionOrDefault[T int | time.Duration](name string, v *T, def T) error {
	switch {
	case *v < 0:
		return fmt.Errorf("contacts: %s is %v; use 0 for the default %v or a positive value", name, *v, def)
	case *v == 0:
		*v = def
	}
	return nil
}
