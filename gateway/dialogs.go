package gateway

import (
	"context"

	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
)

// conversational are the event types a customer sets off by doing
// something a script may answer; receipts, opens and member events are not.
var conversational = map[string]bool{
	channels.TypeMessage: true, channels.TypeSubscribe: true, channels.TypeScan: true, channels.TypeMenuClick: true,
	channels.TypeContactAdded: true, channels.TypeSMSReply: true,
}

// inlineReply is a script's reply the callback answers in its response.
type inlineReply struct {
	dialogs.Reply
	contactID string
}

// converse hands an applied event to the dialog engine and sends its
// replies. With passive it keeps the first text reply for the caller to
// answer inline instead. Failures are logged and counted, never returned:
// the event is already stored and a platform retry would be a duplicate.
func (s *Server) converse(ctx context.Context, ev channels.Event, res contacts.Result, scoreDelta int, passive bool) *inlineReply {
	if s.dialogs == nil || (!conversational[ev.Type] && ev.Source != channels.API) {
		return nil
	}
	ct, err := s.contacts.Get(ctx, res.ContactID)
	if err != nil {
		s.dialogFailed("profile", ev, err)
		return nil
	}
	in := dialogs.Inbound{ContactID: ct.ID, ID: ev.ID, Channel: ev.Source, Text: ev.Text, EventType: ev.Type, Props: ev.Props,
		Tags: ct.Tags, Score: ct.Score, Stage: ct.Stage, TagsAdded: res.TagsAdded, ScoreDelta: scoreDelta}
	if ev.Source == channels.API {
		in.Channel = "" // the session keeps the channel the customer last wrote on
	}
	out, err := s.dialogs.Handle(ctx, in)
	if err != nil {
		// ErrRuntime and ErrAction still come with the replies made before.
		s.dialogFailed("handle", ev, err)
	}
	var inline *inlineReply
	for _, r := range out.Replies {
		if passive && inline == nil && r.Template == "" && r.Text != "" {
			inline = &inlineReply{Reply: r, contactID: ct.ID}
			continue
		}
		s.sendDialogReply(ctx, ev, ct.ID, in.Channel, r)
	}
	return inline
}

// sendDialogReply queues one reply through outreach, as Actions.Send does.
func (s *Server) sendDialogReply(ctx context.Context, ev channels.Event, contactID string, ch channels.Channel, r dialogs.Reply) {
	if ch == "" && r.Template == "" {
		// An API event names no channel: answer where the session runs.
		if st, err := s.dialogs.State(ctx, contactID); err == nil {
			ch = channels.Channel(st.Channel)
		}
	}
	t := dialogs.Target{ContactID: contactID, Channel: ch, Key: r.Key}
	m := dialogMessage{id: dialogMessageID(r.Key), text: r.Text, template: r.Template, vars: r.Vars, channel: ch}
	if err := submitDialogMessage(ctx, s.contacts, s.outreach, t, m); err != nil {
		s.dialogFailed("reply", ev, err)
	}
}

func (s *Server) dialogFailed(stage string, ev channels.Event, err error) {
	s.metrics.dialogs.WithLabelValues(stage).Inc()
	s.log.Warn("dialog script failed on an event", zap.String("stage", stage), zap.String("event", ev.ID),
		zap.String("source", string(ev.Source)), zap.String("type", ev.Type), zap.Error(err))
}
