package contacts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Activity index and sweeps.
//
// Two sorted sets under the hash tag {act} say where to look, so the sweeps
// never scan all contacts: {act}:seen holds each contact's last activity
// (last_seen, else created_at) and {act}:decay when to look at its score
// next. apply.lua tells Apply when a contact's entry must be written (a new
// contact, a contact back from silent or churned, or an entry more than
// Options.IndexEvery older than the contact's last activity); Apply writes
// both with ZADD GT, so an entry only moves forward. The index lives
// outside the contacts' slots and cannot be written by their scripts, so
// Apply queues the entry and a timer writes the queue in one pipeline
// within Options.IndexFlush (activity_buffer.go); the sweeps flush first.
//
// The sweeps decide from the contact itself (silence.lua, decay.lua), never
// from the index alone, and move or drop an entry only if it still holds
// the score they read (reindex.lua), so a change landing during a sweep
// wins. Crash window: if a process dies between apply.lua and the index
// write (at most IndexFlush later), the contact is looked at only after its next activity more than
// IndexEvery later; merged contacts leave entries behind that the sweeps
// drop when they find them.

// TypeActivityChanged is the timeline entry the silence sweep writes; the
// dialogs package starts win-back scripts on the event of the same name.
const TypeActivityChanged = "activity_changed"

// TypeScoreBandChanged is the timeline entry written when a score moves into
// another band (hot, warm, cold), up by events or down by decay.
const TypeScoreBandChanged = "score_band_changed"

// indexActivity queues contact id's last activity (unix ms) for both
// indexes; the write follows within Options.IndexFlush.
func (s *Store) indexActivity(id, anchor string) error {
	ms, err := strconv.ParseInt(anchor, 10, 64)
	if err != nil {
		return fmt.Errorf("activity anchor %q of %s is not a time", anchor, id)
	}
	s.activity.add(id, ms)
	return nil
}

// FlushActivity writes the activity index entries still pending in this
// process; a graceful shutdown calls it so none wait for the next change.
func (s *Store) FlushActivity(ctx context.Context) error {
	if err := s.activity.flush(ctx); err != nil {
		return fmt.Errorf("contacts: activity index: %w", err)
	}
	return nil
}

// Silenced is a contact the silence sweep found without activity for long
// enough; its activity is now silent.
type Silenced struct {
	ContactID string
	// Since is the contact's last activity; with the id it names this
	// silence, so a follow-up repeated after a crash is recognisable.
	Since time.Time
}

// SweepSilent looks at up to limit contacts whose last activity is older
// than after and makes the active ones silent, each with an
// activity_changed timeline entry. then runs for every silenced contact;
// when it fails, the contact stays in the index and is offered again on the
// next sweep (with the same Since). It returns how many index entries it
// looked at: a full batch (limit) means more may be due.
func (s *Store) SweepSilent(ctx context.Context, after time.Duration, limit int, then func(context.Context, Silenced) error) (int, error) {
	if after <= 0 || limit <= 0 {
		return 0, fmt.Errorf("contacts: SweepSilent needs a positive period and limit, got %v and %d", after, limit)
	}
	if err := s.FlushActivity(ctx); err != nil {
		return 0, err
	}
	now := s.now()
	entry, err := entryJSON(Entry{At: now, Type: TypeActivityChanged, Source: "activity",
		Props: map[string]string{"activity": ActivitySilent, "from": ActivityActive, "quiet_for": after.String()}})
	if err != nil {
		return 0, err
	}
	due, err := s.rdb.ZRangeByScoreWithScores(ctx, seenIndexKey, &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.Add(-after).UnixMilli(), 10), Count: int64(limit)}).Result()
	if err != nil {
		return 0, fmt.Errorf("contacts: read the activity index: %w", err)
	}
	if len(due) == 0 {
		return 0, nil
	}
	cmds := make([]*redis.Cmd, len(due))
	_, err = s.pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range due {
			k := keysFor(z.Member.(string))
			cmds[i] = s.silence.EvalSha(ctx, p, []string{k.hash, k.tl, k.link}, strconv.FormatInt(now.UnixMilli(), 10),
				strconv.FormatInt(after.Milliseconds(), 10), strconv.Itoa(s.opt.TimelineMax), entry)
		}
		return nil
	})
	if err != nil && !allScriptErrors(cmds) {
		return 0, fmt.Errorf("contacts: silence sweep: %w", err)
	}
	var (
		errs  []error
		moves = make([]move, 0, len(due))
	)
	for i, z := range due {
		id := z.Member.(string)
		r, err := asReply(cmds[i].Val(), 2)
		if err != nil {
			errs = append(errs, fmt.Errorf("contact %s: %w", id, errors.Join(cmds[i].Err(), err)))
			continue
		}
		next := ""
		switch r.str(0) {
		case "wait":
			next = r.str(1)
		case "silenced":
			if err := then(ctx, Silenced{ContactID: id, Since: msTime(r.str(1))}); err != nil {
				errs = append(errs, fmt.Errorf("contact %s silenced, follow-up failed: %w", id, err))
				continue
			}
		}
		moves = append(moves, move{id, z.Score, next})
	}
	errs = append(errs, s.moveEntries(ctx, seenIndexKey, moves))
	if err := errors.Join(errs...); err != nil {
		return len(due), fmt.Errorf("contacts: silence sweep: %w", err)
	}
	return len(due), nil
}

// Decayed is one score the decay sweep lowered.
type Decayed struct {
	ContactID string
	// Before and After are the scores; BandBefore and BandAfter their bands.
	Before, After         int
	BandBefore, BandAfter string
}

// SweepDecay applies the rules' decay to up to limit contacts whose turn
// has come (see decay.lua) and runs then for every lowered score. A failed
// then is reported but not repeated: the score has decayed already. It
// returns how many index entries it looked at.
func (s *Store) SweepDecay(ctx context.Context, rules Scoring, limit int, then func(context.Context, Decayed) error) (int, error) {
	d := rules.Decay
	if d.After <= 0 || d.Percent <= 0 {
		return 0, nil
	}
	if err := s.FlushActivity(ctx); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, fmt.Errorf("contacts: SweepDecay needs a positive limit, got %d", limit)
	}
	now := s.now()
	due, err := s.rdb.ZRangeByScoreWithScores(ctx, decayIndexKey, &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: int64(limit)}).Result()
	if err != nil {
		return 0, fmt.Errorf("contacts: read the decay index: %w", err)
	}
	if len(due) == 0 {
		return 0, nil
	}
	hot, warm := rules.Bands.Hot, rules.Bands.Warm
	if hot <= 0 {
		hot, warm = maxScoreDelta*1000, maxScoreDelta*1000
	}
	cmds := make([]*redis.Cmd, len(due))
	_, err = s.pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range due {
			id := z.Member.(string)
			k := keysFor(id)
			cmds[i] = s.decay.EvalSha(ctx, p, []string{k.hash, k.tl, scoreLogKey(id), k.link},
				strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(d.After.Milliseconds(), 10), strconv.Itoa(d.Percent),
				strconv.Itoa(warm), strconv.Itoa(hot), strconv.Itoa(s.opt.ScoreLogMax), strconv.Itoa(s.opt.TimelineMax),
				now.UTC().Format(time.RFC3339Nano))
		}
		return nil
	})
	if err != nil && !allScriptErrors(cmds) {
		return 0, fmt.Errorf("contacts: decay sweep: %w", err)
	}
	var (
		errs  []error
		moves = make([]move, 0, len(due))
	)
	for i, z := range due {
		id := z.Member.(string)
		r, err := asReply(cmds[i].Val(), 6)
		if err != nil {
			errs = append(errs, fmt.Errorf("contact %s: %w", id, errors.Join(cmds[i].Err(), err)))
			continue
		}
		next := ""
		switch r.str(0) {
		case "wait":
			next = r.str(3)
		case "decayed":
			if r.int(2) > 0 {
				next = r.str(3)
			}
			if err := then(ctx, Decayed{ContactID: id, Before: int(r.int(1)), After: int(r.int(2)), BandBefore: r.str(4), BandAfter: r.str(5)}); err != nil {
				errs = append(errs, fmt.Errorf("contact %s decayed, follow-up failed: %w", id, err))
			}
		}
		moves = append(moves, move{id, z.Score, next})
	}
	errs = append(errs, s.moveEntries(ctx, decayIndexKey, moves))
	if err := errors.Join(errs...); err != nil {
		return len(due), fmt.Errorf("contacts: decay sweep: %w", err)
	}
	return len(due), nil
}

// move sets id's entry in an index to next (unix ms; "" removes it) if it
// still holds the score the sweep read.
type move struct {
	id   string
	read float64
	next string
}

// moveEntries applies moves to index in one round trip.
func (s *Store) moveEntries(ctx context.Context, index string, moves []move) error {
	if len(moves) == 0 {
		return nil
	}
	_, err := s.pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range moves {
			s.reindex.EvalSha(ctx, p, []string{index}, m.id, strconv.FormatFloat(m.read, 'f', -1, 64), m.next)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("move entries of %s: %w", index, err)
	}
	return nil
}

// allScriptErrors reports whether a pipeline's error came from its scripts
// alone (each reported per contact), not from the connection.
func allScriptErrors(cmds []*redis.Cmd) bool {
	for _, c := range cmds {
		if c == nil {
			return false
		}
		if err := c.Err(); err != nil && !redis.HasErrorPrefix(err, "ERR") {
			return false
		}
	}
	return true
}
