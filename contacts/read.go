package contacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Contact is a contact as the admin API shows it.
type Contact struct {
	ID string `json:"id"`
	// Identities maps a kind (phone, email, ...) to its values, sorted.
	Identities map[string][]string `json:"identities"`
	// Tags are sorted and never null.
	Tags     []string `json:"tags"`
	Stage    string   `json:"stage"`
	Activity string   `json:"activity"`
	Score    int      `json:"score"`
	Owner    string   `json:"owner,omitempty"`
	Name     string   `json:"name,omitempty"`
	// Consent has every Options.Channels key: opted_in, opted_out or unknown.
	Consent       map[string]string `json:"consent"`
	ConsentSource map[string]string `json:"consent_source,omitempty"`
	Unreachable   []string          `json:"unreachable,omitempty"`
	Fields        map[string]string `json:"fields,omitempty"`
	TZ            string            `json:"tz,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	LastSeen      time.Time         `json:"last_seen,omitzero"`
	// LastInbound is the customer's latest interaction per channel.
	LastInbound map[string]time.Time `json:"last_inbound,omitempty"`
}

// readContact runs read.lua on id, following links to the surviving
// contact, and returns its id and the snapshot.
func (s *Store) readContact(ctx context.Context, id string, timeline int, ids bool) (string, reply, error) {
	if !validID(id) {
		return "", nil, fmt.Errorf("contacts: %q is not a contact id: %w", id, ErrNotFound)
	}
	start := id
	for hop := 0; hop <= maxHops; hop++ {
		k := keysFor(id)
		v, err := s.read.Run(ctx, s.rdb, k.list(), strconv.Itoa(timeline), boolArg(ids), "0").Result()
		if err != nil {
			return "", nil, fmt.Errorf("contacts: read contact %s: %w", id, err)
		}
		r, err := asReply(v, 7)
		if err != nil {
			return "", nil, err
		}
		if r.str(0) == "redirect" {
			id = r.str(1)
			continue
		}
		if r.pairs(2)["created_at"] == "" {
			return "", nil, fmt.Errorf("contacts: no contact %s: %w", start, ErrNotFound)
		}
		return id, r, nil
	}
	return "", nil, fmt.Errorf("contacts: the links from %s form a loop or a chain longer than %d; repair the data", start, maxHops)
}

// Get returns contact id, or the contact it was merged into.
func (s *Store) Get(ctx context.Context, id string) (*Contact, error) {
	id, r, err := s.readContact(ctx, id, -1, true)
	if err != nil {
		return nil, err
	}
	return s.contactOf(id, r), nil
}

// contactOf builds the contact from read.lua's snapshot of it.
func (s *Store) contactOf(id string, r reply) *Contact {
	h := r.pairs(2)
	c := &Contact{
		ID:         id,
		Identities: map[string][]string{},
		Tags:       r.strings(3),
		Stage:      orDefault(h["stage"], StageProspect),
		Activity:   orDefault(h["activity"], ActivityActive),
		Owner:      h["owner"],
		Name:       h["name"],
		TZ:         h["tz"],
		Consent:    make(map[string]string, len(s.opt.Channels)),
		CreatedAt:  msTime(h["created_at"]),
		LastSeen:   msTime(h["last_seen"]),
	}
	c.Score, _ = strconv.Atoi(h["score"])
	slices.Sort(c.Tags)
	for _, raw := range r.strings(4) {
		if i, ok := parseIdentity(raw); ok {
			c.Identities[i.Kind] = append(c.Identities[i.Kind], i.Value)
		}
	}
	for _, v := range c.Identities {
		slices.Sort(v)
	}
	for _, ch := range s.opt.Channels {
		c.Consent[ch] = orDefault(h["consent:"+ch], ConsentUnknown)
	}
	for f, v := range h {
		switch {
		case strings.HasPrefix(f, "consent_source:"):
			if c.ConsentSource == nil {
				c.ConsentSource = map[string]string{}
			}
			c.ConsentSource[strings.TrimPrefix(f, "consent_source:")] = v
		case strings.HasPrefix(f, "last_in:"):
			if c.LastInbound == nil {
				c.LastInbound = map[string]time.Time{}
			}
			c.LastInbound[strings.TrimPrefix(f, "last_in:")] = msTime(v)
		case strings.HasPrefix(f, "unreachable:"):
			c.Unreachable = append(c.Unreachable, strings.TrimPrefix(f, "unreachable:"))
		case strings.HasPrefix(f, "f:"):
			if c.Fields == nil {
				c.Fields = map[string]string{}
			}
			c.Fields[strings.TrimPrefix(f, "f:")] = v
		}
	}
	slices.Sort(c.Unreachable)
	return c
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// msTime reads the unix milliseconds the scripts store; "" is the zero time.
func msTime(v string) time.Time {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Timeline returns the newest limit entries of contact id (all when
// limit <= 0), newest first.
func (s *Store) Timeline(ctx context.Context, id string, limit int) ([]Entry, error) {
	if limit < 0 {
		limit = 0
	}
	id, r, err := s.readContact(ctx, id, limit, false)
	if err != nil {
		return nil, err
	}
	raw := r.strings(5)
	out := make([]Entry, 0, len(raw))
	for _, e := range raw {
		var entry Entry
		if err := json.Unmarshal([]byte(e), &entry); err != nil {
			return nil, fmt.Errorf("contacts: timeline of %s holds an unreadable entry %q: %v", id, e, err)
		}
		out = append(out, entry)
	}
	return out, nil
}

// WithTag returns the ids of the contacts carrying tag, sorted. It reads the
// tag index, which can briefly lag a change (see RepairTagIndex).
func (s *Store) WithTag(ctx context.Context, tag string) ([]string, error) {
	if _, err := checkTags("tag", []string{tag}); err != nil {
		return nil, err
	}
	ids, err := s.rdb.SMembers(ctx, tagIndexKey(tag)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("contacts: read tag index %q: %w", tag, err)
	}
	if ids == nil {
		ids = []string{}
	}
	slices.Sort(ids)
	return ids, nil
}
