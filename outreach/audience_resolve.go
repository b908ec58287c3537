package outreach

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/journeygate/gateway/contacts"
)

// AudienceSource is what resolving an audience needs of the contact store:
// the tag index for candidates and the contact records for the exact test,
// many to a round trip (*contacts.Store is one).
type AudienceSource interface {
	WithTag(ctx context.Context, tag string) ([]string, error)
	Get(ctx context.Context, id string) (*contacts.Contact, error)
	GetMany(ctx context.Context, ids []string) ([]*contacts.Contact, []error)
}

// resolveWorkers bounds the concurrent batch reads of one resolution, and
// resolveBatch the contacts read in one round trip.
const (
	resolveWorkers = 4
	resolveBatch   = 128
)

// Resolve returns the ids of the contacts the audience selects, sorted.
//
// Cost: one SMEMBERS per distinct tag (the tag:<name> index keys sit in
// different Cluster slots, so the set algebra (intersection, union,
// difference) runs here rather than in SINTER/SUNION/SDIFF), then the
// candidates' records, resolveBatch to a pipeline, resolveWorkers at a time. Candidates are the
// tag sets combined as the expression says, with stage, score and activity
// terms treated as "anyone"; the exact expression is then tested on each
// candidate's record, which also corrects a tag index that briefly lags.
// So a segment costs about (sum of its tag set sizes) + (candidates) Redis
// round trips' worth of work, and memory for those sets. An expression
// whose candidates would be "everyone but ..." is refused with ErrAudience:
// the store has no list of all contacts, and scanning one would be the
// wrong cost for a campaign anyway.
func (a *Audience) Resolve(ctx context.Context, src AudienceSource) ([]string, error) {
	sets := map[string]map[string]struct{}{}
	for _, tag := range a.Tags() {
		ids, err := src.WithTag(ctx, tag)
		if err != nil {
			return nil, fmt.Errorf("outreach: audience tag %q: %w", tag, err)
		}
		s := make(map[string]struct{}, len(ids))
		for _, id := range ids {
			s[id] = struct{}{}
		}
		sets[tag] = s
	}
	b := a.root.bound(sets)
	if b.neg {
		return nil, fmt.Errorf("%w: %q selects everyone but some tags; bound it with a tag term joined by AND (e.g. tag:newsletter AND NOT tag:churned)", ErrAudience, a.src)
	}
	candidates := make([]string, 0, len(b.set))
	for id := range b.set {
		candidates = append(candidates, id)
	}
	slices.Sort(candidates)
	return a.filter(ctx, src, candidates)
}

// filter reads the candidates and keeps the ones the expression matches,
// under the id each contact lives at now (merges move contacts).
func (a *Audience) filter(ctx context.Context, src AudienceSource, ids []string) ([]string, error) {
	var (
		mu      sync.Mutex
		matched = map[string]struct{}{}
		first   error
		wg      sync.WaitGroup
		work    = make(chan []string)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(resolveWorkers, (len(ids)+resolveBatch-1)/resolveBatch) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				cs, errs := src.GetMany(ctx, batch)
				mu.Lock()
				for i, c := range cs {
					switch err := errs[i]; {
					case errors.Is(err, contacts.ErrNotFound):
						// deleted since it was indexed
					case err != nil:
						if first == nil {
							first = fmt.Errorf("outreach: audience read contact %s: %w", batch[i], err)
							cancel()
						}
					case a.Matches(c):
						matched[c.ID] = struct{}{}
					}
				}
				mu.Unlock()
			}
		}()
	}
	for start := 0; start < len(ids) && ctx.Err() == nil; start += resolveBatch {
		work <- ids[start:min(start+resolveBatch, len(ids))]
	}
	close(work)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(matched))
	for id := range matched {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}

// candidateSet is a set of ids, or with neg the complement of one ("everyone
// but set"). exact says whether it is the expression's exact answer (only
// tag terms below) or an over-approximation.
type candidateSet struct {
	set   map[string]struct{}
	neg   bool
	exact bool
}

var anyone = candidateSet{set: map[string]struct{}{}, neg: true}

func (n *audNode) bound(sets map[string]map[string]struct{}) candidateSet {
	switch n.op {
	case opTag:
		return candidateSet{set: sets[n.value], exact: true}
	case opNot:
		k := n.kids[0].bound(sets)
		if !k.exact {
			return anyone // the complement of an over-approximation bounds nothing
		}
		return candidateSet{set: k.set, neg: !k.neg, exact: true}
	case opAnd, opOr:
		acc := n.kids[0].bound(sets)
		for _, k := range n.kids[1:] {
			acc = combine(acc, k.bound(sets), n.op == opAnd)
		}
		return acc
	}
	return anyone // stage, score, activity: decided per contact
}

func combine(x, y candidateSet, and bool) candidateSet {
	exact := x.exact && y.exact
	if !and { // De Morgan: x ∪ y = ¬(¬x ∩ ¬y)
		r := combine(candidateSet{set: x.set, neg: !x.neg}, candidateSet{set: y.set, neg: !y.neg}, true)
		return candidateSet{set: r.set, neg: !r.neg, exact: exact}
	}
	switch {
	case !x.neg && !y.neg:
		return candidateSet{set: intersect(x.set, y.set), exact: exact}
	case !x.neg && y.neg:
		return candidateSet{set: subtract(x.set, y.set), exact: exact}
	case x.neg && !y.neg:
		return candidateSet{set: subtract(y.set, x.set), exact: exact}
	}
	return candidateSet{set: union(x.set, y.set), neg: true, exact: exact}
}

func intersect(a, b map[string]struct{}) map[string]struct{} {
	if len(b) < len(a) {
		a, b = b, a
	}
	out := map[string]struct{}{}
	for id := range a {
		if _, ok := b[id]; ok {
			out[id] = struct{}{}
		}
	}
	return out
}

func subtract(a, b map[string]struct{}) map[string]struct{} {
	out := map[string]struct{}{}
	for id := range a {
		if _, ok := b[id]; !ok {
			out[id] = struct{}{}
		}
	}
	return out
}

func union(a, b map[string]struct{}) map[string]struct{} {
	out := make(map[string]struct{}, len(a)+len(b))
	for id := range a {
		out[id] = struct{}{}
	}
	for id := range b {
		out[id] = struct{}{}
	}
	return out
}
