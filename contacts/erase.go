package contacts

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// Holdings names what an erasure must reach for one contact: its id, the
// slots its data and identities live in, its identities and its tags.
// Other packages erase their own records with it before the contact
// itself goes, so a failed erasure can always be repeated from the start.
type Holdings struct {
	ID         string
	Slots      []string   // ID first, then the home slot of every identity and every id merged into it
	Identities []Identity // normalized, as stored
	Tags       []string
}

// Values returns the identity values, which is how other stores may
// mention the person (a phone number in a task payload, say).
func (h *Holdings) Values() []string {
	out := make([]string, 0, len(h.Identities))
	for _, i := range h.Identities {
		out = append(out, i.Value)
	}
	return out
}

// Holdings reads what an erasure of contact id must reach. id may be an id
// merged into another contact; the survivor is erased then. It answers
// ErrNotFound when nothing is held.
func (s *Store) Holdings(ctx context.Context, id string) (*Holdings, error) {
	if !validID(id) {
		return nil, fmt.Errorf("contacts: %q is not a contact id: %w", id, ErrInvalid)
	}
	slots := []string{id}
	cur := id
	for hop := 0; ; hop++ {
		if hop > maxHops {
			return nil, fmt.Errorf("contacts: the links from %s form a loop; repair the data", id)
		}
		next, err := s.rdb.Get(ctx, keysFor(cur).link).Result()
		if errors.Is(err, redis.Nil) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("contacts: erase %s: %w", id, err)
		}
		cur = next
		slots = append(slots, cur)
	}
	k := keysFor(cur)
	var ids, tags, tagp *redis.StringSliceCmd
	var tagv *redis.StringSliceCmd
	var exists *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		ids = p.SMembers(ctx, k.ids)
		tags = p.SMembers(ctx, k.tags)
		tagv = p.HKeys(ctx, k.tagv)
		tagp = p.HKeys(ctx, k.tagp) // a hash: tag -> lease expiry
		exists = p.Exists(ctx, k.list()...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("contacts: erase %s: %w", id, err)
	}
	if exists.Val() == 0 && len(slots) == 1 {
		return nil, fmt.Errorf("contacts: no contact %s: %w", id, ErrNotFound)
	}
	h := &Holdings{ID: cur}
	h.Slots = append(h.Slots, cur)
	for _, sl := range slots {
		if !slices.Contains(h.Slots, sl) {
			h.Slots = append(h.Slots, sl)
		}
	}
	for _, raw := range ids.Val() {
		if i, ok := parseIdentity(raw); ok {
			h.Identities = append(h.Identities, i)
			if home := IDFor(i); !slices.Contains(h.Slots, home) {
				h.Slots = append(h.Slots, home)
			}
		}
	}
	for _, list := range [][]string{tags.Val(), tagv.Val(), tagp.Val()} {
		for _, t := range list {
			if !slices.Contains(h.Tags, t) {
				h.Tags = append(h.Tags, t)
			}
		}
	}
	slices.Sort(h.Tags)
	return h, nil
}

// Erased counts what Erase removed.
type Erased struct {
	Keys       int `json:"keys"`
	Identities int `json:"identities"`
	Tags       int `json:"tag_index_entries"`
}

// Erase removes the contact in h everywhere the contacts store keeps it:
// the slots its identities point through (links, de-dup records), its
// entries in the tag index, and last, in one command on its own slot,
// its hash, tags, identity set, timeline and event ids. Until that last
// step the identity set is there to repeat the erasure from, so an
// erasure that fails midway is finished by running it again. A slot that
// holds another live contact is left alone.
func (s *Store) Erase(ctx context.Context, h *Holdings) (Erased, error) {
	var out Erased
	out.Identities = len(h.Identities)
	for _, slot := range h.Slots[1:] {
		k := keysFor(slot)
		live, err := s.rdb.Exists(ctx, k.hash).Result()
		if err != nil {
			return out, fmt.Errorf("contacts: erase %s: %w", h.ID, err)
		}
		if live > 0 {
			continue
		}
		n, err := s.eraseSlot(ctx, slot)
		if err != nil {
			return out, fmt.Errorf("contacts: erase %s: slot %s: %w", h.ID, slot, err)
		}
		out.Keys += n
	}
	if len(h.Tags) > 0 {
		cmds := make([]*redis.IntCmd, len(h.Tags))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, t := range h.Tags {
				cmds[i] = p.SRem(ctx, tagIndexKey(t), h.ID)
			}
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("contacts: erase %s: tag index: %w", h.ID, err)
		}
		for _, c := range cmds {
			out.Tags += int(c.Val())
		}
	}
	// The activity indexes name every id the person had; leaving one
	// there would keep the id (and a sweep would look for it).
	members := make([]any, len(h.Slots))
	for i, slot := range h.Slots {
		members[i] = slot
	}
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, seenIndexKey, members...)
		p.ZRem(ctx, decayIndexKey, members...)
		return nil
	}); err != nil {
		return out, fmt.Errorf("contacts: erase %s: activity index: %w", h.ID, err)
	}
	n, err := s.eraseSlot(ctx, h.ID)
	if err != nil {
		return out, fmt.Errorf("contacts: erase %s: %w", h.ID, err)
	}
	out.Keys += n
	return out, nil
}

// eraseSlot deletes every key of one slot in one DEL (one slot, so one
// command also on Cluster): the fixed keys (the de-dup record among them),
// the score log and the score caps.
func (s *Store) eraseSlot(ctx context.Context, slot string) (int, error) {
	k := keysFor(slot)
	keys := append(k.list(), scoreLogKey(slot))
	caps, err := s.slotKeys(ctx, slot, scoreCapKey(slot, "*"))
	if err != nil {
		return 0, err
	}
	keys = append(keys, caps...)
	n, err := s.rdb.Del(ctx, keys...).Result()
	return int(n), err
}

// slotKeys lists the keys of one contact's slot that match pattern. The
// slot lives on one node, so on Cluster only that node is scanned.
func (s *Store) slotKeys(ctx context.Context, slot, pattern string) ([]string, error) {
	node := s.rdb
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		c, err := cc.MasterForKey(ctx, keysFor(slot).hash)
		if err != nil {
			return nil, err
		}
		node = c
	}
	var out []string
	var cursor uint64
	for {
		keys, next, err := node.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return nil, err
		}
		out = append(out, keys...)
		if cursor = next; cursor == 0 {
			return out, nil
		}
	}
}
