package contacts

import (
	"time"
)

// Lifecycle stages, in the order a lead moves through them.
const (
	StageProspect = "prospect"
	StageMQL      = "mql"
	StageSQL      = "sql"
	StageCustomer = "customer"
)

// Activity levels.
const (
	ActivityActive  = "active"
	ActivitySilent  = "silent"
	ActivityChurned = "churned"
)

// Consent statuses per channel. Marketing needs opted_in; opted_out beats
// everything when contacts merge.
const (
	ConsentOptedIn  = "opted_in"
	ConsentOptedOut = "opted_out"
	ConsentUnknown  = "unknown"
)

// TypeConsent is the timeline entry type Apply records for every consent
// change, with the change's source, so consent can be proven later.
const TypeConsent = "consent"

// ConsentChange sets the marketing consent of one channel. Source says why
// (e.g. "web form 2026-11-01", "SMS reply TD") and is kept with the status.
type ConsentChange struct{ Channel, Status, Source string }

// Entry is one timeline item.
type Entry struct {
	At     time.Time         `json:"at"`
	Type   string            `json:"type"`
	Source string            `json:"source,omitempty"`
	Text   string            `json:"text,omitempty"`
	Props  map[string]string `json:"props,omitempty"`
}

// Change is everything one event or API call does to a contact. Apply
// validates all of it before writing anything.
type Change struct {
	// EventID is the de-dup key ("" = not de-duplicated). It must be unique
	// across sources, e.g. "wecom:<MsgId>".
	EventID string
	// Identities name the contact (at least one). All end up on one
	// contact, merging contacts when they named different ones.
	Identities []Identity
	// At is when it happened (timeline, last_seen, created_at); zero = now.
	At time.Time
	// Touch marks an interaction by the customer: last_seen = At and
	// activity = active.
	Touch bool
	// Channel is where the customer interacted; with Touch it also records
	// LastInbound for that channel (the official account's 48-hour window).
	Channel string
	// Owner, Name and TZ (an IANA zone such as Asia/Shanghai) are set when
	// non-empty.
	Owner, Name, TZ string
	// Fields sets custom fields; an empty value deletes the field.
	Fields              map[string]string
	AddTags, RemoveTags []string
	// Stage is set when non-empty: prospect, mql, sql or customer.
	Stage string
	// Activity is set when non-empty: active, silent or churned. It wins
	// over Touch.
	Activity   string
	ScoreDelta int
	// ScoreReason says why ScoreDelta changes the score, for the score log:
	// ReasonRule, ReasonAction, ReasonAPI ("" is ReasonAPI).
	ScoreReason string
	// ScoreEvent names what scored in the score log (default the timeline
	// entry's type).
	ScoreEvent string
	// ScoreCap, when Max > 0, lets ScoreDelta count only while events of
	// type ScoreEvent have scored fewer than Max times in the contact's
	// last Window (zero Window: ever). A swallowed delta changes nothing
	// else of the change.
	ScoreCap ScoreCap
	Consent  []ConsentChange
	// Unreachable names channels where the identity is dead (hard bounce).
	Unreachable []string
	// Timeline is appended when non-nil; a zero At means Change.At.
	Timeline *Entry
}

// Result says what Apply did.
type Result struct {
	ContactID string
	// Created: this call made the contact. Duplicate: the EventID was seen
	// before and nothing changed. Merged: contacts were merged.
	Created, Duplicate, Merged bool
	// TagsAdded and TagsRemoved are the tags that actually changed, sorted.
	TagsAdded, TagsRemoved []string
	// Score is the contact's score afterwards; ScoreDelta what this change
	// added to it (0 when a cap swallowed the points, or on a duplicate).
	Score, ScoreDelta int
	// ActivityBefore is the activity this change replaced ("" when the
	// activity did not change), e.g. silent when a silent customer wrote.
	ActivityBefore string
}

// ScoreCap bounds how often one event type scores for one contact.
type ScoreCap struct {
	Max    int
	Window time.Duration
}

// Cap is the rule's cap for Change.ScoreCap.
func (r Rule) Cap() ScoreCap { return ScoreCap{Max: r.Max, Window: r.Window} }
