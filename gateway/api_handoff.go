package gateway

import (
	"context"
	"errors"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/outreach"
)

// handoffDone is the rep saying the lead was followed up: the reminders
// stop, the timeline says so, and the bot talks to the contact again.
func (s *Server) handoffDone(c *gin.Context) {
	ct, ok := s.reachableContact(c)
	if !ok {
		return
	}
	if err := s.closeHandoff(c.Request.Context(), ct, c.GetString("token_name")); err != nil {
		fail(c, err)
		return
	}
	s.respondContact(c, ct.ID)
}

// repFollowedUp handles a rep's "已跟进" in the WeCom app: it closes the
// rep's latest hand-off. Nothing to close is only logged.
func (s *Server) repFollowedUp(ctx context.Context, rep string) {
	id, err := s.notifier.LatestOpen(ctx, rep)
	if err == nil {
		var ct *contacts.Contact
		if ct, err = s.contacts.Get(ctx, id); err == nil {
			err = s.closeHandoff(ctx, ct, rep)
		}
	}
	if err != nil {
		s.log.Info("已跟进 from a rep closed no hand-off", zap.String("rep", rep), zap.Error(err))
	}
}

func (s *Server) closeHandoff(ctx context.Context, ct *contacts.Contact, by string) error {
	err := s.notifier.FollowedUp(ctx, ct.ID, s.now())
	if errors.Is(err, outreach.ErrNoOpenHandoff) && s.botHeld(ctx, ct.ID) {
		err = nil // a person took over without a card (a 微信客服 servicer): only the bot waits
	}
	if err != nil {
		return err
	}
	id, ok := anyIdentity(ct)
	if !ok {
		return nil
	}
	if _, err := s.contacts.Apply(ctx, contacts.Change{Identities: []contacts.Identity{id},
		Timeline: &contacts.Entry{At: s.now(), Type: "handoff_followed_up", Source: "sales", Props: map[string]string{"by": by}}}); err != nil {
		return err
	}
	if s.dialogs != nil {
		if _, err := s.dialogs.Resume(ctx, ct.ID); err != nil {
			s.log.Warn("bot not resumed after the hand-off", zap.String("contact", ct.ID), zap.Error(err))
		}
	}
	return nil
}

// botHeld reports whether the bot is paused for the contact.
func (s *Server) botHeld(ctx context.Context, contactID string) bool {
	if s.dialogs == nil {
		return false
	}
	st, err := s.dialogs.State(ctx, contactID)
	return err == nil && st.HandedOff
}
