package dialogs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/journeygate/gateway/channels"
)

type globalWord uint8

const (
	globalNone globalWord = iota
	globalHandoff
	globalUnsubscribe
)

// globalWords are the reserved replies (in normalized form) that act in any
// script, even while another script runs.
var globalWords = map[string]globalWord{
	"人工": globalHandoff, "转人工": globalHandoff, "human": globalHandoff,
	"td": globalUnsubscribe, "退订": globalUnsubscribe,
}

// global recognises the reserved replies; they must be the whole message.
func global(norm string) globalWord { return globalWords[norm] }

// isReply says whether the inbound is something the contact wrote that a
// waiting step can take as an answer.
func isReply(in *Inbound) bool {
	if strings.TrimSpace(in.Text) == "" {
		return false
	}
	switch in.EventType {
	case "", channels.TypeMessage, channels.TypeSMSReply:
		return true
	}
	return false
}

// match finds the script an inbound starts: the highest priority whose
// trigger fires, ties broken by id.
func (l *Library) match(in *Inbound, norm string, b bands) *Script {
	for _, s := range l.ordered {
		for i := range s.triggers {
			if s.triggers[i].matches(in, norm, b) {
				return s
			}
		}
	}
	return nil
}

func checkContactID(id string) error {
	if id == "" || len(id) > 200 || strings.ContainsAny(id, "{}") {
		return fmt.Errorf("dialogs: contact id %.40q must be 1 to 200 bytes without { or }: %w", id, ErrInvalidInbound)
	}
	return nil
}

// Handle advances the contact's dialog with one inbound: global keywords
// first (人工 / 转人工 / human hand off, TD / 退订 unsubscribe), then a
// trigger of higher priority than the running script replaces it, else a
// reply answers the step the script waits at.
//
// Redis: an inbound that is no reply and fires no trigger costs nothing;
// a reply of a contact without a session costs one round trip; a step costs
// two (read and lock, then save and unlock). Actions run before the save,
// in script order, with idempotency keys.
//
// Errors wrapping ErrRuntime or ErrAction come with a valid Outcome: the
// session was ended and the Outcome lists the replies produced before.
func (e *Engine) Handle(ctx context.Context, in Inbound) (Outcome, error) {
	if err := checkContactID(in.ContactID); err != nil {
		return Outcome{}, err
	}
	lib := e.lib.Load()
	reply := isReply(&in)
	norm := ""
	if reply {
		norm = normalize(in.Text)
	}
	g := global(norm)
	var trig *Script
	if g == globalNone {
		trig = lib.match(&in, norm, e.bands)
	}
	if !reply && trig == nil {
		return Outcome{}, nil
	}
	mode := lockIfSession
	switch {
	case g == globalUnsubscribe:
		mode = lockAlways
	case g == globalHandoff || trig != nil:
		mode = lockUnlessHeld
	}
	ld, err := e.lock(ctx, in.ContactID, mode, true)
	if err != nil {
		return Outcome{}, err
	}
	if !ld.locked {
		return Outcome{HandedOff: ld.rawHold != ""}, nil
	}
	now := e.opt.Now()
	t := e.newTurn(ctx, in.ContactID, in.Channel, now, &in)
	t.resume(ld.rawSess)
	if in.ID != "" {
		t.keyBase = "e" + in.ID
	}
	switch {
	case g == globalUnsubscribe:
		t.endSession()
		if t.act("unsubscribe", func(tg Target) error { return e.actions.Unsubscribe(ctx, tg) }) {
			t.say(e.opt.UnsubscribeReply)
		}
	case g == globalHandoff:
		t.endSession()
		if t.handoff(Handoff{Reason: "keyword", Text: in.Text}) {
			t.say(e.opt.HandoffReply)
		}
	case trig != nil && (t.sess == nil || trig.Priority > t.sess.Priority):
		t.endSession()
		t.start(trig)
	case t.sess != nil && reply:
		t.answer(in.Text, norm)
	}
	if ld.rawHold != "" {
		t.out.HandedOff = true
	}
	return t.finish(ld)
}

// newTurn prepares one call's run for a contact.
func (e *Engine) newTurn(ctx context.Context, contactID string, ch channels.Channel, now time.Time, in *Inbound) *turn {
	t := &turn{e: e, ctx: ctx, contactID: contactID, channel: ch, in: in, holdJSON: "=", now: now}
	t.keyBase = "t" + strconv.FormatInt(now.UnixMilli(), 10)
	return t
}

// resume puts the stored session (if any) into the turn; a session that
// cannot be continued is ended and reported.
func (t *turn) resume(raw string) {
	sess, err := decodeSession(raw)
	if err != nil {
		t.had = true
		t.fail(fmt.Errorf("dialogs: contact %s: %w: %w", t.contactID, ErrRuntime, err))
		return
	}
	if sess == nil {
		return
	}
	t.had = true
	t.oldDeadline = sess.Deadline
	sc, err := t.e.version(t.ctx, sess.Script, sess.Version)
	if err != nil {
		t.fail(fmt.Errorf("dialogs: contact %s: %w", t.contactID, err))
		return
	}
	t.sc, t.sess = sc, sess
	if t.channel == "" {
		t.channel = channels.Channel(sess.Channel)
	}
	t.keyBase = fmt.Sprintf("%s/%d/%d", sc.Key(), sess.Started, sess.Rev)
}

// finish saves what the turn changed and releases the lock.
func (t *turn) finish(ld loaded) (Outcome, error) {
	w := write{contactID: t.contactID, token: ld.token, sess: "", hold: t.holdJSON, sources: t.sources}
	if t.sess != nil {
		t.sess.Rev++
		if t.channel != "" {
			t.sess.Channel = string(t.channel)
		}
		w.sess = mustJSON(t.sess)
		if t.sess.Deadline != t.oldDeadline {
			w.deadline = t.sess.Deadline
		}
	} else if t.oldDeadline != 0 {
		w.oldDeadline = t.oldDeadline
	}
	if ld.rawSess == "" && t.sess == nil {
		w.sess = "="
	}
	t.out.Ended = t.had && t.sess == nil
	if err := t.e.commit(t.ctx, w); err != nil {
		return t.out, joinErr(t.err, err)
	}
	return t.out, t.err
}
