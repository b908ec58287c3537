package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"time"

	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/outreach"
	"github.com/journeygate/gateway/reports"
)

// ErrNoIdentity means a dialog action named a contact that has no identity
// left to address it by (it was erased); there is nobody to act on.
var ErrNoIdentity = errors.New("contact has no identity")

// DialogActions carries out what nurture scripts decide, through the same
// stores and pipeline the API uses, so a script's tag, message or coupon is
// indistinguishable from an operator's. Every write carries the action's
// idempotency key, so a step that runs again after a crash changes nothing.
type DialogActions struct {
	contacts *contacts.Store
	outreach *outreach.Pipeline
	coupons  *outreach.Coupons
	log      *zap.Logger
	now      func() time.Time
	notifier *outreach.RepNotifier
	reports  *reports.Reports
	mirror   *outreach.TagMirror
	scored   func(ctx context.Context, contactID string) error
}

// OnScore hands every score a script changed to f, so a script's points
// promote a lead exactly as an event's do (Server.ScoreChanged).
func (a *DialogActions) OnScore(f func(ctx context.Context, contactID string) error) { a.scored = f }

// SetReports makes stage changes by scripts count in the reports.
func (a *DialogActions) SetReports(r *reports.Reports) { a.reports = r }

// SetTagMirror makes a script's tag changes show on the customer's WeCom
// profile, like an operator's through the API.
func (a *DialogActions) SetTagMirror(m *outreach.TagMirror) { a.mirror = m }

// SetNotifier makes hand-offs notify the rep in WeCom.
func (a *DialogActions) SetNotifier(n *outreach.RepNotifier) { a.notifier = n }

var _ dialogs.Actions = (*DialogActions)(nil)

// NewDialogActions needs the contact store, the send pipeline and the coupon
// batches; log and now may be nil (no logging, time.Now).
func NewDialogActions(store *contacts.Store, pipe *outreach.Pipeline, coupons *outreach.Coupons, log *zap.Logger, now func() time.Time) (*DialogActions, error) {
	switch {
	case store == nil:
		return nil, errors.New("gateway: dialog actions need the contact store, got nil")
	case pipe == nil:
		return nil, errors.New("gateway: dialog actions need the outreach pipeline to send replies, got nil")
	case coupons == nil:
		return nil, errors.New("gateway: dialog actions need coupons (outreach.NewCoupons), got nil")
	}
	if log == nil {
		log = zap.NewNop()
	}
	if now == nil {
		now = time.Now
	}
	return &DialogActions{contacts: store, outreach: pipe, coupons: coupons, log: log, now: now}, nil
}

// dialogMessageID turns an action key into a message id: keys hold
// characters message ids do not allow, and must stay the same on a rerun.
func dialogMessageID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "dlg-" + hex.EncodeToString(sum[:16])
}

// identity finds one identity of the contact to address a change or a send
// by; the store and the pipeline resolve the whole contact from it.
func (a *DialogActions) identity(ctx context.Context, contactID string) (contacts.Identity, *contacts.Contact, error) {
	ct, err := a.contacts.Get(ctx, contactID)
	if err != nil {
		return contacts.Identity{}, nil, fmt.Errorf("gateway: dialog action on contact %s: %w", contactID, err)
	}
	id, ok := anyIdentity(ct)
	if !ok {
		return contacts.Identity{}, nil, fmt.Errorf("gateway: dialog action on contact %s: %w", ct.ID, ErrNoIdentity)
	}
	return id, ct, nil
}

// apply changes the contact once per action key.
func (a *DialogActions) apply(ctx context.Context, t dialogs.Target, ch contacts.Change) error {
	_, err := a.applyTo(ctx, t, ch)
	return err
}

// applyTo is apply that also reports what changed, and mirrors the tags it
// added or removed onto WeCom.
func (a *DialogActions) applyTo(ctx context.Context, t dialogs.Target, ch contacts.Change) (contacts.Result, error) {
	id, ct, err := a.identity(ctx, t.ContactID)
	if err != nil {
		return contacts.Result{}, err
	}
	ch.EventID = "dlg:" + t.Key
	ch.Identities = []contacts.Identity{id}
	ch.At = a.now()
	if ch.Timeline != nil {
		ch.Timeline.At, ch.Timeline.Source = ch.At, "dialogs"
		ch.Timeline.Props = withScript(ch.Timeline.Props, t)
	}
	res, err := a.contacts.Apply(ctx, ch)
	if err != nil {
		return res, fmt.Errorf("gateway: dialog %s step %s on contact %s: %w", t.Script, t.Step, t.ContactID, err)
	}
	if len(res.TagsAdded)+len(res.TagsRemoved) > 0 {
		// As for the API: a queueing failure leaves our tags right and is
		// only logged, it does not fail the script's step.
		if err := a.mirror.Mirror(ctx, ct, res.TagsAdded, res.TagsRemoved); err != nil {
			a.log.Warn("tag change not mirrored to WeCom", zap.String("contact", ct.ID), zap.Error(err))
		}
	}
	return res, nil
}

func withScript(props map[string]string, t dialogs.Target) map[string]string {
	out := maps.Clone(props)
	if out == nil {
		out = map[string]string{}
	}
	if t.Script != "" {
		out["script"] = t.Script
	}
	if t.Step != "" {
		out["step"] = t.Step
	}
	return out
}

func (a *DialogActions) Tag(ctx context.Context, t dialogs.Target, tag string) error {
	return a.apply(ctx, t, contacts.Change{AddTags: []string{tag},
		Timeline: &contacts.Entry{Type: "tags_changed", Props: map[string]string{"added": tag}}})
}

func (a *DialogActions) Untag(ctx context.Context, t dialogs.Target, tag string) error {
	return a.apply(ctx, t, contacts.Change{RemoveTags: []string{tag},
		Timeline: &contacts.Entry{Type: "tags_changed", Props: map[string]string{"removed": tag}}})
}

func (a *DialogActions) Score(ctx context.Context, t dialogs.Target, delta int) error {
	res, err := a.applyTo(ctx, t, contacts.Change{ScoreDelta: delta, ScoreReason: contacts.ReasonAction, ScoreEvent: "script:" + t.Script})
	if err != nil || a.scored == nil {
		return err
	}
	// Also on a retried step (a duplicate): promotion is idempotent, and a
	// promotion that failed the first time happens now.
	return a.scored(ctx, res.ContactID)
}

func (a *DialogActions) SetStage(ctx context.Context, t dialogs.Target, stage string) error {
	res, err := a.applyTo(ctx, t, contacts.Change{Stage: stage})
	if err != nil {
		return err
	}
	// res names the contact as it is now (the session may predate a merge).
	reportStage(ctx, a.reports, a.log, res.ContactID, stage, a.now())
	return nil
}

// marketingChannels are withdrawn together when an unsubscribe arrives
// without a channel (an event from the API): the customer said stop.
var marketingChannels = []channels.Channel{channels.WeCom, channels.OfficialAccount, channels.SMS, channels.Email}

func (a *DialogActions) Unsubscribe(ctx context.Context, t dialogs.Target) error {
	chs := []channels.Channel{t.Channel}
	if t.Channel == "" || t.Channel == channels.API {
		chs = marketingChannels
	}
	ch := contacts.Change{}
	for _, c := range chs {
		ch.Consent = append(ch.Consent, contacts.ConsentChange{Channel: string(c), Status: contacts.ConsentOptedOut, Source: "unsubscribed by reply in a dialog"})
	}
	return a.apply(ctx, t, ch)
}

// Handoff records the hand-off on the contact's timeline, sends the rep
// (the owner, else the next on duty) a WeCom card and opens the follow-up
// clock; the engine has paused the bot for the contact.
func (a *DialogActions) Handoff(ctx context.Context, t dialogs.Target, h dialogs.Handoff) error {
	a.log.Info("dialog handed off to a rep", zap.String("contact", t.ContactID), zap.String("script", t.Script),
		zap.String("step", t.Step), zap.String("reason", h.Reason), zap.String("text", h.Text))
	props := map[string]string{"reason": h.Reason}
	var (
		rep string
		ct  *contacts.Contact
	)
	if a.notifier != nil {
		var err error
		if ct, err = a.contacts.Get(ctx, t.ContactID); err != nil {
			return err
		}
		if rep, err = a.notifier.PickRep(ctx, ct); err != nil {
			return err
		}
		if rep != "" {
			props["rep"] = rep
		}
	}
	if err := a.apply(ctx, t, contacts.Change{
		Timeline: &contacts.Entry{Type: "handoff", Text: h.Text, Props: props}}); err != nil {
		return err
	}
	reason := "客户请求人工服务"
	if h.Reason != "" && h.Reason != "keyword" {
		reason = h.Reason
	}
	if err := a.notifier.Notify(ctx, rep, ct, reason, h.Text); err != nil {
		return err
	}
	if ct == nil {
		return nil
	}
	return a.notifier.Opened(ctx, ct, rep, a.now())
}

func (a *DialogActions) Profile(ctx context.Context, contactID string) (dialogs.Profile, error) {
	ct, err := a.contacts.Get(ctx, contactID)
	if err != nil {
		return dialogs.Profile{}, fmt.Errorf("gateway: dialog profile of contact %s: %w", contactID, err)
	}
	return dialogs.Profile{Tags: ct.Tags, Score: ct.Score, Stage: ct.Stage}, nil
}

func (a *DialogActions) IssueCoupon(ctx context.Context, t dialogs.Target, batch string) (string, error) {
	code, _, err := a.coupons.Issue(ctx, batch, t.ContactID)
	if err != nil {
		return "", fmt.Errorf("gateway: dialog %s step %s: coupon from batch %s: %w", t.Script, t.Step, batch, err)
	}
	// The batch's automatic expiry reminder, as for codes issued through
	// the API; a retried step finds it queued already.
	b, err := a.coupons.Batch(ctx, batch)
	if err == nil {
		_, _, err = a.outreach.ScheduleCouponReminder(ctx, b, t.ContactID, code)
	}
	if err != nil {
		return "", fmt.Errorf("gateway: dialog %s step %s: expiry reminder of coupon %s: %w", t.Script, t.Step, code, err)
	}
	return code, nil
}

// Send queues a reply on the channel the contact wrote on. It is a service
// message: the customer is in a conversation with us.
func (a *DialogActions) Send(ctx context.Context, t dialogs.Target, r dialogs.Reply) error {
	return a.submit(ctx, t, dialogMessageID(t.Key), r.Text, r.Template, r.Vars, t.Channel, time.Time{})
}

// ScheduleReminder queues a message for r.At. A text reminder goes to the
// conversation's channel; a template one is routed when it is due, since
// the conversation window may have closed by then.
func (a *DialogActions) ScheduleReminder(ctx context.Context, t dialogs.Target, r dialogs.Reminder) error {
	ch := t.Channel
	if r.Text == "" {
		ch = ""
	}
	return a.submit(ctx, t, dialogMessageID(t.Key), r.Text, r.Template, r.Vars, ch, r.At)
}

func (a *DialogActions) submit(ctx context.Context, t dialogs.Target, id, text, template string, vars map[string]string, ch channels.Channel, at time.Time) error {
	return submitDialogMessage(ctx, a.contacts, a.outreach, t, dialogMessage{id: id, text: text, template: template, vars: vars, channel: ch, at: at})
}

// dialogMessage is one message a script sends or schedules.
type dialogMessage struct {
	id, text, template string
	vars               map[string]string
	channel            channels.Channel
	at                 time.Time
}

// submitDialogMessage queues a script's message as a service message: the
// customer is in a conversation with us. Replies to an inbound and the
// Send action share it, so both land in the same records.
func submitDialogMessage(ctx context.Context, store *contacts.Store, pipe *outreach.Pipeline, t dialogs.Target, m dialogMessage) error {
	ct, err := store.Get(ctx, t.ContactID)
	if err != nil {
		return fmt.Errorf("gateway: dialog message to contact %s: %w", t.ContactID, err)
	}
	ident, ok := anyIdentity(ct)
	if !ok {
		return fmt.Errorf("gateway: dialog message to contact %s: %w", ct.ID, ErrNoIdentity)
	}
	ch := m.channel
	if ch == channels.API {
		ch = ""
	}
	in := outreach.Intent{ID: m.id, Contact: []contacts.Identity{ident}, Purpose: channels.Service, Channel: ch, SendAt: m.at}
	if m.template != "" {
		in.Template = m.template
		if len(m.vars) > 0 {
			in.Vars = make(map[string]any, len(m.vars))
			for k, v := range m.vars {
				in.Vars[k] = v
			}
		}
	} else {
		in.Text = m.text
	}
	if _, _, err := pipe.Submit(ctx, in); err != nil {
		return fmt.Errorf("gateway: dialog %s step %s: message %s to contact %s: %w", t.Script, t.Step, m.id, t.ContactID, err)
	}
	return nil
}
