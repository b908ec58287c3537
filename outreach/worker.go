package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

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
	now := p.opt.Now()
	moved, cur, err := p.records.move(ctx, pl.ID, []Status{StatusScheduled, StatusRetrying, StatusDeferred}, StatusSending, now, true)
	if err != nil {
		return err
	}
	if !moved {
		switch cur {
		case "":
			return fmt.Errorf("outreach: message %s has no record: %w", pl.ID, asynq.SkipRetry)
		case StatusSending:
			return p.finish(ctx, pl.ID, StatusFailed, nil, "outcome unknown: a worker stopped while sending; not resent to avoid a duplicate")
		}
		return nil // already finished
	}
	m, err := p.records.get(ctx, pl.ID)
	if err != nil {
		return err
	}
	return p.send(ctx, m)
}

// attempt is how one channel fared.
type attempt struct {
	channel channels.Channel
	reason  string
	kind    channels.ErrorKind // 0 when the channel was skipped before sending
}

func (p *Pipeline) send(ctx context.Context, m *Message) error {
	contact, err := p.contacts.Get(ctx, m.ContactID)
	if err != nil {
		return p.retry(ctx, m, err)
	}
	order := []channels.Channel{m.ForcedChannel}
	if m.ForcedChannel == "" {
		if order, err = p.render.Order(ctx, m.Template); err != nil {
			return p.finish(ctx, m.ID, StatusFailed, nil, err.Error())
		}
	}
	data := RenderData(contact, m.Vars)
	var tried []attempt
	for _, ch := range order {
		to, why := recipientFor(contact, ch, m.WelcomeCode)
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
		content, err := p.render.Render(ctx, m.Template, ch, data)
		if err != nil {
			tried = append(tried, attempt{channel: ch, reason: err.Error(), kind: channels.Permanent})
			continue
		}
		out := outbound(m, contact, ch, to, content)
		receipt, err := sender.Send(ctx, out)
		if err == nil {
			return p.sent(ctx, m, contact, out, content.Version, receipt)
		}
		kind := channels.KindOfError(err)
		if kind == channels.Transient {
			return p.retry(ctx, m, err)
		}
		tried = append(tried, attempt{channel: ch, reason: err.Error(), kind: kind})
		p.opt.Log.Info("channel failed, trying the next", zap.String("message", m.ID), zap.String("channel", string(ch)), zap.Stringer("kind", kind), zap.Error(err))
	}
	return p.giveUp(ctx, m, contact, tried)
}

func outbound(m *Message, c *contacts.Contact, ch channels.Channel, to string, ct Content) *channels.Outbound {
	out := &channels.Outbound{
		ID: m.ID, Channel: ch, Purpose: m.Purpose, Kind: outboundKind(ch, m.WelcomeCode), To: to, ContactID: c.ID, Campaign: m.Campaign,
		Text: ct.Text, Title: ct.Title, Description: ct.Description, URL: ct.URL, PicURL: ct.PicURL, MediaID: ct.MediaID,
		TemplateID: ct.TemplateID, Fields: ct.Fields, TemplateCode: ct.TemplateCode, Params: ct.Params,
		Subject: ct.Subject, HTML: ct.HTML, LastInbound: c.LastInbound[string(ch)],
	}
	if ch == channels.WeCom {
		out.Sender, out.WelcomeCode = c.Owner, m.WelcomeCode
	}
	return out
}

func (p *Pipeline) sent(ctx context.Context, m *Message, c *contacts.Contact, out *channels.Outbound, version int, r channels.Receipt) error {
	kind := r.Kind
	if kind == "" {
		kind = out.Kind
	}
	if _, _, err := p.records.move(ctx, m.ID, []Status{StatusSending}, StatusSent, p.opt.Now(), false,
		"channel", string(out.Channel), "kind", kind, "platform_id", r.PlatformID, "template_version", strconv.Itoa(version), "error", ""); err != nil {
		return err
	}
	p.sends.WithLabelValues(string(out.Channel), string(StatusSent)).Inc()
	p.note(ctx, c, m, "message_sent", map[string]string{"channel": string(out.Channel), "kind": kind, "platform_id": r.PlatformID, "template_version": strconv.Itoa(version)})
	return nil
}

// retry records a transient failure and hands the task back to asynq, which
// retries with back-off; the last retry's failure is final.
func (p *Pipeline) retry(ctx context.Context, m *Message, cause error) error {
	n, _ := asynq.GetRetryCount(ctx)
	max, _ := asynq.GetMaxRetry(ctx)
	if n >= max {
		return p.finish(ctx, m.ID, StatusFailed, nil, "gave up after retries: "+cause.Error())
	}
	if _, _, err := p.records.move(ctx, m.ID, []Status{StatusSending}, StatusRetrying, p.opt.Now(), false, "error", cause.Error()); err != nil {
		return err
	}
	return cause
}

// giveUp ends a message no channel could carry: suppressed when nothing was
// even tried (no consent, no reachable identity), failed otherwise.
func (p *Pipeline) giveUp(ctx context.Context, m *Message, c *contacts.Contact, tried []attempt) error {
	status := StatusSuppressed
	reasons := make([]string, 0, len(tried))
	for _, a := range tried {
		if a.kind == channels.Permanent || a.kind == channels.OutsideWindow {
			status = StatusFailed
		}
		reasons = append(reasons, string(a.channel)+": "+a.reason)
	}
	if len(tried) == 0 {
		reasons = append(reasons, "the template has no channel")
	}
	return p.finish(ctx, m.ID, status, c, joinReasons(reasons))
}

func (p *Pipeline) finish(ctx context.Context, id string, status Status, c *contacts.Contact, reason string) error {
	moved, _, err := p.records.move(ctx, id, []Status{StatusSending}, status, p.opt.Now(), false, "error", reason)
	if err != nil || !moved {
		return err
	}
	p.sends.WithLabelValues("", string(status)).Inc()
	if c == nil {
		m, err := p.records.get(ctx, id)
		if err != nil {
			return err
		}
		if c, err = p.contacts.Get(ctx, m.ContactID); err != nil {
			p.opt.Log.Warn("timeline entry not written", zap.String("message", id), zap.Error(err))
			return nil //nolint:nilerr // the record says it all; the timeline is a courtesy
		}
	}
	p.note(ctx, c, &Message{ID: id}, "message_"+string(status), map[string]string{"reason": reason})
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
