package contacts

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ScoreEntry is one change of a contact's score, kept so a rep can see why
// a lead is hot: which event (or decay, or script, or operator) added or
// took how many points, and the score it left.
type ScoreEntry struct {
	At        time.Time `json:"at"`
	EventType string    `json:"event_type"`
	EventID   string    `json:"event_id,omitempty"`
	Points    int       `json:"points"`
	Reason    string    `json:"reason"`
	Score     int       `json:"score"`
}

// scoreHead is the part of a score log entry the caller knows; apply.lua
// adds points and score, which only it knows once caps have had their say.
type scoreHead struct {
	At        time.Time `json:"at"`
	EventType string    `json:"event_type"`
	EventID   string    `json:"event_id,omitempty"`
	Reason    string    `json:"reason"`
}

// scoreEntry is apply.lua's ARGV 15: the entry without its closing brace,
// or "" when the change does not touch the score.
func (s *Store) scoreEntry(ch Change, at time.Time) (string, error) {
	if ch.ScoreDelta == 0 {
		return "", nil
	}
	reason := ch.ScoreReason
	switch reason {
	case "":
		reason = ReasonAPI
	case ReasonRule, ReasonDecay, ReasonAction, ReasonAPI:
	default:
		return "", invalid("score reason %q is unknown; use rule, decay, action or api", ch.ScoreReason)
	}
	event := ch.ScoreEvent
	if event == "" && ch.Timeline != nil {
		event = ch.Timeline.Type
	}
	if event == "" {
		event = reason
	}
	if err := checkString("ScoreEvent", event, maxNameLen); err != nil {
		return "", err
	}
	head := scoreHead{At: at.UTC(), EventType: event, Reason: reason}
	if !strings.HasPrefix(ch.EventID, "\x01") {
		head.EventID = ch.EventID
	}
	b, err := json.Marshal(head)
	if err != nil {
		return "", invalid("score log entry cannot be encoded (%v)", err)
	}
	return string(b[:len(b)-1]), nil
}

// ScoreLog returns the newest limit entries (all kept when limit <= 0) of
// the score log of contact id, which must be a surviving contact's id (as
// Get returns it), newest first. A merge carries the merged contact's entries
// into the survivor's log, by time.
func (s *Store) ScoreLog(ctx context.Context, id string, limit int) ([]ScoreEntry, error) {
	if !validID(id) {
		return nil, fmt.Errorf("contacts: %q is not a contact id: %w", id, ErrNotFound)
	}
	stop := int64(limit) - 1
	if limit <= 0 {
		stop = -1
	}
	raw, err := s.rdb.LRange(ctx, scoreLogKey(id), 0, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("contacts: read the score log of %s: %w", id, err)
	}
	out := make([]ScoreEntry, 0, len(raw))
	for _, r := range raw {
		var e ScoreEntry
		if err := json.Unmarshal([]byte(r), &e); err != nil {
			return nil, fmt.Errorf("contacts: the score log of %s holds an unreadable entry %q: %v", id, r, err)
		}
		out = append(out, e)
	}
	return out, nil
}
