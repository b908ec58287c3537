package outreach

import (
	"strconv"
	"time"

	"github.com/journeygate/gateway/channels"
)

// Status is where a message is in its life; the strings are part of the API.
type Status string

const (
	StatusScheduled  Status = "scheduled"  // waiting for its send time or a worker
	StatusRetrying   Status = "retrying"   // a transient failure; asynq will try again
	StatusSending    Status = "sending"    // claimed by a worker; the platform call may be under way
	StatusSent       Status = "sent"       // the platform accepted it
	StatusDelivered  Status = "delivered"  // the platform reported delivery (SMS receipts)
	StatusFailed     Status = "failed"     // every possible channel failed for good
	StatusCapped     Status = "capped"     // a frequency cap stopped it
	StatusSuppressed Status = "suppressed" // no consent or no reachable channel
	StatusDeferred   Status = "deferred"   // quiet hours moved it to the window's end
	StatusCancelled  Status = "cancelled"  // withdrawn before it was sent
)

// Terminal reports whether no worker will act on the message again.
func (s Status) Terminal() bool {
	switch s {
	case StatusSent, StatusDelivered, StatusFailed, StatusCapped, StatusSuppressed, StatusCancelled:
		return true
	}
	return false
}

// Message is the record of one intent, as GET /api/v1/messages/:id shows it.
type Message struct {
	ID              string           `json:"id"`
	Status          Status           `json:"status"`
	Channel         channels.Channel `json:"channel,omitempty"`
	Kind            string           `json:"kind,omitempty"`
	ContactID       string           `json:"contact_id"`
	Template        string           `json:"template"`
	Text            string           `json:"text,omitempty"` // a literal message instead of a template
	TemplateVersion int              `json:"template_version,omitempty"`
	Purpose         channels.Purpose `json:"purpose"`
	ForcedChannel   channels.Channel `json:"forced_channel,omitempty"`
	Campaign        string           `json:"campaign,omitempty"`
	Variant         string           `json:"variant,omitempty"` // the campaign's A/B arm
	WelcomeCode     string           `json:"-"`
	OpenKFID        string           `json:"open_kfid,omitempty"` // the 微信客服 account it answers through
	Vars            map[string]any   `json:"vars,omitempty"`
	SendAt          time.Time        `json:"send_at"`
	CreatedAt       time.Time        `json:"created_at"`
	UpdatedAt       time.Time        `json:"updated_at"`
	Attempts        int              `json:"attempts"`
	PlatformID      string           `json:"platform_id,omitempty"`
	Error           string           `json:"error,omitempty"`
	// Reason names the rule that stopped a capped or suppressed message
	// (a cap's name such as wecom-groupsend-daily, oa-service-window,
	// coupon-redeemed), so reports can group by it; Error has the detail.
	Reason string `json:"reason,omitempty"`
	// Reminds is set on a coupon expiry reminder: the code it reminds of.
	Reminds *CouponRef `json:"reminds,omitempty"`
	// CapKeys are the caps a campaign batch reserved for the message when
	// it was dispatched (see Pipeline.SubmitBatch), so the worker uses that
	// place instead of reserving again, and gives it back when the message
	// does not go out. Empty when the worker reserves at send time.
	CapKeys []string `json:"-"`
}

func msString(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func msTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}
