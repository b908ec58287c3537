package contacts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// resolution is where one identity leads.
type resolution struct {
	identity Identity
	home     string   // IDFor(identity)
	homeLink string   // the link at home, "" when none
	chain    []string // home, then every id the links lead through
	final    string   // last id of chain
	exists   bool     // final holds a contact
	created  int64    // its created_at (unix ms)
}

type slotState struct {
	link    string
	created int64
	exists  bool
}

// resolve follows every identity to its contact: one pipelined round trip
// for all homes, one more per level of links (rare).
func (s *Store) resolve(ctx context.Context, ids []Identity) ([]resolution, error) {
	states := map[string]slotState{}
	var want []string
	for _, i := range ids {
		if h := IDFor(i); !slices.Contains(want, h) {
			want = append(want, h)
		}
	}
	for round := 0; len(want) > 0; round++ {
		if round > maxHops {
			return nil, fmt.Errorf("contacts: more than %d links to follow from %v; the links form a loop, repair the data", maxHops, want)
		}
		got, err := s.fetchSlots(ctx, want)
		if err != nil {
			return nil, err
		}
		var next []string
		for i, st := range got {
			states[want[i]] = st
		}
		for _, st := range got {
			if _, known := states[st.link]; st.link != "" && !known && !slices.Contains(next, st.link) {
				next = append(next, st.link)
			}
		}
		want = next
	}
	out := make([]resolution, len(ids))
	for n, i := range ids {
		home := IDFor(i)
		r := resolution{identity: i, home: home, homeLink: states[home].link, chain: []string{home}}
		cur := home
		for states[cur].link != "" {
			cur = states[cur].link
			if len(r.chain) > maxHops || slices.Contains(r.chain, cur) {
				return nil, fmt.Errorf("contacts: the links from %s form a loop or a chain longer than %d (%v); repair the data", home, maxHops, r.chain)
			}
			r.chain = append(r.chain, cur)
		}
		r.final, r.exists, r.created = cur, states[cur].exists, states[cur].created
		out[n] = r
	}
	return out, nil
}

// fetchSlots reads the link and created_at of each id in one pipeline.
func (s *Store) fetchSlots(ctx context.Context, ids []string) ([]slotState, error) {
	links := make([]*redis.StringCmd, len(ids))
	created := make([]*redis.StringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			k := keysFor(id)
			links[i] = p.Get(ctx, k.link)
			created[i] = p.HGet(ctx, k.hash, "created_at")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("contacts: resolve identities: %w", err)
	}
	out := make([]slotState, len(ids))
	for i := range ids {
		link, err := links[i].Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("contacts: resolve identities: %w", err)
		}
		c, err := created[i].Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("contacts: resolve identities: %w", err)
		}
		out[i].link = link
		if c != "" {
			out[i].exists = true
			out[i].created, _ = strconv.ParseInt(c, 10, 64)
		}
	}
	return out, nil
}

// Lookup returns the id of the contact known by i, following merges.
func (s *Store) Lookup(ctx context.Context, i Identity) (string, error) {
	n, err := NormalizeIdentity(i)
	if err != nil {
		return "", err
	}
	res, err := s.resolve(ctx, []Identity{n})
	if err != nil {
		return "", err
	}
	r := res[0]
	if !r.exists {
		return "", fmt.Errorf("contacts: no contact has identity %s: %w", n, ErrNotFound)
	}
	s.compress(ctx, r.chain)
	return r.final, nil
}

// compress points every link of a chain of two or more links straight at
// its end, so later lookups take one hop. Best effort: a lost race only
// leaves a longer chain, which still resolves.
func (s *Store) compress(ctx context.Context, chain []string) {
	if len(chain) < 3 {
		return
	}
	end := chain[len(chain)-1]
	_, _ = s.pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < len(chain)-2; i++ {
			k := keysFor(chain[i])
			s.link.EvalSha(ctx, p, []string{k.hash, k.link}, end, chain[i+1])
		}
		return nil
	})
}
