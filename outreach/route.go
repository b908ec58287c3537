package outreach

import (
	"slices"
	"strconv"
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

// Contact fields that record a 微信客服 conversation. The gateway sets
// both on every message a customer sends to a 微信客服 account; routing
// reads them so that every later message to the customer on wecom (a
// script's reply, a timeout's follow-up, a reminder) goes back into that
// session through kf/send_msg rather than as a group task the rep must
// confirm. They are plain fields, so templates and the API show them too.
const (
	// KFAccountField holds the open_kfid the customer last wrote to.
	KFAccountField = "wecom_kf_open_kfid"
	// KFLastAtField holds when (unix seconds) the customer last wrote there.
	KFLastAtField = "wecom_kf_last_at"
)

// KFWindow is how long after a customer's last 微信客服 message WeCom
// accepts replies (at most five of them).
const KFWindow = 48 * time.Hour

// wecomRoute is how a message travels on wecom: with a welcome code (a new
// contact's welcome, or the kf session's welcome when openKFID is set),
// into a 微信客服 session, or else as a group task through the owner.
type wecomRoute struct {
	welcomeCode string
	openKFID    string
}

// wecomRouteFor picks the route: a message that names its 微信客服
// account goes there; a welcome code without one is a contact welcome; else
// the contact's open 微信客服 session, if any, within KFWindow.
func wecomRouteFor(c *contacts.Contact, welcomeCode, openKFID string, now time.Time) wecomRoute {
	if openKFID != "" || welcomeCode != "" {
		return wecomRoute{welcomeCode: welcomeCode, openKFID: openKFID}
	}
	return wecomRoute{openKFID: openKFSession(c, now)}
}

// openKFSession is the 微信客服 account whose session with the customer
// still takes replies at now, or "".
func openKFSession(c *contacts.Contact, now time.Time) string {
	kf := c.Fields[KFAccountField]
	sec, err := strconv.ParseInt(c.Fields[KFLastAtField], 10, 64)
	if kf == "" || err != nil || now.Sub(time.Unix(sec, 0)) > KFWindow {
		return ""
	}
	return kf
}

// recipientFor is recipient, except that a welcome message and a 微信客服
// message need no rep: WeCom delivers them through the welcome code or the
// customer's session.
func recipientFor(c *contacts.Contact, ch channels.Channel, r wecomRoute) (string, string) {
	if ch == channels.WeCom && (r.welcomeCode != "" || r.openKFID != "") {
		if ids := c.Identities[contacts.KindExternalUserID]; len(ids) > 0 {
			return ids[0], ""
		}
	}
	return recipient(c, ch)
}

// outboundKind picks how a rendered message travels on ch.
func outboundKind(ch channels.Channel, r wecomRoute) string {
	switch ch {
	case channels.WeCom:
		switch {
		case r.openKFID != "":
			return channels.KindWeComKF
		case r.welcomeCode != "":
			return channels.KindWeComWelcome
		}
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
