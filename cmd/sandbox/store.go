package main

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// message is one thing a stand-in accepted for delivery: what the gateway sent
// and, for the official account, the passive replies it gave to played messages.
type message struct {
	ID      uint64    `json:"id"`
	Channel string    `json:"channel"`
	API     string    `json:"api"` // the platform call that carried it, e.g. message/send
	To      string    `json:"to"`  // one recipient; email lists every envelope recipient, comma separated
	Type    string    `json:"type"`
	Body    any       `json:"body"`
	Time    time.Time `json:"time"`
}

// channelStats counts what a channel received. Received keeps counting after
// old messages fall out of the bounded store, so load tests can check totals.
type channelStats struct {
	Received uint64 `json:"received"`
	Kept     int    `json:"kept"`
}

// store keeps the last keep messages per channel in a ring, so a long run or a
// load test cannot exhaust memory.
type store struct {
	mu    sync.Mutex
	keep  int
	seq   uint64
	rings map[string]*ring
	total map[string]uint64
}

type ring struct {
	buf   []message
	start int // index of the oldest message once the ring is full
}

func newStore(keep int) *store {
	return &store{keep: keep, rings: map[string]*ring{}, total: map[string]uint64{}}
}

// add stamps m with the next id and keeps it, dropping the oldest when full.
func (s *store) add(m message) message {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	m.ID = s.seq
	r := s.rings[m.Channel]
	if r == nil {
		r = &ring{}
		s.rings[m.Channel] = r
	}
	if len(r.buf) < s.keep {
		r.buf = append(r.buf, m)
	} else {
		r.buf[r.start] = m
		r.start = (r.start + 1) % len(r.buf)
	}
	s.total[m.Channel]++
	return m
}

// list returns the kept messages of channel ("" for all), oldest first,
// addressed to to ("" for any), at most limit of the newest (0 for all).
func (s *store) list(channel, to string, limit int) []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []message{}
	for _, name := range channelNames {
		if channel != "" && channel != name {
			continue
		}
		r := s.rings[name]
		if r == nil {
			continue
		}
		for i := range r.buf {
			m := r.buf[(r.start+i)%len(r.buf)]
			if to == "" || addressedTo(m.To, to) {
				out = append(out, m)
			}
		}
	}
	if channel == "" {
		slices.SortFunc(out, func(a, b message) int { return int(a.ID) - int(b.ID) })
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}

func addressedTo(list, to string) bool {
	if list == to {
		return true
	}
	for _, one := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(one), to) {
			return true
		}
	}
	return false
}

// stats reports per channel totals, including channels that received nothing.
func (s *store) stats() map[string]channelStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]channelStats{}
	for _, name := range channelNames {
		st := channelStats{Received: s.total[name]}
		if r := s.rings[name]; r != nil {
			st.Kept = len(r.buf)
		}
		out[name] = st
	}
	return out
}

// reset forgets every message and count.
func (s *store) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rings = map[string]*ring{}
	s.total = map[string]uint64{}
}
