package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
)

// handleSend runs one message. Exactly-once rests on the record's status:
// the worker claims the message (scheduled or retrying → sending) before any
// platform call and records the outcome after. A worker that dies between
// the two leaves the message in sending; when asynq hands the task to
// another worker, the claim fails and the message is marked failed with
// "outcome unknown" instead of being sent a second time: SMS and WeCom sends
// are not idempotent, and a duplicate is worse than a visible gap an
// operator can resend. (An SMS that did go out still turns delivered when
// its receipt arrives.)
func (p *Pipeline) handleSend(ctx context.Context, t *asynq.Task) error {
	var pl taskPayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil || pl.ID == "" {
		return fmt.Errorf("outreach: bad task payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	// One round trip claims the message and reads its record.
	moved, m, err := p.records.claim(ctx, pl.ID, []Status{StatusScheduled, StatusRetrying, StatusDeferred}, p.opt.Now())
	if err != nil {
		return err
	}
	switch {
	case m == nil:
		return fmt.Errorf("outreach: message %s has no record: %w", pl.ID, asynq.SkipRetry)
	case !moved && m.Status == StatusSending:
		return p.finish(ctx, m, StatusFailed, nil, "outcome unknown: a worker stopped while sending; not resent to avoid a duplicate")
	case !moved:
		return nil // already finished
	}
	return p.send(ctx, m)
}

// attempt is how one channel fared.
type attempt struct {
	channel    channels.Channel
	reason     string
	kind       channels.ErrorKind // 0 when the channel was skipped before sending
	capped     bool               // a frequency cap had no room
	rule       string             // the cap or platform rule that stopped it
	quietUntil time.Time          // quiet hours held it until then
}

// reserve takes the message's place under every matching frequency cap, in
// one atomic step, right before the platform call; a message whose place
// was reserved at dispatch uses that one.
// A coupon reminder also takes its code's reminder slot here, after the
// caps, and gives the caps back when the slot says it must not go.
func (p *Pipeline) reserve(ctx context.Context, m *Message, c *contacts.Contact, out *channels.Outbound) (Reservation, error) {
	res := Reservation{MessageID: m.ID}
	if len(m.CapKeys) > 0 && out.Channel == m.ForcedChannel {
		res = m.heldReservation() // reserved when the campaign batch was dispatched
	} else if p.opt.Caps != nil {
		var err error
		if res, err = p.opt.Caps.Reserve(ctx, CapRequest{ContactID: c.ID, MessageID: m.ID, Channel: string(out.Channel), Kind: out.Kind,
			Purpose: string(m.Purpose), Campaign: m.Campaign, Tags: c.Tags}); err != nil {
			return res, err
		}
	}
	if m.Reminds != nil {
		if err := p.claimReminder(ctx, m); err != nil {
			p.release(ctx, res, nil)
			return Reservation{MessageID: m.ID}, err
		}
	}
	return res, nil
}

// release gives a failed send's places back (and the coupon reminder slot
// of m, when given); a leftover place only makes a cap stricter, so a
// failure here is logged and not retried.
func (p *Pipeline) release(ctx context.Context, r Reservation, m *Message) {
	if m != nil && m.Reminds != nil {
		if err := p.releaseReminder(ctx, m); err != nil {
			p.opt.Log.Warn("coupon reminder slot not released", zap.String("message", m.ID), zap.Error(err))
		}
	}
	if p.opt.Caps == nil || len(r.Keys) == 0 {
		return
	}
	if err := p.opt.Caps.Release(ctx, r); err != nil {
		p.opt.Log.Warn("cap reservation not released", zap.String("message", r.MessageID), zap.Error(err))
	}
}

func (p *Pipeline) send(ctx context.Context, m *Message) error {
	contact, err := p.contacts.Get(ctx, m.ContactID)
	if err != nil {
		p.release(ctx, m.heldReservation(), nil) // the retry reserves at send time
		return p.retry(ctx, m, err)
	}
	// held: a place reserved at dispatch that no send attempt has taken
	// over yet; the message gives it back if it does not get that far.
	held := len(m.CapKeys) > 0
	tpl := p.templateOf(ctx, m)
	order := []channels.Channel{m.ForcedChannel}
	if m.ForcedChannel == "" {
		if order, err = tpl.order(ctx); err != nil {
			return p.finish(ctx, m, StatusFailed, contact, err.Error())
		}
	}
	data := RenderData(contact, m.Vars)
	var tried []attempt
	route := wecomRouteFor(contact, m.WelcomeCode, m.OpenKFID, p.opt.Now())
	for _, ch := range order {
		to, why := recipientFor(contact, ch, route)
		if why == "" {
			if ok, reason := consentAllows(contact, ch, m.Purpose); !ok {
				why = reason
			}
		}
		sender := p.senders[ch]
		if why == "" && sender == nil {
			why = string(ch) + " is not configured"
		}
		if why != "" {
			tried = append(tried, attempt{channel: ch, reason: why})
			continue
		}
		if m.Purpose == channels.Marketing {
			if until := p.opt.Quiet.Until(p.opt.Now(), string(ch), contact.TZ); !until.IsZero() {
				tried = append(tried, attempt{channel: ch, reason: "quiet hours until " + until.Format(time.RFC3339), quietUntil: until})
				continue
			}
		}
		content, err := p.content(ctx, m, tpl, ch, data)
		if err != nil {
			tried = append(tried, attempt{channel: ch, reason: err.Error(), kind: channels.Permanent})
			continue
		}
		out := outbound(m, contact, ch, to, content, route)
		if serviceWindowClosed(out, p.opt.Now()) {
			tried = append(tried, attempt{channel: ch, reason: "capped by " + RuleOAServiceWindow + ": " + describeInbound(out.LastInbound) +
				", and the template has no template_id to send a template message instead", capped: true, rule: RuleOAServiceWindow})
			continue
		}
		reservation, err := p.reserve(ctx, m, contact, out)
		held = held && ch != m.ForcedChannel
		var capped *CappedError
		if errors.As(err, &capped) {
			tried = append(tried, attempt{channel: ch, reason: "capped by " + capped.Rule, capped: true, rule: capped.Rule})
			continue
		}
		var stale *SuppressedError
		if errors.As(err, &stale) {
			return p.finish(ctx, m, StatusSuppressed, contact, stale.Error(), "reason", stale.Reason)
		}
		if err != nil {
			return p.retry(ctx, m, err)
		}
		receipt, err := sender.Send(ctx, out)
		if err == nil {
			return p.sent(ctx, m, contact, out, content.Version, receipt)
		}
		kind := channels.KindOfError(err)
		if kind != channels.Transient || errors.Is(err, channels.ErrOutcomeUnknown) {
			// A failure on this channel, whatever happens to the message.
			p.observe(ctx, MessageEvent{MessageID: m.ID, ContactID: contact.ID, Campaign: m.Campaign, Variant: m.Variant, Channel: string(ch), Stat: string(StatusFailed)})
		}
		if errors.Is(err, channels.ErrOutcomeUnknown) {
			// It may have gone out: a resend could be a duplicate. The cap
			// place stays taken, and a delivery receipt can still arrive.
			return p.finish(ctx, m, StatusFailed, contact, err.Error())
		}
		p.release(ctx, reservation, m)
		if kind == channels.Transient {
			return p.retry(ctx, m, err)
		}
		tried = append(tried, attempt{channel: ch, reason: err.Error(), kind: kind})
		p.opt.Log.Info("channel failed, trying the next", zap.String("message", m.ID), zap.String("channel", string(ch)), zap.Stringer("kind", kind), zap.Error(err))
	}
	if held {
		p.release(ctx, m.heldReservation(), nil)
	}
	return p.giveUp(ctx, m, contact, tried)
}

// content is what m says on ch: its literal text, or its template rendered.
func (p *Pipeline) content(ctx context.Context, m *Message, tpl *messageTemplate, ch channels.Channel, data map[string]any) (Content, error) {
	if m.Text != "" {
		return Content{Text: m.Text}, nil
	}
	return tpl.content(ctx, ch, data)
}

func outbound(m *Message, c *contacts.Contact, ch channels.Channel, to string, ct Content, route wecomRoute) *channels.Outbound {
	out := &channels.Outbound{
		ID: m.ID, Channel: ch, Purpose: m.Purpose, Kind: outboundKind(ch, route), To: to, ContactID: c.ID, Campaign: m.Campaign,
		Text: ct.Text, Title: ct.Title, Description: ct.Description, URL: ct.URL, PicURL: ct.PicURL, MediaID: ct.MediaID,
		TemplateID: ct.TemplateID, Fields: ct.Fields, TemplateCode: ct.TemplateCode, Params: ct.Params,
		Subject: ct.Subject, HTML: ct.HTML, LastInbound: c.LastInbound[string(ch)],
	}
	if ch == channels.WeCom {
		out.Sender, out.WelcomeCode, out.OpenKFID = c.Owner, m.WelcomeCode, route.openKFID
	}
	return out
}

func (p *Pipeline) sent(ctx context.Context, m *Message, c *contacts.Contact, out *channels.Outbound, version int, r channels.Receipt) error {
	kind := r.Kind
	if kind == "" {
		kind = out.Kind
	}
	// It went out: counted as sent even when a receipt settled it first.
	e := MessageEvent{MessageID: m.ID, ContactID: c.ID, Campaign: m.Campaign, Variant: m.Variant, Channel: string(out.Channel), Stat: string(StatusSent)}
	_, told, err := p.settle(ctx, m, StatusSent, string(out.Channel), []string{string(StatusSent)}, true, &e,
		"channel", string(out.Channel), "kind", kind, "platform_id", r.PlatformID, "template_version", strconv.Itoa(version), "error", "")
	if err != nil {
		return err
	}
	p.sends.WithLabelValues(string(out.Channel), string(StatusSent)).Inc()
	if !told {
		p.observe(ctx, e)
	}
	p.note(ctx, c, m, "message_sent", map[string]string{"channel": string(out.Channel), "kind": kind, "platform_id": r.PlatformID, "template_version": strconv.Itoa(version)})
	return nil
}

// retry records a transient failure and hands the task back to asynq, which
// retries with back-off; the last retry's failure is final.
func (p *Pipeline) retry(ctx context.Context, m *Message, cause error) error {
	n, _ := asynq.GetRetryCount(ctx)
	max, _ := asynq.GetMaxRetry(ctx)
	if n >= max {
		return p.finish(ctx, m, StatusFailed, nil, "gave up after retries: "+cause.Error())
	}
	if _, _, err := p.records.move(ctx, m.ID, []Status{StatusSending}, StatusRetrying, p.opt.Now(), false, m.dropHeld("error", cause.Error())...); err != nil {
		return err
	}
	return cause
}

// giveUp settles a message no channel carried now. Quiet hours defer it to
// the earliest window end (other channels may have been skipped for good
// reasons meanwhile); otherwise a full cap makes it capped, a platform
// refusal failed, and nothing tried at all (no consent, no reachable
// identity) suppressed.
func (p *Pipeline) giveUp(ctx context.Context, m *Message, c *contacts.Contact, tried []attempt) error {
	var quietUntil time.Time
	capped, failed := false, false
	rule := "" // the first capping rule in routing order names the outcome
	reasons := make([]string, 0, len(tried))
	for _, a := range tried {
		if a.kind == channels.OutsideWindow && a.channel == channels.OfficialAccount {
			// WeChat's own clock said the window is closed (45015, 45047).
			a.capped, a.rule = true, RuleOAServiceWindow
		}
		switch {
		case !a.quietUntil.IsZero():
			if quietUntil.IsZero() || a.quietUntil.Before(quietUntil) {
				quietUntil = a.quietUntil
			}
		case a.capped:
			capped = true
			if rule == "" {
				rule = a.rule
			}
		case a.kind == channels.Permanent || a.kind == channels.OutsideWindow:
			failed = true
		}
		reasons = append(reasons, string(a.channel)+": "+a.reason)
	}
	if !quietUntil.IsZero() {
		return p.deferTo(ctx, m, quietUntil, joinReasons(reasons))
	}
	status := StatusSuppressed
	switch {
	case capped:
		status = StatusCapped
	case failed:
		status = StatusFailed
	}
	if len(tried) == 0 {
		reasons = append(reasons, "the template has no channel")
	}
	if status == StatusCapped && rule != "" {
		return p.finish(ctx, m, status, c, joinReasons(reasons), "reason", rule)
	}
	return p.finish(ctx, m, status, c, joinReasons(reasons))
}

// deferTo puts a message back to sleep until t under a new task id (the
// running task still holds the message id). If scheduling fails, the error
// makes asynq retry this task, which finds the message deferred, claims it
// and decides again.
func (p *Pipeline) deferTo(ctx context.Context, m *Message, t time.Time, reason string) error {
	if _, _, err := p.records.move(ctx, m.ID, []Status{StatusSending}, StatusDeferred, p.opt.Now(), false,
		m.dropHeld("send_at", msString(t), "error", reason)...); err != nil {
		return err
	}
	payload, _ := json.Marshal(taskPayload{ID: m.ID})
	_, err := p.queue.EnqueueContext(ctx, asynq.NewTask(taskSend, payload), asynq.TaskID(fmt.Sprintf("%s@%d", m.ID, t.Unix())),
		asynq.ProcessAt(t), asynq.MaxRetry(p.opt.MaxRetry), asynq.Retention(24*time.Hour))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("outreach: defer message %s: %w", m.ID, err)
	}
	p.sends.WithLabelValues("none", string(StatusDeferred)).Inc()
	p.countMessage(ctx, m, noChannel, string(StatusDeferred))
	return nil
}

// finish settles a claimed message m (its record as claimed); fields are
// more record fields to set, e.g. "reason" with the named rule, which
// campaign statistics also count as "<status>:<rule>". The record and the
// statistics take one round trip (settle); c is the contact when the
// caller has read it, else it is read here for the timeline entry.
func (p *Pipeline) finish(ctx context.Context, m *Message, status Status, c *contacts.Contact, reason string, fields ...string) error {
	stats := []string{string(status)}
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "reason" && fields[i+1] != "" {
			stats = append(stats, string(status)+":"+fields[i+1])
		}
	}
	channel := string(m.Channel)
	moved, _, err := p.settle(ctx, m, status, channel, stats, false, nil, m.dropHeld(append([]string{"error", reason}, fields...)...)...)
	if err != nil || !moved {
		return err
	}
	p.sends.WithLabelValues("none", string(status)).Inc()
	for _, s := range stats {
		p.observe(ctx, MessageEvent{MessageID: m.ID, ContactID: m.ContactID, Campaign: m.Campaign, Variant: m.Variant, Channel: channel, Stat: s})
	}
	if c == nil {
		if c, err = p.contacts.Get(ctx, m.ContactID); err != nil {
			p.opt.Log.Warn("timeline entry not written", zap.String("message", m.ID), zap.Error(err))
			return nil //nolint:nilerr // the record says it all; the timeline is a courtesy
		}
	}
	p.note(ctx, c, &Message{ID: m.ID}, "message_"+string(status), map[string]string{"reason": reason})
	return nil
}

// note writes a timeline entry about m on the contact; a failure is logged,
// never allowed to undo a send.
func (p *Pipeline) note(ctx context.Context, c *contacts.Contact, m *Message, typ string, props map[string]string) {
	id, ok := anyIdentity(c)
	if !ok {
		return
	}
	props["message_id"] = m.ID
	_, err := p.contacts.Apply(ctx, contacts.Change{EventID: "msg:" + m.ID + ":" + typ, Identities: []contacts.Identity{id},
		Timeline: &contacts.Entry{At: p.opt.Now(), Type: typ, Source: "outreach", Props: props}})
	if err != nil && !errors.Is(err, context.Canceled) {
		p.opt.Log.Warn("timeline entry not written", zap.String("message", m.ID), zap.String("type", typ), zap.Error(err))
	}
}

func anyIdentity(c *contacts.Contact) (contacts.Identity, bool) {
	for _, kind := range []string{contacts.KindExternalUserID, contacts.KindOpenID, contacts.KindUnionID, contacts.KindPhone, contacts.KindEmail} {
		if ids := c.Identities[kind]; len(ids) > 0 {
			return contacts.Identity{Kind: kind, Value: ids[0]}, true
		}
	}
	return contacts.Identity{}, false
}
