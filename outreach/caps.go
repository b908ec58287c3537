package outreach

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
)

var (
	//go:embed scripts/caps_reserve.lua
	capsReserveLua string
	//go:embed scripts/caps_release.lua
	capsReleaseLua string
)

var (
	// ErrCapped means a frequency cap has no room for the message; the error
	// is a *CappedError that names the rule and when room comes back, so the
	// pipeline can mark the message capped or try again later.
	ErrCapped = errors.New("frequency cap reached")
	// ErrInvalidRule means a cap or quiet-hours rule from the config is
	// malformed; the wrapped message names the rule and the field.
	ErrInvalidRule = errors.New("invalid outreach rule")
)

// CappedError says which cap stopped a message. When several are full it is
// the one that frees last: before RetryAt the message cannot go out.
type CappedError struct {
	Rule    string
	RetryAt time.Time
}

func (e *CappedError) Error() string {
	return fmt.Sprintf("frequency cap %q is full for this contact: send again at %s or later",
		e.Rule, e.RetryAt.UTC().Format(time.RFC3339Nano))
}

// Unwrap lets errors.Is(err, ErrCapped) match.
func (e *CappedError) Unwrap() error { return ErrCapped }

// Wildcards in CapRule fields.
const (
	// CapAny as a purpose means service and marketing: transactional
	// messages are exempt unless a rule names them ("any+transactional").
	// As a channel it means every channel.
	CapAny = "any"
	// CapPerCampaign as a campaign counts each campaign on its own; messages
	// outside any campaign are not counted by such a rule.
	CapPerCampaign = "*"
)

// CapRule is one frequency cap: at most Max matching messages to a contact in
// any rolling Window. Empty optional fields match everything.
type CapRule struct {
	Name string
	// Purpose is transactional, service, marketing or any, or several joined
	// with "+" (e.g. "any+transactional" for a platform quota that counts
	// every message).
	Purpose string
	// Channel is wecom, officialaccount, sms, email or any.
	Channel string
	// Kind, when set, limits the rule to one outbound kind, e.g. group_task
	// for WeCom's one-a-day customer group-send quota.
	Kind   string
	Max    int
	Window time.Duration
	// Tag, when set, limits the rule to contacts carrying it.
	Tag string
	// Campaign: "" counts all messages, "*" counts per campaign, anything
	// else counts only that campaign.
	Campaign string
}

// Names of the platform quotas. They are reserved: a configured rule may
// not take them, so a capped message's reason always means the same thing.
const (
	// RuleWeComGroupSendDaily is WeCom's one customer group-send a day to a
	// customer.
	RuleWeComGroupSendDaily = "wecom-groupsend-daily"
	// RuleOAServiceWindow is the official account's 48-hour customer-service
	// window; it is checked against the follower's last inbound, not counted.
	RuleOAServiceWindow = "oa-service-window"
)

// PlatformRules are the platform quotas every deployment has, whatever the
// config says: WeCom delivers at most one customer group-send a day to a
// customer, and a task beyond it is silently dropped, so it is counted for
// every purpose. (The official account's service window is not a counted
// rule; see OAServiceWindow.)
func PlatformRules() []CapRule {
	return []CapRule{{
		Name: RuleWeComGroupSendDaily, Purpose: CapAny + "+" + string(channels.Transactional),
		Channel: string(channels.WeCom), Kind: channels.KindWeComGroupTask, Max: 1, Window: 24 * time.Hour,
	}}
}

// Rules lists the rules in force, platform quotas included, in the order
// they are checked, so operators can see what a capped reason refers to.
func (c *Caps) Rules() []CapRule {
	if c == nil {
		return nil
	}
	out := make([]CapRule, len(c.rules))
	for i, r := range c.rules {
		out[i] = r.CapRule
	}
	return out
}

// CapRequest is one message about to be sent on one channel.
type CapRequest struct {
	ContactID, MessageID, Channel, Kind, Purpose, Campaign string
	Tags                                                   []string
}

// Reservation is what Release needs to give the message's place back.
// Keys is empty when no rule applied.
type Reservation struct {
	Keys      []string
	MessageID string
}

// Caps enforces frequency caps in Redis: exact rolling windows, checked and
// recorded atomically, so caps hold across any number of workers.
type Caps struct {
	rdb     redis.UniversalClient
	rules   []capRule
	now     func() time.Time
	reserve *redis.Script
	release *redis.Script
}

// capRule is a validated CapRule with what matching and the script need.
type capRule struct {
	CapRule
	purposes    purposeSet
	max, window string // script arguments
}

type purposeSet uint8

const (
	purposeTransactional purposeSet = 1 << iota
	purposeService
	purposeMarketing
)

func purposeBit(p string) purposeSet {
	switch channels.Purpose(p) {
	case channels.Transactional:
		return purposeTransactional
	case channels.Service:
		return purposeService
	case channels.Marketing:
		return purposeMarketing
	}
	return 0
}

var ruleNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// NewCaps checks the rules and returns caps over rdb. now is the clock;
// nil means time.Now.
func NewCaps(rdb redis.UniversalClient, rules []CapRule, now func() time.Time) (*Caps, error) {
	if rdb == nil {
		return nil, errors.New("outreach: caps need a Redis client")
	}
	if now == nil {
		now = time.Now
	}
	c := &Caps{rdb: rdb, now: now, reserve: redis.NewScript(capsReserveLua), release: redis.NewScript(capsReleaseLua)}
	seen := map[string]bool{}
	for i, r := range rules {
		cr, err := compileCapRule(r)
		if err != nil {
			return nil, fmt.Errorf("outreach: cap rule %d (%q): %w", i+1, r.Name, err)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("outreach: cap rule %d: %w: name %q is used twice; give each rule its own name", i+1, ErrInvalidRule, r.Name)
		}
		seen[r.Name] = true
		c.rules = append(c.rules, cr)
	}
	return c, nil
}

func compileCapRule(r CapRule) (capRule, error) {
	bad := func(format string, a ...any) (capRule, error) {
		return capRule{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalidRule}, a...)...)
	}
	if !ruleNamePattern.MatchString(r.Name) {
		return bad("name must be 1-64 letters, digits or _.- starting with a letter or digit")
	}
	var set purposeSet
	for _, p := range strings.Split(r.Purpose, "+") {
		switch bit := purposeBit(p); {
		case p == CapAny:
			set |= purposeService | purposeMarketing
		case bit != 0:
			set |= bit
		default:
			return bad("purpose %q must be transactional, service, marketing or any, or several joined with +", r.Purpose)
		}
	}
	if _, ok := channels.KindFor(channels.Channel(r.Channel)); !ok && r.Channel != CapAny {
		return bad("channel %q must be wecom, officialaccount, sms, email or any", r.Channel)
	}
	if r.Max < 1 {
		return bad("max %d must be at least 1", r.Max)
	}
	if r.Window < time.Millisecond {
		return bad("window %s must be at least 1ms, e.g. 24h", r.Window)
	}
	if len(r.Campaign) > 64 {
		return bad("campaign %q must be at most 64 characters", r.Campaign)
	}
	return capRule{CapRule: r, purposes: set, max: strconv.Itoa(r.Max),
		window: strconv.FormatInt(r.Window.Milliseconds(), 10)}, nil
}

// capPlan is what one request needs of Redis: the keys of its matching rules
// and the script arguments.
type capPlan struct {
	rules []*capRule
	keys  []string
	args  []any
}

func (c *Caps) plan(r CapRequest, nowMS string) (capPlan, error) {
	if err := r.validate(); err != nil {
		return capPlan{}, err
	}
	var p capPlan
	var prefix string
	bit := purposeBit(r.Purpose)
	for i := range c.rules {
		rule := &c.rules[i]
		campaign, ok := rule.matches(r, bit)
		if !ok {
			continue
		}
		if p.keys == nil {
			prefix = capKeyPrefix(r.ContactID)
			p.rules = make([]*capRule, 0, len(c.rules)-i)
			p.keys = make([]string, 0, len(c.rules)-i)
			p.args = append(make([]any, 0, 2+2*(len(c.rules)-i)), nowMS, r.MessageID)
		}
		p.rules = append(p.rules, rule)
		p.keys = append(p.keys, capKey(prefix, rule.Name, campaign))
		p.args = append(p.args, rule.max, rule.window)
	}
	return p, nil
}

// matches reports whether the rule counts r, and under which campaign.
func (rule *capRule) matches(r CapRequest, purpose purposeSet) (campaign string, ok bool) {
	switch {
	case rule.purposes&purpose == 0,
		rule.Channel != CapAny && rule.Channel != r.Channel,
		rule.Kind != "" && rule.Kind != r.Kind,
		rule.Tag != "" && !slices.Contains(r.Tags, rule.Tag):
		return "", false
	}
	switch rule.Campaign {
	case "":
		return "", true
	case CapPerCampaign:
		return r.Campaign, r.Campaign != ""
	}
	return "", rule.Campaign == r.Campaign
}

func (r CapRequest) validate() error {
	switch {
	case r.ContactID == "" || len(r.ContactID) > 64 || strings.ContainsAny(r.ContactID, "{}"):
		return fmt.Errorf("%w: cap request: contact id %q must be 1-64 characters without braces", ErrInvalid, r.ContactID)
	case r.MessageID == "" || len(r.MessageID) > 128:
		return fmt.Errorf("%w: cap request: message id must be 1-128 characters", ErrInvalid)
	case purposeBit(r.Purpose) == 0:
		return fmt.Errorf("%w: cap request: purpose %q must be transactional, service or marketing", ErrInvalid, r.Purpose)
	case len(r.Campaign) > 64:
		return fmt.Errorf("%w: cap request: campaign is at most 64 characters", ErrInvalid)
	}
	if _, ok := channels.KindFor(channels.Channel(r.Channel)); !ok {
		return fmt.Errorf("%w: cap request: channel %q must be wecom, officialaccount, sms or email", ErrInvalid, r.Channel)
	}
	return nil
}

// Reserve records the message in every cap that applies to it if all of
// them have room, or in none and returns a *CappedError (wrapping
// ErrCapped). Reserving a message again is a no-op that succeeds, so a
// retried task does not count twice. No Redis call is made when no rule
// applies.
func (c *Caps) Reserve(ctx context.Context, r CapRequest) (Reservation, error) {
	p, err := c.plan(r, unixMS(c.now()))
	if err != nil || len(p.keys) == 0 {
		return Reservation{MessageID: r.MessageID}, err
	}
	return p.result(r.MessageID, c.reserve.Run(ctx, c.rdb, p.keys, p.args...))
}

// ReserveMany is Reserve for a batch in one round trip (one pipeline of
// EVALSHAs; a second one only if Redis lost the script). Results and errors
// are in the order of rs.
func (c *Caps) ReserveMany(ctx context.Context, rs []CapRequest) ([]Reservation, []error) {
	now := unixMS(c.now())
	res := make([]Reservation, len(rs))
	errs := make([]error, len(rs))
	plans := make([]capPlan, len(rs))
	cmds := make([]*redis.Cmd, len(rs))
	var pipe redis.Pipeliner
	for i, r := range rs {
		res[i].MessageID = r.MessageID
		plans[i], errs[i] = c.plan(r, now)
		if errs[i] != nil || len(plans[i].keys) == 0 {
			continue
		}
		if pipe == nil {
			pipe = c.rdb.Pipeline()
		}
		cmds[i] = c.reserve.EvalSha(ctx, pipe, plans[i].keys, plans[i].args...)
	}
	if pipe == nil {
		return res, errs
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	var again redis.Pipeliner
	for i, cmd := range cmds {
		if cmd != nil && isNoScript(cmd.Err()) {
			if again == nil {
				again = c.rdb.Pipeline()
			}
			cmds[i] = c.reserve.Eval(ctx, again, plans[i].keys, plans[i].args...)
		}
	}
	if again != nil {
		_, _ = again.Exec(ctx)
	}
	for i, cmd := range cmds {
		if cmd != nil {
			res[i], errs[i] = plans[i].result(rs[i].MessageID, cmd)
		}
	}
	return res, errs
}

func unixMS(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func isNoScript(err error) bool {
	return errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT")
}

// result reads caps_reserve.lua's answer.
func (p capPlan) result(messageID string, cmd *redis.Cmd) (Reservation, error) {
	v, err := cmd.Int64Slice()
	if err != nil {
		return Reservation{MessageID: messageID}, fmt.Errorf("outreach: reserve caps for message %s: %w", messageID, err)
	}
	switch {
	case len(v) == 2 && v[0] == 1:
		return Reservation{Keys: p.keys, MessageID: messageID}, nil
	case len(v) == 3 && v[0] == 0 && v[1] >= 1 && int(v[1]) <= len(p.rules):
		return Reservation{MessageID: messageID}, &CappedError{Rule: p.rules[v[1]-1].Name, RetryAt: time.UnixMilli(v[2]).UTC()}
	}
	return Reservation{MessageID: messageID}, fmt.Errorf("outreach: caps_reserve.lua answered %v, an unexpected shape", v)
}

// Release gives the message's place back in every cap it was reserved in;
// call it when the send failed. Releasing twice is harmless.
func (c *Caps) Release(ctx context.Context, res Reservation) error {
	if len(res.Keys) == 0 {
		return nil
	}
	if err := c.release.Run(ctx, c.rdb, res.Keys, res.MessageID).Err(); err != nil {
		return fmt.Errorf("outreach: release caps of message %s: %w", res.MessageID, err)
	}
	return nil
}

// CapRules lists the frequency caps the pipeline applies (none without
// caps), platform quotas included.
func (p *Pipeline) CapRules() []CapRule { return p.opt.Caps.Rules() }
