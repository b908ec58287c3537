package dialogs

import (
	"encoding/json"
	"fmt"
	"time"
)

// session is a contact's place in a script, stored as JSON in the session
// hash. It exists only while the script waits for a reply or a timeout.
type session struct {
	Script   string `json:"s"`
	Version  int    `json:"v"`
	Priority int    `json:"p"`
	// Step is the id of the ask or wait step the script stands at.
	Step string            `json:"st"`
	Vars map[string]string `json:"vars,omitempty"`
	// Deadline (unix ms) is when the step times out; Idle marks the
	// session limit of a step without its own timeout.
	Deadline  int64  `json:"d"`
	Idle      bool   `json:"i,omitempty"`
	Reprompts int    `json:"r,omitempty"`
	Rev       int    `json:"n"`
	Started   int64  `json:"t"`
	Channel   string `json:"ch,omitempty"`
}

// hold is the hand-off that pauses the bot for a contact.
type hold struct {
	Since  int64  `json:"since"`
	Reason string `json:"reason,omitempty"`
}

func decodeSession(s string) (*session, error) {
	if s == "" {
		return nil, nil
	}
	var out session
	if err := json.Unmarshal([]byte(s), &out); err != nil || out.Script == "" || out.Step == "" {
		return nil, fmt.Errorf("stored session %.80q is unreadable; it was ended", s)
	}
	return &out, nil
}

func decodeHold(s string) *hold {
	if s == "" {
		return nil
	}
	var h hold
	if json.Unmarshal([]byte(s), &h) != nil {
		return &hold{}
	}
	return &h
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings and numbers always marshal
	}
	return string(b)
}

// State is a contact's dialog state, for consoles and the admin API.
type State struct {
	Script    string            `json:"script,omitempty"`
	Version   int               `json:"version,omitempty"`
	Step      string            `json:"step,omitempty"`
	Vars      map[string]string `json:"vars,omitempty"`
	Deadline  time.Time         `json:"deadline,omitzero"`
	Reprompts int               `json:"reprompts,omitempty"`
	Started   time.Time         `json:"started,omitzero"`
	Channel   string            `json:"channel,omitempty"`
	// HandedOff: the bot is paused for the contact since HandoffSince.
	HandedOff    bool      `json:"handed_off"`
	HandoffSince time.Time `json:"handoff_since,omitzero"`
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }
