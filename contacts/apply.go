package contacts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Apply validates ch (nothing is written when it is invalid) and applies it
// to the contact its identities name, creating the contact when none does.
//
// One identity: one EVALSHA in the identity's home slot does everything (link
// check, de-dup, create, fields, timeline). If the home was merged into
// another contact the script says so without writing and Apply runs it there.
//
// Several identities: one pipelined round trip resolves them all. If they
// name at most one contact, the identities that lead elsewhere are linked to
// it and the change is applied there. If they name several, the contacts are
// merged into the oldest (see mergeInto) before the change is applied.
// A new contact takes the id of the first identity.
//
// Crash windows: a merge writes the survivor first, then links the merged
// contact and deletes its data in one step, then repoints its identities; a
// crash between steps leaves data duplicated in two contacts (both
// reachable), never lost, and the next change naming both completes the
// merge. The tag index follows each step (see RepairTagIndex). For a brand-new contact with several identities, the contact is
// created before the other identities are linked to it: a crash in between
// leaves those identities unlinked (they resolve to nothing) until a change
// names them again.
func (s *Store) Apply(ctx context.Context, ch Change) (Result, error) {
	p, err := s.prepare(ch)
	if err != nil {
		return Result{}, err
	}
	if len(p.identities) == 1 {
		return s.applyAt(ctx, IDFor(p.identities[0]), p)
	}
	return s.applyMulti(ctx, p)
}

// applyAt runs apply.lua on id, following links the script reports.
func (s *Store) applyAt(ctx context.Context, id string, p *prepared) (Result, error) {
	chain := []string{id}
	var idxErr error
	for {
		k := keysFor(id)
		capk := k.hash
		if p.capType != "" {
			capk = scoreCapKey(id, p.capType)
		}
		v, err := s.applies.run(ctx, append(k.list(), scoreLogKey(id), capk), p.argv...)
		if err != nil {
			return Result{}, fmt.Errorf("contacts: apply change to %s: %w", id, err)
		}
		r, err := asReply(v, 12)
		if err != nil {
			return Result{}, err
		}
		if r.int(8) > 0 {
			// An earlier tag index update of this slot never finished.
			idxErr = errors.Join(idxErr, s.RepairTagIndex(ctx, id))
		}
		switch r.str(0) {
		case "redirect":
			id = r.str(1)
			if slices.Contains(chain, id) || len(chain) > maxHops {
				return Result{}, fmt.Errorf("contacts: the links from %s form a loop or a chain longer than %d (%v); repair the data", chain[0], maxHops, chain)
			}
			chain = append(chain, id)
			continue
		case "ok", "dup":
		default:
			return Result{}, fmt.Errorf("contacts: apply.lua answered %q; are the scripts in Redis from another version?", r.str(0))
		}
		s.compress(ctx, chain)
		res := Result{
			ContactID:      id,
			Created:        r.int(2) == 1,
			Duplicate:      r.str(0) == "dup",
			Score:          int(r.int(3)),
			ScoreDelta:     int(r.int(9)),
			ActivityBefore: r.str(11),
			TagsAdded:      nilIfEmpty(r.strings(4)),
			TagsRemoved:    nilIfEmpty(r.strings(5)),
		}
		slices.Sort(res.TagsAdded)
		slices.Sort(res.TagsRemoved)
		if owned := r.strings(7); len(owned) > 0 {
			ver := strconv.FormatInt(r.int(6), 10)
			items := make([]tagState, 0, len(owned))
			for _, t := range owned {
				_, added := slices.BinarySearch(res.TagsAdded, t)
				items = append(items, tagState{t, ver, added})
			}
			idxErr = errors.Join(idxErr, s.syncIndex(ctx, id, items))
		}
		if anchor := r.str(10); anchor != "0" && anchor != "" {
			idxErr = errors.Join(idxErr, s.indexActivity(id, anchor))
		}
		if idxErr != nil {
			idxErr = fmt.Errorf("contacts: contact %s changed, but an index update failed; run RepairTagIndex on it (%v): %w", id, idxErr, ErrTagIndex)
		}
		return res, idxErr
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// applyMulti applies a change naming several identities; see Apply.
func (s *Store) applyMulti(ctx context.Context, p *prepared) (Result, error) {
	var (
		first  *Result // the attempt that applied the change, if any
		merged bool
		idxErr error
	)
	// apply runs the change on id and remembers the attempt that applied it:
	// after a conflict the change is applied again and is then a duplicate.
	apply := func(id string) (Result, error) {
		r, err := s.applyAt(ctx, id, p)
		if err != nil && !errors.Is(err, ErrTagIndex) {
			return r, err
		}
		idxErr = errors.Join(idxErr, err)
		if first == nil && !r.Duplicate {
			first = &r
		}
		return r, nil
	}
	finish := func(r Result) (Result, error) {
		if first != nil {
			r.Created, r.Duplicate, r.TagsAdded, r.TagsRemoved = first.Created, false, first.TagsAdded, first.TagsRemoved
		}
		if p.internal {
			r.Duplicate = false
		}
		r.Merged = merged
		return r, idxErr
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return Result{}, err
		}
		res, err := s.resolve(ctx, p.identities)
		if err != nil {
			return Result{}, err
		}
		contacts := existing(res)
		switch len(contacts) {
		case 0:
			r, err := apply(res[0].home)
			if err != nil {
				return Result{}, err
			}
			ok, err := s.linkAll(ctx, res, r.ContactID, "", nil)
			if err != nil {
				return Result{}, err
			}
			if ok {
				return finish(r)
			}
		case 1:
			target := contacts[0].final
			ok, err := s.linkAll(ctx, res, target, "", nil)
			if err != nil {
				return Result{}, err
			}
			if ok {
				r, err := apply(target)
				if err != nil {
					return Result{}, err
				}
				return finish(r)
			}
		default:
			target := contacts[0].final
			ok := true
			for _, l := range contacts[1:] {
				moved, done, err := s.mergeInto(ctx, l.final, target)
				if errors.Is(err, ErrTagIndex) {
					idxErr, err = errors.Join(idxErr, err), nil
				}
				if err != nil {
					return Result{}, err
				}
				if !done {
					ok = false
					break
				}
				merged = true
				if ok, err = s.linkAll(ctx, nil, target, l.final, moved); err != nil {
					return Result{}, err
				}
			}
			if !ok {
				continue
			}
			if ok, err = s.linkAll(ctx, res, target, "", nil); err != nil {
				return Result{}, err
			}
			if ok {
				r, err := apply(target)
				if err != nil {
					return Result{}, err
				}
				return finish(r)
			}
		}
	}
	return Result{}, fmt.Errorf("contacts: linking %v kept conflicting with concurrent changes after %d attempts: %w", p.identities, maxAttempts, ErrContention)
}

// backoff waits before retry attempt n (none before the first), growing and
// jittered, so racing merges of the same contacts stop colliding.
func backoff(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	d := time.Millisecond << min(n-1, 6)
	d = d/2 + rand.N(d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("contacts: gave up waiting to retry: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// existing returns one resolution per distinct existing contact, oldest
// first (ties by id), so every process picks the same survivor.
func existing(res []resolution) []resolution {
	var out []resolution
	for _, r := range res {
		if r.exists && !slices.ContainsFunc(out, func(o resolution) bool { return o.final == r.final }) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b resolution) int {
		return cmp.Or(cmp.Compare(a.created, b.created), strings.Compare(a.final, b.final))
	})
	return out
}
