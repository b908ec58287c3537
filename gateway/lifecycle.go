package gateway

import (
	"context"
	"errors"
	"strconv"

	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
)

// score gives an event its points from the scoring rules, with the rule's
// cap, so the contact script counts it atomically with the rest of the
// change and logs why the score moved. An event that earns points is
// activity (a whitepaper download through the API, a webinar attended),
// so it also keeps the contact active and its score from decaying.
func (s *Server) score(ch *contacts.Change, ev channels.Event) {
	rule := s.scoring.Rule(ev.Type)
	if rule.Points == 0 {
		return
	}
	ch.ScoreDelta += rule.Points
	ch.ScoreReason, ch.ScoreEvent, ch.ScoreCap = contacts.ReasonRule, ev.Type, rule.Cap()
	if rule.Points > 0 {
		ch.Touch = true
	}
}

// lifecycleEvents records what an applied event did to the contact's score
// band and activity: a score_band_changed entry when the score crossed into
// another band (and, for events the dialog engine did not see already, the
// same event to the engine, so score_band triggers fire), and an
// activity_changed entry when a silent or churned customer came back.
// Failures are logged: the event itself is stored.
func (s *Server) lifecycleEvents(ctx context.Context, ev channels.Event, res contacts.Result) {
	if res.ScoreDelta != 0 {
		from, to := s.scoring.Band(res.Score-res.ScoreDelta), s.scoring.Band(res.Score)
		if from != to {
			props := map[string]string{"from": from, "to": to, "score": strconv.Itoa(res.Score), "event": ev.Type}
			s.lifecycleEntry(ctx, res.ContactID, "band:"+ev.ID, contacts.TypeScoreBandChanged, props)
			if s.dialogs != nil && !conversational[ev.Type] && ev.Source != channels.API {
				// A failure is logged by startScripts; the event itself is stored.
				_ = s.startScripts(ctx, res.ContactID, "band:"+ev.ID, contacts.TypeScoreBandChanged, props, res.ScoreDelta)
			}
		}
	}
	if res.ActivityBefore == contacts.ActivitySilent || res.ActivityBefore == contacts.ActivityChurned {
		s.lifecycleEntry(ctx, res.ContactID, "active:"+ev.ID, contacts.TypeActivityChanged,
			map[string]string{"activity": contacts.ActivityActive, "from": res.ActivityBefore, "event": ev.Type})
	}
}

// lifecycleEntry writes one timeline entry, once per key.
func (s *Server) lifecycleEntry(ctx context.Context, contactID, key, typ string, props map[string]string) {
	ct, err := s.contacts.Get(ctx, contactID)
	if err == nil {
		id, ok := anyIdentity(ct)
		if !ok {
			return
		}
		_, err = s.contacts.Apply(ctx, contacts.Change{EventID: key, Identities: []contacts.Identity{id},
			Timeline: &contacts.Entry{At: s.now(), Type: typ, Source: "lifecycle", Props: props}})
	}
	if err != nil {
		s.log.Warn("lifecycle entry not recorded", zap.String("contact", contactID), zap.String("type", typ), zap.Error(err))
	}
}

// startScripts hands a lifecycle event (a contact turned silent, a score
// band crossed by decay or by a non-conversational event) to the dialog
// engine, so scripts with activity or score_band triggers start, and sends
// their replies on the channel the contact last used. Script failures at
// run time are logged (the session ended cleanly); storage trouble is
// returned so the sweep offers the event again.
func (s *Server) startScripts(ctx context.Context, contactID, id, typ string, props map[string]string, scoreDelta int) error {
	if s.dialogs == nil {
		return nil
	}
	ev := channels.Event{ID: id, Type: typ, Props: props}
	ct, err := s.contacts.Get(ctx, contactID)
	if err != nil {
		s.dialogFailed("profile", ev, err)
		return err
	}
	out, err := s.dialogs.Handle(ctx, dialogs.Inbound{ContactID: ct.ID, ID: id, EventType: typ, Props: props,
		Tags: ct.Tags, Score: ct.Score, Stage: ct.Stage, ScoreDelta: scoreDelta})
	if err != nil {
		s.dialogFailed("handle", ev, err)
		if !errors.Is(err, dialogs.ErrRuntime) && !errors.Is(err, dialogs.ErrAction) {
			return err
		}
	}
	for _, r := range out.Replies {
		s.sendDialogReply(ctx, ev, ct.ID, "", r)
	}
	return nil
}
