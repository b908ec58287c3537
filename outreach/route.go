package outreach

import (
	"slices"
	"time"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
)

// recipient is who receives a message on ch, or why nobody can.
func recipient(c *contacts.Contact, ch channels.Channel) (to string, why string) {
	if slices.Contains(c.Unreachable, string(ch)) {
		return "", "unreachable on " + string(ch)
	}
	kind, _ := channels.KindFor(ch)
	ids := c.Identities[string(kind)]
	if len(ids) == 0 {
		return "", "no " + string(kind)
	}
	if ch == channels.WeCom && c.Owner == "" {
		return "", "no WeCom rep to send through"
	}
	return ids[0], ""
}

// consentAllows applies the consent rules. Transactional and service
// messages need no marketing consent. Marketing needs the channel not opted
// out; SMS marketing, which Chinese rules treat most strictly, needs an
// explicit opt-in, while the other channels accept unknown: a follower or a
// customer who added a rep reached us first.
func consentAllows(c *contacts.Contact, ch channels.Channel, purpose channels.Purpose) (bool, string) {
	if purpose != channels.Marketing {
		return true, ""
	}
	switch status := c.Consent[string(ch)]; {
	case status == contacts.ConsentOptedOut:
		return false, "opted out of " + string(ch)
	case ch == channels.SMS && status != contacts.ConsentOptedIn:
		return false, "SMS marketing needs an opt-in"
	}
	return true, ""
}

// recipientFor is recipient, except that a welcome message needs no rep:
// WeCom delivers it through the welcome code.
func recipientFor(c *contacts.Contact, ch channels.Channel, welcomeCode string) (string, string) {
	if welcomeCode != "" && ch == channels.WeCom {
		if ids := c.Identities[contacts.KindExternalUserID]; len(ids) > 0 {
			return ids[0], ""
		}
	}
	return recipient(c, ch)
}

// outboundKind picks how a rendered message travels on ch.
func outboundKind(ch channels.Channel, welcomeCode string) string {
	switch {
	case welcomeCode != "" && ch == channels.WeCom:
		return channels.KindWeComWelcome
	}
	switch ch {
	case channels.WeCom:
		return channels.KindWeComGroupTask
	case channels.OfficialAccount:
		return channels.KindOAText
	case channels.SMS:
		return channels.KindSMS
	}
	return channels.KindEmail
}

// OAServiceWindow is how long after a follower's last interaction the
// official account may send customer-service messages (客服消息). The
// official-account sender applies the same rule; the pipeline checks it
// first so a closed window shows as the named rule RuleOAServiceWindow
// instead of a platform refusal.
const OAServiceWindow = 48 * time.Hour

// serviceWindowClosed reports whether out is an official-account
// customer-service message that the window no longer allows and that has
// no template message to go as instead. The window is open strictly
// before last inbound + 48 h; an unknown last inbound counts as closed.
func serviceWindowClosed(out *channels.Outbound, now time.Time) bool {
	if out.Channel != channels.OfficialAccount || out.TemplateID != "" {
		return false
	}
	switch out.Kind {
	case channels.KindOAText, channels.KindOANews, channels.KindOAImage:
	default:
		return false
	}
	return out.LastInbound.IsZero() || !now.Before(out.LastInbound.Add(OAServiceWindow))
}

// describeInbound says when the follower last wrote, for a capped reason.
func describeInbound(last time.Time) string {
	if last.IsZero() {
		return "no inbound message known"
	}
	return "last inbound " + last.UTC().Format(time.RFC3339)
}
