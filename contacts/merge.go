package contacts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// mergeInto moves contact loser into survivor. It spans two slots, so it is
// three steps, each one atomic script:
//
//  1. read.lua takes a snapshot of the loser;
//  2. absorb.lua merges the snapshot into the survivor (idempotent);
//  3. retire.lua links the loser to the survivor and deletes its data in
//     one step, unless the loser changed since step 1 (then done is false
//     and the caller starts over; step 2 tolerates running again).
//
// The survivor's tag index entries are written after step 2, the loser's
// removed after step 3. A crash after step 2 leaves the loser's data in both
// contacts (duplicated, both still reachable by their identities); the next
// change naming both runs the merge again, and step 2 adds nothing twice.
// Nothing is ever only in a deleted contact: the delete comes after the copy
// and only if nothing changed in between. Links of the loser's other
// identities still lead to the loser, whose link leads on to the survivor.
//
// moved are the loser's identities, so the caller can point their links
// straight at the survivor. An ErrTagIndex error comes with a valid result.
func (s *Store) mergeInto(ctx context.Context, loser, survivor string) (moved []Identity, done bool, err error) {
	snap, done, err := s.snapshot(ctx, loser, survivor)
	if err != nil || snap == nil {
		if done {
			s.merged(ctx, survivor, loser) // a retried merge: the observer may not have heard
		}
		return nil, done, err
	}
	owned, version, ok, err := s.absorbSnapshot(ctx, survivor, snap)
	if err != nil || !ok {
		return nil, false, err
	}
	// The survivor's gained tags are indexed whatever happens next: a retry
	// would not see them as gained again.
	idxErr := s.syncIndex(ctx, survivor, tagStates(owned, strconv.FormatInt(version, 10), true))
	removed, ok, err := s.retireLoser(ctx, loser, survivor, snap.hash["v"])
	if err != nil {
		return nil, false, err
	}
	if ok {
		s.merged(ctx, survivor, loser)
		idxErr = errors.Join(idxErr, s.syncIndex(ctx, loser, tagStates(removed, "r", false)))
		for _, i := range snap.ids {
			if id, ok := parseIdentity(i); ok {
				moved = append(moved, id)
			}
		}
	}
	if idxErr != nil {
		idxErr = fmt.Errorf("contacts: merging %s into %s, run RepairTagIndex on both (%v): %w", loser, survivor, idxErr, ErrTagIndex)
	}
	return moved, ok, idxErr
}

// merged tells the observer, if any, that loser is now part of survivor.
// The merge is done whatever the caller's context does next.
func (s *Store) merged(ctx context.Context, survivor, loser string) {
	if s.opt.Merges != nil {
		s.opt.Merges.ContactsMerged(context.WithoutCancel(ctx), survivor, loser)
	}
}

// snapshotData is a merged contact as read in step 1.
type snapshotData struct {
	hash                map[string]string
	tags, ids, timeline []string
	evs                 map[string]string // event id -> expiry (unix ms)
	scoreLog            []string          // newest first
}

// snapshot is step 1 of a merge. A nil snapshot means there is nothing to
// copy: done tells whether loser is already linked to survivor.
func (s *Store) snapshot(ctx context.Context, loser, survivor string) (snap *snapshotData, done bool, err error) {
	v, err := s.read.Run(ctx, s.rdb, keysFor(loser).list(), "0", "1", "1").Result()
	if err != nil {
		return nil, false, fmt.Errorf("contacts: read contact %s to merge it: %w", loser, err)
	}
	r, err := asReply(v, 7)
	if err != nil {
		return nil, false, err
	}
	if r.str(0) == "redirect" {
		return nil, r.str(1) == survivor, nil
	}
	snap = &snapshotData{hash: r.pairs(2), tags: r.strings(3), ids: r.strings(4), timeline: r.strings(5), evs: r.pairs(6)}
	if snap.hash["created_at"] == "" {
		return nil, false, nil
	}
	// Read apart from the rest: a change in between also moves the
	// version, so retire refuses and the merge copies again (and absorb
	// adds no entry twice).
	if snap.scoreLog, err = s.rdb.LRange(ctx, scoreLogKey(loser), 0, -1).Result(); err != nil {
		return nil, false, fmt.Errorf("contacts: read the score log of %s to merge it: %w", loser, err)
	}
	return snap, false, nil
}

// absorbSnapshot is step 2 of a merge: absorb.lua on the survivor. owned
// are the gained tags whose index entries the caller must write, all as of
// version. ok is false when the survivor was itself merged or is gone.
func (s *Store) absorbSnapshot(ctx context.Context, survivor string, snap *snapshotData) (owned []string, version int64, ok bool, err error) {
	now := s.now().UnixMilli()
	keys := append(keysFor(survivor).list(), scoreLogKey(survivor))
	argv := []any{strconv.Itoa(s.opt.TimelineMax), strconv.FormatInt(now, 10), strconv.FormatInt(tagLease.Milliseconds(), 10),
		strconv.Itoa(s.opt.ScoreLogMax)}
	fields := make([]string, 0, len(snap.hash))
	for f := range snap.hash {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	argv = append(argv, strconv.Itoa(len(fields)))
	for _, f := range fields {
		argv = append(argv, f, snap.hash[f])
	}
	argv = appendList(argv, snap.tags)
	argv = appendList(argv, snap.ids)
	argv = appendList(argv, snap.timeline)
	events := make([]string, 0, len(snap.evs))
	for e, exp := range snap.evs {
		if n, _ := strconv.ParseFloat(exp, 64); int64(n) > now {
			events = append(events, e)
		}
	}
	slices.Sort(events)
	argv = append(argv, strconv.Itoa(len(events)))
	for _, e := range events {
		argv = append(argv, e, snap.evs[e])
	}
	argv = appendList(argv, snap.scoreLog)
	v, err := s.absorb.Run(ctx, s.rdb, keys, argv...).Result()
	if err != nil {
		return nil, 0, false, fmt.Errorf("contacts: merge into %s: %w", survivor, err)
	}
	r, err := asReply(v, 5)
	if err != nil {
		return nil, 0, false, err
	}
	if r.str(0) != "ok" {
		return nil, 0, false, nil
	}
	return r.strings(4), r.int(3), true, nil
}

// retireLoser is step 3 of a merge: retire.lua on the loser. owned are the
// tags whose index entries for the loser the caller must remove. ok is false
// when the loser changed since the snapshot (version) or went elsewhere.
func (s *Store) retireLoser(ctx context.Context, loser, survivor, version string) (owned []string, ok bool, err error) {
	v, err := s.retire.Run(ctx, s.rdb, append(keysFor(loser).list(), scoreLogKey(loser)), survivor, version,
		strconv.FormatInt(s.now().UnixMilli(), 10), strconv.FormatInt(tagLease.Milliseconds(), 10)).Result()
	if err != nil {
		return nil, false, fmt.Errorf("contacts: link %s to %s after merging: %w", loser, survivor, err)
	}
	r, err := asReply(v, 3)
	if err != nil {
		return nil, false, err
	}
	if r.str(0) != "ok" {
		return nil, false, nil
	}
	return r.strings(2), true, nil
}

// linkAll points identities at target. Those in res must end up there:
// it returns false if one of them holds a contact or a link someone else
// just moved (the caller resolves again). Those in moved were a merged
// contact's (loser); their links are repointed from loser to target as a
// shortcut, and a failure there only leaves a longer chain.
func (s *Store) linkAll(ctx context.Context, res []resolution, target, loser string, moved []Identity) (bool, error) {
	type req struct {
		home, expected string
		must           bool
	}
	var reqs []req
	for _, r := range res {
		if r.home == target || r.homeLink == target {
			continue
		}
		if r.homeLink == "" && r.exists {
			// The home held a contact: target itself, or (when merging) a
			// contact just merged into target, whose slot is now a link.
			continue
		}
		reqs = append(reqs, req{r.home, r.homeLink, true})
	}
	for _, i := range moved {
		if h := IDFor(i); h != target && h != loser {
			reqs = append(reqs, req{h, loser, false})
		}
	}
	if len(reqs) == 0 {
		return true, nil
	}
	cmds := make([]*redis.Cmd, len(reqs))
	// Errors are read command by command below.
	_, _ = s.pipelined(ctx, func(p redis.Pipeliner) error {
		for n, q := range reqs {
			k := keysFor(q.home)
			cmds[n] = s.link.EvalSha(ctx, p, []string{k.hash, k.link}, target, q.expected)
		}
		return nil
	})
	ok := true
	for n, q := range reqs {
		v, err := cmds[n].Result()
		if err != nil {
			if q.must {
				return false, fmt.Errorf("contacts: link %s to %s: %w", q.home, target, err)
			}
			continue
		}
		r, err := asReply(v, 2)
		if err != nil {
			return false, err
		}
		if q.must && r.str(0) != "ok" {
			ok = false
		}
	}
	return ok, nil
}
