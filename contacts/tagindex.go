package contacts

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The tag index tag:<name> lives outside the contacts' slots, so it cannot be
// changed in the same script as the contact, and writers racing on one tag of
// one contact could land their index writes out of order. So index entries
// are written by one writer at a time per contact and tag:
//
//   - Every script that changes a tag records the contact's version for it in
//     {c:ID}:tagv and, unless another writer holds the duty, takes the duty
//     to update the index entry: a lease in {c:ID}:tagp (tag -> expiry).
//   - The duty holder writes the entry from the state it knows, then runs
//     checktag.lua: if the tag's version is unchanged the duty ends; if not,
//     the tag changed meanwhile and the holder writes again. Its write always
//     lands before its check, so its last write reflects the latest change.
//
// Crash window: between a contact script and its confirmed index write the
// index lacks, or still holds, the changed tags; WithTag lags by that long.
// If the holder dies, its lease (30 s) runs out, and then the next Apply
// on the contact, or RepairTagIndex, takes the duty over and fixes the entry.
// A holder stalled longer than its lease could race its successor.

// tagLease is how long a writer holds the duty for one tag's index entry.
const tagLease = 30 * time.Second

// maxIndexRounds bounds one holder's writes; each extra round means the tag
// changed again meanwhile. Past it the duty is left to lapse and be repaired.
const maxIndexRounds = 64

// tagState is one tag's index entry for a contact as of a tag version.
type tagState struct {
	tag, version string
	member       bool
}

// tagStates lists tags with one version and membership.
func tagStates(tags []string, version string, member bool) []tagState {
	out := make([]tagState, 0, len(tags))
	for _, t := range tags {
		out = append(out, tagState{t, version, member})
	}
	return out
}

// syncIndex writes the index entries of contact id whose duty the caller
// holds, until checktag.lua confirms them.
func (s *Store) syncIndex(ctx context.Context, id string, items []tagState) error {
	k := keysFor(id)
	// Cluster pipelines run per node in parallel: there the check must wait
	// for the write instead of riding in the same pipeline.
	_, cluster := s.rdb.(*redis.ClusterClient)
	for round := 0; len(items) > 0; round++ {
		if round == maxIndexRounds {
			return fmt.Errorf("tags of %s kept changing during %d index updates", id, maxIndexRounds)
		}
		args := make([]any, 0, 2+2*len(items))
		args = append(args, strconv.FormatInt(s.now().UnixMilli(), 10), strconv.FormatInt(tagLease.Milliseconds(), 10))
		for _, it := range items {
			args = append(args, it.tag, it.version)
		}
		write := func(p redis.Pipeliner) {
			for _, it := range items {
				if it.member {
					p.SAdd(ctx, tagIndexKey(it.tag), id)
				} else {
					p.SRem(ctx, tagIndexKey(it.tag), id)
				}
			}
		}
		var check *redis.Cmd
		confirm := func(p redis.Pipeliner) {
			check = s.checktag.EvalSha(ctx, p, []string{k.tagv, k.tagp, k.tags, k.link, k.hash}, args...)
		}
		if cluster {
			if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { write(p); return nil }); err != nil {
				return fmt.Errorf("update tag index of %s: %w", id, err)
			}
			if _, err := s.pipelined(ctx, func(p redis.Pipeliner) error { confirm(p); return nil }); err != nil {
				return fmt.Errorf("confirm tag index of %s: %w", id, err)
			}
		} else if _, err := s.pipelined(ctx, func(p redis.Pipeliner) error { write(p); confirm(p); return nil }); err != nil {
			return fmt.Errorf("update tag index of %s: %w", id, err)
		}
		r, err := asReply(check.Val(), 2*len(items))
		if err != nil {
			return err
		}
		var next []tagState
		for n, it := range items {
			if code := r.int(2 * n); code != 0 {
				next = append(next, tagState{it.tag, r.str(2*n + 1), code == 1})
			}
		}
		items = next
	}
	return nil
}

// RepairTagIndex re-derives the tag index entries of contact id, and of the
// contacts it was merged into: every tag it has is indexed, and every tag it
// no longer has but whose index update never finished (or any tag, for a
// merged id) is removed. Tags whose update is under way right now are left
// to their writer. Run it when Apply returned ErrTagIndex; see the crash
// window above. Apply also runs it by itself when it finds a lapsed update.
func (s *Store) RepairTagIndex(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("contacts: %q is not a contact id: %w", id, ErrNotFound)
	}
	var seen []string
	for id != "" {
		if len(seen) > maxHops || slices.Contains(seen, id) {
			return fmt.Errorf("contacts: the links from %s form a loop or a chain longer than %d (%v); repair the data", seen[0], maxHops, seen)
		}
		seen = append(seen, id)
		k := keysFor(id)
		v, err := s.claimtags.Run(ctx, s.rdb, []string{k.hash, k.tags, k.link, k.tagv, k.tagp},
			strconv.FormatInt(s.now().UnixMilli(), 10), strconv.FormatInt(tagLease.Milliseconds(), 10)).Result()
		if err != nil {
			return fmt.Errorf("contacts: claim the tag index entries of %s: %w", id, err)
		}
		r, err := asReply(v, 2)
		if err != nil {
			return err
		}
		claimed := r.strings(1)
		items := make([]tagState, 0, len(claimed)/3)
		for n := 0; n+2 < len(claimed); n += 3 {
			items = append(items, tagState{claimed[n], claimed[n+1], claimed[n+2] == "1"})
		}
		if err := s.syncIndex(ctx, id, items); err != nil {
			return fmt.Errorf("contacts: %w", err)
		}
		id = r.str(0)
	}
	return nil
}
