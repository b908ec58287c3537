package dialogs

import (
	"context"
	"time"

	"github.com/journeygate/gateway/channels"
)

// Actions is what scripts do to the world. The gateway's integration
// satisfies it with contacts, templates and outreach; dialogs knows nothing
// else about them. Every call carries a Target whose Key is stable when the
// same step is run again (after a crash or a lost lock), so the
// implementation can drop duplicates.
type Actions interface {
	Tag(ctx context.Context, t Target, tag string) error
	Untag(ctx context.Context, t Target, tag string) error
	// Score changes the lead score by delta (which may be negative).
	Score(ctx context.Context, t Target, delta int) error
	// SetStage sets the lifecycle stage: prospect, mql, sql or customer.
	SetStage(ctx context.Context, t Target, stage string) error
	// Send delivers a reply outside an inbound's answer (after a timeout,
	// from Tick) on t.Channel. Replies to an inbound come back in Outcome.
	Send(ctx context.Context, t Target, r Reply) error
	// IssueCoupon gives the contact a coupon from batch and returns its
	// code ("" when the code is delivered some other way).
	IssueCoupon(ctx context.Context, t Target, batch string) (code string, err error)
	// ScheduleReminder queues a message for r.At.
	ScheduleReminder(ctx context.Context, t Target, r Reminder) error
	// Handoff tells a sales rep to take over; the bot stays silent for the
	// contact until Engine.Resume.
	Handoff(ctx context.Context, t Target, h Handoff) error
	// Unsubscribe withdraws the contact's marketing consent on t.Channel.
	Unsubscribe(ctx context.Context, t Target) error
	// Profile reads the contact's tags, score and stage when no inbound
	// carries them (a branch after a timeout).
	Profile(ctx context.Context, contactID string) (Profile, error)
}

// Target says whom an action is for and why.
type Target struct {
	ContactID string
	// Channel is where the contact last wrote in this session; replies
	// and unsubscribes apply to it.
	Channel channels.Channel
	// Script is the running script version ("welcome_survey@1"); empty for
	// the global keywords.
	Script string
	Step   string
	// Key is an idempotency key, unique per action and stable across runs
	// of the same step.
	Key string
}

// Reply is one message to the contact: plain text or a template send.
type Reply struct {
	Text     string            `json:"text,omitempty"`
	Template string            `json:"template,omitempty"`
	Vars     map[string]string `json:"vars,omitempty"`
	Key      string            `json:"key"`
}

// Reminder is a message scheduled for later.
type Reminder struct {
	Template string
	Text     string
	Vars     map[string]string
	At       time.Time
}

// Handoff is what the rep is told when a contact asks for a human.
type Handoff struct {
	// Reason is the script's hand-off reason, or "keyword" when the contact
	// typed 人工 / human.
	Reason string
	// Text is the contact's last message, if any.
	Text string
}

// Profile is the contact state branch conditions read.
type Profile struct {
	Tags  []string
	Score int
	Stage string
}

// Inbound is one event for a contact, as the gateway has applied it to the
// contact's state.
type Inbound struct {
	ContactID string
	// ID is the event's de-duplication id. When set, action keys derive
	// from it, so handling the same event twice is recognisable downstream.
	ID      string
	Channel channels.Channel
	// Text is what the contact wrote; with EventType message (or empty, or
	// sms_reply) it is a reply that advances the running script.
	Text      string
	EventType string
	Props     map[string]string
	// Tags, Score and Stage describe the contact after the event.
	Tags  []string
	Score int
	Stage string
	// TagsAdded are the tags this event added (tag_added triggers).
	TagsAdded []string
	// ScoreDelta is how much this event changed the score; a score_band
	// trigger fires when it moves the score into the band.
	ScoreDelta int
}

// Outcome says what Handle did.
type Outcome struct {
	// Replies go to the contact on the inbound's channel, in order.
	Replies []Reply
	// Ended: a session ran during the call and none runs after it.
	Ended bool
	// HandedOff: a human has the conversation; the bot stays silent.
	HandedOff bool
	// Started names the script version this call started ("" if none).
	Started string
}
