package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/outreach"
)

// Outcomes of one inbound event, as counted in gateway_callbacks_total.
const (
	outcomeApplied   = "applied"
	outcomeDuplicate = "duplicate"
	outcomeRejected  = "rejected"
	outcomeFailed    = "failed"
)

// ingest applies one decoded event exactly once: to the customer's contact
// when it names one, else to the inbox of member and platform events.
func (s *Server) ingest(ctx context.Context, ev channels.Event) (string, error) {
	if len(ev.Contact) == 0 {
		dup, err := s.inbox.record(ctx, ev)
		return outcomeOf(dup, err)
	}
	res, err := s.contacts.Apply(ctx, changeFor(ev))
	if err == nil && !res.Duplicate && ev.Type == channels.TypeContactAdded {
		// The contact change is stored; a welcome that cannot be scheduled
		// (no such template, say) is logged, not failed: a platform retry
		// would be a duplicate and could not bring it back anyway.
		if werr := s.welcome(ctx, ev); werr != nil {
			s.log.Warn("welcome message not scheduled", zap.String("event", ev.ID), zap.Error(werr))
		}
	}
	if err == nil && !res.Duplicate && ev.Type == channels.TypeSMSDelivered && ev.Props["out_id"] != "" && s.outreach != nil {
		// Our SMS OutId is the message id: the receipt completes its record.
		if err := s.outreach.MarkDelivered(ctx, ev.Props["out_id"]); err != nil {
			return outcomeFailed, err
		}
	}
	return outcomeOf(res.Duplicate, err)
}

func outcomeOf(duplicate bool, err error) (string, error) {
	switch {
	case err != nil:
		return outcomeFailed, err
	case duplicate:
		return outcomeDuplicate, nil
	}
	return outcomeApplied, nil
}

// changeFor is the one place that says what each kind of event means for a
// contact: consent, ownership, activity and the timeline entry.
func changeFor(ev channels.Event) contacts.Change {
	ch := contacts.Change{
		EventID:    ev.ID,
		Identities: make([]contacts.Identity, len(ev.Contact)),
		At:         ev.At,
		Timeline:   &contacts.Entry{At: ev.At, Type: ev.Type, Source: string(ev.Source), Text: ev.Text, Props: ev.Props},
	}
	for i, id := range ev.Contact {
		ch.Identities[i] = contacts.Identity{Kind: string(id.Kind), Value: id.Value}
	}
	consent := func(c channels.Channel, status, source string) {
		ch.Consent = append(ch.Consent, contacts.ConsentChange{Channel: string(c), Status: status, Source: source})
	}
	switch ev.Type {
	case channels.TypeMessage, channels.TypeScan, channels.TypeMenuClick, channels.TypeMenuView,
		channels.TypeSMSReply, channels.TypeEmailClick, channels.TypeContactEdited:
		ch.Touch = true
	case channels.TypeSubscribe:
		ch.Touch = true
		consent(channels.OfficialAccount, "opted_in", withScene("followed the official account", ev.Props["scene"]))
	case channels.TypeUnsubscribe:
		ch.Activity = "churned"
		consent(channels.OfficialAccount, "opted_out", "unfollowed the official account")
	case channels.TypeContactAdded, channels.TypeContactHalfAdded:
		ch.Touch = true
		ch.Owner = ev.Member
		consent(channels.WeCom, "opted_in", withScene("added WeCom contact "+ev.Member, ev.Props["state"]))
	case channels.TypeContactDeleted:
		consent(channels.WeCom, "opted_out", "WeCom contact "+ev.Member+" removed the customer")
	case channels.TypeContactLeft:
		ch.Activity = "churned"
		consent(channels.WeCom, "opted_out", "the customer removed WeCom contact "+ev.Member)
	case channels.TypeEmailUnsubscribe:
		consent(channels.Email, "opted_out", "unsubscribe link in email "+ev.Props["message_id"])
	case channels.TypeEmailComplaint:
		consent(channels.Email, "opted_out", "spam complaint on email "+ev.Props["message_id"])
	case channels.TypeEmailBounce:
		if ev.Props["bounce"] == "hard" {
			ch.Unreachable = []string{string(channels.Email)}
		}
	}
	if ch.Touch && ev.Source != channels.API {
		ch.Channel = string(ev.Source) // opens that channel's conversation window
	}
	if ev.Type == channels.TypeSMSReply && ev.Props["unsubscribe"] == "true" {
		consent(channels.SMS, "opted_out", fmt.Sprintf("replied %q by SMS", ev.Text))
	}
	return ch
}

func withScene(what, scene string) string {
	if scene == "" {
		return what
	}
	return what + " (scene " + scene + ")"
}

// welcome schedules the configured welcome message for a customer who just
// added a rep. Its id derives from the event, so a platform retry of the
// callback cannot schedule a second one.
func (s *Server) welcome(ctx context.Context, ev channels.Event) error {
	code, tpl := ev.Props["welcome_code"], s.cfg.WeCom.WelcomeTemplate
	if code == "" || tpl == "" || s.outreach == nil {
		return nil
	}
	ids := make([]contacts.Identity, len(ev.Contact))
	for i, id := range ev.Contact {
		ids[i] = identityOf(id)
	}
	_, _, err := s.outreach.Submit(ctx, outreach.Intent{ID: "welcome-" + welcomeID(ev.ID), Contact: ids, Template: tpl,
		Purpose: channels.Service, Channel: channels.WeCom, WelcomeCode: code})
	return err
}

// welcomeID turns an event id into a message id's allowed characters.
func welcomeID(eventID string) string {
	sum := sha256.Sum256([]byte(eventID))
	return hex.EncodeToString(sum[:12])
}
