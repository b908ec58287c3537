package outreach

import (
	"fmt"
	"regexp"
	"time"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
)

// Intent is a request to send: whom, what, why, and when.
type Intent struct {
	// ID is the caller's idempotency key and becomes the message id;
	// empty makes one up.
	ID       string
	Contact  []contacts.Identity
	Template string
	// Text is a literal message sent instead of a template (Template
	// empty): a script's reply in an open conversation. It needs Channel
	// wecom or officialaccount, because an SMS needs an approved template
	// and an email a subject.
	Text    string
	Vars    map[string]any
	Purpose channels.Purpose
	// Channel forces one channel; empty lets the pipeline route.
	Channel channels.Channel
	// SendAt is when to send, at one-second resolution (asynq's); zero or
	// past means now.
	SendAt   time.Time
	Campaign string
	// WelcomeCode makes this the WeCom welcome message for a customer who
	// just added a rep: it goes on the critical queue, ahead of everything,
	// because the code works once and only for about 20 seconds.
	WelcomeCode string
	// OpenKFID sends through this 微信客服 account (channel wecom). With a
	// WelcomeCode it is the welcome of a customer who entered its session
	// (kf/send_msg_on_event), not of one who added a rep. Replies to a
	// customer who wrote to a 微信客服 account need not set it: routing
	// finds the open session on the contact (see KFAccountField).
	OpenKFID string
	// Reminds makes this a coupon expiry reminder: at send time it is
	// suppressed when the code was redeemed, the batch expired, or the
	// code's automatic reminder and a manual one would both go out.
	Reminds *CouponRef
}

// maxText is the official account's limit for a customer-service text,
// the stricter of the two channels that take literal text.
const maxText = 2048

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

// maxSchedule bounds send_at: asynq keeps scheduled tasks in one sorted set,
// and a typo of a year should be an error, not a message for 2036.
const maxSchedule = 366 * 24 * time.Hour

func (in *Intent) validate(now time.Time) error {
	switch {
	case in.ID != "" && !idPattern.MatchString(in.ID):
		return fmt.Errorf("%w: id %q must be 1-64 letters, digits or _.:- starting with a letter or digit", ErrInvalid, in.ID)
	case len(in.Contact) == 0:
		return fmt.Errorf("%w: contact needs at least one identity", ErrInvalid)
	case in.Template == "" && in.Text == "":
		return fmt.Errorf("%w: template is required", ErrInvalid)
	case in.Template != "" && in.Text != "":
		return fmt.Errorf("%w: give a template or a text, not both", ErrInvalid)
	case in.Text != "" && in.Channel != channels.WeCom && in.Channel != channels.OfficialAccount:
		return fmt.Errorf("%w: a text message needs channel wecom or officialaccount (SMS needs an approved template, email a subject); got %q", ErrInvalid, in.Channel)
	case len(in.Text) > maxText:
		return fmt.Errorf("%w: text is %d bytes; at most %d fit a WeCom or official-account message", ErrInvalid, len(in.Text), maxText)
	}
	switch in.Purpose {
	case channels.Transactional, channels.Service, channels.Marketing:
	default:
		return fmt.Errorf("%w: purpose %q must be transactional, service or marketing", ErrInvalid, in.Purpose)
	}
	if in.Channel != "" {
		if _, ok := channels.KindFor(in.Channel); !ok {
			return fmt.Errorf("%w: channel %q must be wecom, officialaccount, sms or email", ErrInvalid, in.Channel)
		}
	}
	if err := in.Reminds.validate(); err != nil {
		return err
	}
	if !in.SendAt.IsZero() && in.SendAt.After(now.Add(maxSchedule)) {
		return fmt.Errorf("%w: send_at %s is more than a year ahead", ErrInvalid, in.SendAt.Format(time.RFC3339))
	}
	if in.WelcomeCode != "" && in.Channel != channels.WeCom {
		return fmt.Errorf("%w: a welcome code needs channel wecom", ErrInvalid)
	}
	if in.OpenKFID != "" && (in.Channel != channels.WeCom || len(in.OpenKFID) > 64) {
		return fmt.Errorf("%w: a 微信客服 account (open_kfid, at most 64 characters) needs channel wecom", ErrInvalid)
	}
	if len(in.Campaign) > 64 {
		return fmt.Errorf("%w: campaign is at most 64 characters", ErrInvalid)
	}
	return nil
}
