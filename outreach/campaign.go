package outreach

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/journeygate/gateway/channels"
)

var (
	// ErrCampaignNotFound: no campaign with that id.
	ErrCampaignNotFound = errors.New("campaign not found")
	// ErrCampaignExists: campaign ids are never reused, so a repeated create
	// cannot silently change what an earlier one sent.
	ErrCampaignExists = errors.New("a campaign with that id exists already")
	// ErrCampaignInvalid: the campaign is malformed; the message names the field.
	ErrCampaignInvalid = errors.New("invalid campaign")
	// ErrCampaignState: the campaign's status does not allow the change
	// (resuming a cancelled campaign, pausing a finished one).
	ErrCampaignState = errors.New("the campaign's status does not allow this")
)

// CampaignStatus is where a campaign is in its life; the strings are part of the API.
type CampaignStatus string

const (
	CampaignScheduled CampaignStatus = "scheduled" // waiting for send_at
	CampaignRunning   CampaignStatus = "running"   // dispatching batches or waiting between phases
	CampaignPaused    CampaignStatus = "paused"    // stopped by hand or by the guardrail; resume continues
	CampaignCancelled CampaignStatus = "cancelled" // stopped for good; its queued messages are withdrawn
	CampaignDone      CampaignStatus = "done"      // every contact of the audience has a message
)

// Variant is one arm of an A/B test. Weight is relative to the other arms.
type Variant struct {
	Name     string `json:"name"`
	Template string `json:"template"`
	Weight   int    `json:"weight"`
}

// Guardrail pauses a campaign that is hurting the list: once MinSends
// messages went out, an open rate below MinOpenRate or an unsubscribe rate
// above MaxUnsubscribeRate stops it before it reaches everyone. Zero rates
// are not checked.
type Guardrail struct {
	MinSends           int     `json:"min_sends"`
	MinOpenRate        float64 `json:"min_open_rate,omitempty"`
	MaxUnsubscribeRate float64 `json:"max_unsubscribe_rate,omitempty"`
}

// Campaign is what was asked for; the status and progress fields are the
// store's.
type Campaign struct {
	ID       string           `json:"id"`
	Name     string           `json:"name"`
	Audience string           `json:"audience"`
	Variants []Variant        `json:"variants"`
	Purpose  channels.Purpose `json:"purpose"`
	// Vars reach every message's template, next to the contact's fields
	// (the webinar's title and link, an offer's end date).
	Vars    map[string]any   `json:"vars,omitempty"`
	Channel channels.Channel `json:"channel,omitempty"`
	SendAt  time.Time        `json:"send_at"`
	// PilotShare of the audience (0..1) goes first; the rest waits for
	// Options.PhaseWait so the guardrail sees the pilot's results.
	PilotShare float64 `json:"pilot_share,omitempty"`
	// TestShare of the audience (0..1) gets the variants by weight; the
	// rest gets the winner (best open rate once WinnerOpens opens came in).
	TestShare   float64    `json:"test_share,omitempty"`
	WinnerOpens int        `json:"winner_opens,omitempty"`
	Guardrail   *Guardrail `json:"guardrail,omitempty"`
	// Owner is the WeCom userid told when the guardrail pauses the
	// campaign; empty tells the team lead (wecom.handoff_lead) instead.
	Owner string `json:"owner,omitempty"`

	Status       CampaignStatus `json:"status"`
	AudienceSize int            `json:"audience_size"`
	Dispatched   int            `json:"dispatched"`
	Winner       string         `json:"winner,omitempty"`
	// Notice is the latest guardrail finding, kept for the owner and console.
	Notice    string    `json:"notice,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// campaignIDPattern leaves room for "-" and a 16-character contact id in a
// 64-character message id.
var campaignIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$`)

var variantNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

const (
	maxVariants       = 10
	defaultWinnerOpen = 50
)

func campaignInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCampaignInvalid, fmt.Sprintf(format, args...))
}

// validate checks the request and fills defaults; the audience is parsed
// by the caller so its error keeps ErrAudience.
func (c *Campaign) validate(now time.Time) error {
	if len(c.Vars) > 50 {
		return campaignInvalid("vars: at most 50 variables")
	}
	switch {
	case !campaignIDPattern.MatchString(c.ID):
		return campaignInvalid("id %q must be 1-40 letters, digits or _.- starting with a letter or digit", c.ID)
	case c.Name == "" || len(c.Name) > 200:
		return campaignInvalid("name is required, at most 200 bytes")
	case len(c.Owner) > 64 || strings.ContainsAny(c.Owner, " \t\r\n"):
		return campaignInvalid("owner %q must be a WeCom userid (the member told when the guardrail pauses the campaign)", c.Owner)
	case len(c.Variants) == 0:
		return campaignInvalid(`give "template" or "variants"`)
	case len(c.Variants) > maxVariants:
		return campaignInvalid("at most %d variants", maxVariants)
	case c.PilotShare < 0 || c.PilotShare >= 1:
		return campaignInvalid("pilot_share %v must be in [0, 1)", c.PilotShare)
	case c.TestShare < 0 || c.TestShare >= 1:
		return campaignInvalid("test_share %v must be in [0, 1)", c.TestShare)
	case c.TestShare > 0 && len(c.Variants) < 2:
		return campaignInvalid("test_share needs at least two variants to pick a winner from")
	case c.WinnerOpens < 0:
		return campaignInvalid("winner_opens must not be negative")
	case c.Purpose != channels.Marketing:
		return campaignInvalid("purpose %q: campaigns are marketing", c.Purpose)
	case !c.SendAt.IsZero() && c.SendAt.After(now.Add(maxSchedule)):
		return campaignInvalid("send_at %s is more than a year ahead", c.SendAt.Format(time.RFC3339))
	}
	if c.Channel != "" {
		if _, ok := channels.KindFor(c.Channel); !ok {
			return campaignInvalid("channel %q must be wecom, officialaccount, sms or email", c.Channel)
		}
	}
	seen := map[string]bool{}
	for i, v := range c.Variants {
		switch {
		case !variantNamePattern.MatchString(v.Name):
			return campaignInvalid("variants[%d].name %q must be 1-32 letters, digits, _ or -", i, v.Name)
		case seen[v.Name]:
			return campaignInvalid("variants[%d].name %q is used twice", i, v.Name)
		case v.Template == "":
			return campaignInvalid("variants[%d].template is required", i)
		case v.Weight < 0 || v.Weight > 1000:
			return campaignInvalid("variants[%d].weight %d must be 1-1000", i, v.Weight)
		}
		if v.Weight == 0 {
			c.Variants[i].Weight = 1
		}
		seen[v.Name] = true
	}
	if g := c.Guardrail; g != nil {
		switch {
		case g.MinSends < 1:
			return campaignInvalid("guardrail.min_sends must be at least 1")
		case g.MinOpenRate < 0 || g.MinOpenRate > 1:
			return campaignInvalid("guardrail.min_open_rate %v must be in [0, 1]", g.MinOpenRate)
		case g.MaxUnsubscribeRate < 0 || g.MaxUnsubscribeRate > 1:
			return campaignInvalid("guardrail.max_unsubscribe_rate %v must be in [0, 1]", g.MaxUnsubscribeRate)
		}
	}
	if c.TestShare > 0 && c.WinnerOpens == 0 {
		c.WinnerOpens = defaultWinnerOpen
	}
	if c.SendAt.IsZero() || c.SendAt.Before(now) {
		c.SendAt = now
	}
	return nil
}
