package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

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
	outcomeIgnored   = "ignored" // signed and well-formed, but a type we do not act on
	outcomeFailed    = "failed"
)

// ingest applies one decoded event exactly once: to the customer's contact
// when it names one, else to the inbox of member and platform events.
func (s *Server) ingest(ctx context.Context, ev channels.Event) (string, error) {
	outcome, _, err := s.ingestReply(ctx, ev, false)
	return outcome, err
}

// ingestReply is ingest for a callback that can answer the customer inline
// (passive): it returns the first text reply of the contact's script, and
// sends the others through outreach.
func (s *Server) ingestReply(ctx context.Context, ev channels.Event, passive bool) (string, *inlineReply, error) {
	if len(ev.Contact) == 0 {
		dup, err := s.inbox.record(ctx, ev)
		if err == nil && !dup && ev.Type == channels.TypeMemberMessage && strings.TrimSpace(ev.Text) == "已跟进" {
			s.repFollowedUp(ctx, ev.Member)
		}
		outcome, err := outcomeOf(dup, err)
		return outcome, nil, err
	}
	ch := changeFor(ev)
	s.score(&ch, ev)
	res, err := s.contacts.Apply(ctx, ch)
	if err != nil {
		return outcomeFailed, nil, err
	}
	s.reportEvent(ctx, ev, ch, res)
	if ch.ScoreDelta != 0 {
		// Idempotent, so it runs on retries too: a promotion that failed
		// (and made us answer 5xx) happens when the platform tries again.
		if err := s.promote(ctx, res.ContactID, ev); err != nil {
			return outcomeFailed, nil, err
		}
	}
	var reply *inlineReply
	if !res.Duplicate {
		// A platform retry is a duplicate and the script already answered
		// it; dialog trouble never fails the callback, the event is stored.
		reply = s.converse(ctx, ev, res, res.ScoreDelta, passive)
		s.lifecycleEvents(ctx, ev, res)
		s.servicerTookOver(ctx, ev, res.ContactID)
	}
	// Follow-ups are idempotent and run on platform retries too, so one that
	// failed the first time (and made us answer 5xx) happens on the retry.
	if err := s.followUp(ctx, ev); err != nil {
		return outcomeFailed, nil, err
	}
	outcome, _ := outcomeOf(res.Duplicate, nil)
	return outcome, reply, nil
}

// servicerTookOver pauses the bot when a person answered the customer in
// a 微信客服 session: from then on the person talks, until the hand-off is
// closed (已跟进 or the API) like any other. Trouble is logged; the
// servicer's message is stored either way.
func (s *Server) servicerTookOver(ctx context.Context, ev channels.Event, contactID string) {
	if ev.Type != channels.TypeKFServicerMessage || s.dialogs == nil {
		return
	}
	if _, err := s.dialogs.Hold(ctx, contactID, "微信客服 servicer"); err != nil {
		s.log.Warn("bot not paused for a 微信客服 servicer", zap.String("contact", contactID), zap.Error(err))
	}
}

// followUp does what an event sets off beyond the contact change.
func (s *Server) followUp(ctx context.Context, ev channels.Event) error {
	switch outID := ev.Props["out_id"]; {
	case ev.Type == channels.TypeContactAdded || ev.Type == channels.TypeKFSessionEntered:
		err := s.welcome(ctx, ev)
		if isBadRequest(err) {
			// A missing or broken welcome template will not mend on a retry.
			s.log.Warn("welcome message not scheduled", zap.String("event", ev.ID), zap.Error(err))
			return nil
		}
		return err
	case s.outreach != nil && ev.Props["campaign"] != "" && reactionStats[ev.Type] != "":
		_, err := s.outreach.CountReaction(ctx, ev.Props["campaign"], ev.Props["message_id"], reactionStats[ev.Type])
		if isBadRequest(err) { // a link without a message id: nothing to count
			s.log.Info("campaign reaction not counted", zap.String("event", ev.ID), zap.Error(err))
			return nil
		}
		return err
	case s.outreach == nil || outID == "":
	case ev.Type == channels.TypeSMSDelivered:
		// Our SMS OutId is the message id: the receipt completes its record.
		return s.outreach.MarkDelivered(ctx, outID)
	case ev.Type == channels.TypeSMSFailed:
		return s.outreach.MarkUndelivered(ctx, outID, ev.Props["err_code"])
	}
	return nil
}

// reactionStats maps tracking events to the campaign statistic they add to.
var reactionStats = map[string]string{
	channels.TypeEmailOpen:        outreach.StatOpened,
	channels.TypeEmailClick:       outreach.StatClicked,
	channels.TypeEmailUnsubscribe: outreach.StatUnsubscribed,
}

// isBadRequest tells errors about the request's content from storage trouble.
func isBadRequest(err error) bool {
	if err == nil {
		return false
	}
	k, _ := classify(err)
	return k.Status >= 400 && k.Status < 500
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
		channels.TypeSMSReply, channels.TypeEmailClick, channels.TypeContactEdited, channels.TypeKFSessionEntered:
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
		if ev.Props["source"] != "DELETE_BY_TRANSFER" { // a transfer to another rep is no opt-out
			consent(channels.WeCom, "opted_out", "WeCom contact "+ev.Member+" removed the customer")
		}
	case channels.TypeContactLeft:
		ch.Activity = "churned"
		consent(channels.WeCom, "opted_out", "the customer removed WeCom contact "+ev.Member)
	case channels.TypeEmailUnsubscribe:
		// Not de-duplicated: someone who opted back in and uses an old link
		// again must be opted out again (the change is idempotent anyway).
		ch.EventID = ""
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
	if kf := ev.Props["open_kfid"]; kf != "" && ev.Type == channels.TypeMessage && ev.Source == channels.WeCom {
		// The 微信客服 session this message opened: replies go back into it.
		ch.Fields = map[string]string{outreach.KFAccountField: kf, outreach.KFLastAtField: strconv.FormatInt(ev.At.Unix(), 10)}
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
	// A 微信客服 session's welcome names its account and goes through
	// send_msg_on_event; a new contact's goes through send_welcome_msg.
	_, _, err := s.outreach.Submit(ctx, outreach.Intent{ID: "welcome-" + welcomeID(ev.ID), Contact: ids, Template: tpl,
		Purpose: channels.Service, Channel: channels.WeCom, WelcomeCode: code, OpenKFID: ev.Props["open_kfid"]})
	return err
}

// welcomeID turns an event id into a message id's allowed characters.
func welcomeID(eventID string) string {
	sum := sha256.Sum256([]byte(eventID))
	return hex.EncodeToString(sum[:12])
}

// promote moves a contact forward through the lifecycle when its score has
// reached a band: warm makes it mql, hot makes it sql. Stages never move
// back here (a customer stays a customer); operators can set any stage.
// ScoreChanged promotes a contact whose score a script changed: 50 points
// make it mql, 80 sql with a hand-off to its rep, as an event's points do.
func (s *Server) ScoreChanged(ctx context.Context, contactID string) error {
	return s.promote(ctx, contactID, channels.Event{Type: "dialog_score"})
}

func (s *Server) promote(ctx context.Context, contactID string, ev channels.Event) error {
	ct, err := s.contacts.Get(ctx, contactID)
	if err != nil {
		return err
	}
	next := s.scoring.StageFor(ct.Score)
	if next == "" || !contacts.Promotes(ct.Stage, next) {
		return nil
	}
	id, ok := anyIdentity(ct)
	if !ok {
		return nil
	}
	props := map[string]string{"from": ct.Stage, "to": next, "score": strconv.Itoa(ct.Score), "event": ev.Type}
	var rep string
	if next == contacts.StageSQL { // a hot lead goes to its rep at once
		if rep, err = s.notifier.PickRep(ctx, ct); err != nil {
			return err
		}
		if rep != "" {
			props["rep"] = rep
		}
	}
	res, err := s.contacts.Apply(ctx, contacts.Change{EventID: "stage:" + contactID + ":" + next, Identities: []contacts.Identity{id},
		Stage: next, Timeline: &contacts.Entry{At: s.now(), Type: "stage_changed", Source: "scoring", Props: props}})
	if err == nil && !res.Duplicate {
		reportStage(ctx, s.reports, s.log, contactID, next, s.now())
	}
	if err != nil || res.Duplicate || rep == "" {
		return err
	}
	ct.Stage = next
	if err := s.notifier.Notify(ctx, rep, ct, fmt.Sprintf("分数达到 %d，转为 SQL", ct.Score), ev.Text); err != nil {
		return err
	}
	return s.notifier.Opened(ctx, ct, rep, s.now())
}
