package gateway

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/outreach"
	"github.com/journeygate/gateway/reports"
)

// Reports are statistics: every hook here logs a failure and carries on,
// so a report never fails a callback (which the platform would retry) or
// an API call whose change is already stored.

// typeOrderPaid is the API event a shop sends for a paid order; its
// props.amount counts as campaign revenue.
const typeOrderPaid = "order_paid"

// replyTypes are the inbound events that answer a message we sent.
var replyTypes = map[string]bool{channels.TypeMessage: true, channels.TypeSMSReply: true}

// reportEvent feeds the reports what an applied event means: a new
// contact's source, opt-outs, replies, email opens and clicks, and orders.
func (s *Server) reportEvent(ctx context.Context, ev channels.Event, ch contacts.Change, res contacts.Result) {
	if s.reports == nil || res.Duplicate {
		return
	}
	at := ev.At
	if at.IsZero() {
		at = s.now()
	}
	logged := func(what string, err error) {
		if err != nil {
			s.log.Warn("report not recorded", zap.String("what", what), zap.String("event", ev.ID), zap.String("contact", res.ContactID), zap.Error(err))
		}
	}
	if res.Created {
		logged("first sight", s.reports.Seen(ctx, res.ContactID, sourceOf(ev), at))
	}
	for _, c := range ch.Consent {
		if c.Status == "opted_out" {
			logged("opt-out", s.reports.Unsubscribed(ctx, res.ContactID, c.Channel, at))
		}
	}
	switch {
	case replyTypes[ev.Type] && ev.Source != channels.API:
		touch, ok, err := s.reports.InboundReply(ctx, res.ContactID, at)
		logged("reply", err)
		if ok && s.outreach != nil {
			_, err := s.outreach.CountReaction(ctx, touch.Campaign, touch.MessageID, outreach.StatReplied)
			logged("campaign reply", err)
		}
	case (ev.Type == channels.TypeEmailOpen || ev.Type == channels.TypeEmailClick) && ev.Props["message_id"] != "":
		stat := reports.StatOpened
		if ev.Type == channels.TypeEmailClick {
			stat = reports.StatClicked
		}
		logged(stat, s.reports.Reaction(ctx, string(channels.Email), stat, ev.Props["message_id"], at))
	case ev.Type == typeOrderPaid:
		cents, err := reports.ParseAmount(ev.Props["amount"])
		if err != nil {
			logged("order", err)
			return
		}
		order := ev.Props["order_id"]
		if order == "" {
			order = ev.ID
		}
		_, err = s.reports.RecordOrder(ctx, reports.Order{ContactID: res.ContactID, OrderID: order, AmountCents: cents, At: at})
		logged("order", err)
	}
}

// sourceOf is where a contact first seen through ev came from.
func sourceOf(ev channels.Event) string {
	switch ev.Type {
	case channels.TypeSubscribe, channels.TypeScan:
		if scene := ev.Props["scene"]; scene != "" {
			return reports.QRSource(scene)
		}
	case channels.TypeContactAdded, channels.TypeContactHalfAdded:
		if state := ev.Props["state"]; state != "" {
			return reports.WeComStateSource(state)
		}
	}
	return reports.SourceDirect
}

// reportStage records a stage change; r may be nil.
func reportStage(ctx context.Context, r *reports.Reports, log *zap.Logger, contactID, stage string, at time.Time) {
	if r == nil {
		return
	}
	if err := r.StageChanged(ctx, contactID, stage, at); err != nil {
		log.Warn("report not recorded", zap.String("what", "stage"), zap.String("contact", contactID), zap.Error(err))
	}
}

// reportRedemption records a first redemption: the contact became a
// customer, the order is a deal for its last campaign within the
// attribution window, and that campaign's statistics count it as redeemed.
func (s *Server) reportRedemption(ctx context.Context, r outreach.Redemption, amountCents int64) {
	if s.reports == nil {
		return
	}
	reportStage(ctx, s.reports, s.log, r.ContactID, contacts.StageCustomer, r.RedeemedAt)
	order := r.OrderID
	if order == "" {
		order = "coupon:" + r.Code
	}
	if _, err := s.reports.RecordOrder(ctx, reports.Order{ContactID: r.ContactID, OrderID: order, AmountCents: amountCents, At: r.RedeemedAt}); err != nil {
		s.log.Warn("report not recorded", zap.String("what", "redemption"), zap.String("code", r.Code), zap.Error(err))
	}
	touch, ok, err := s.reports.LastCampaign(ctx, r.ContactID, r.RedeemedAt)
	if err == nil && ok && s.outreach != nil {
		_, err = s.outreach.CountReaction(ctx, touch.Campaign, touch.MessageID, outreach.StatRedeemed)
	}
	if err != nil {
		s.log.Warn("report not recorded", zap.String("what", "campaign redemption"), zap.String("code", r.Code), zap.Error(err))
	}
}

// validateOrderPaid refuses an order_paid event whose amount would not
// count, before anything is stored.
func validateOrderPaid(typ string, props map[string]string) error {
	if typ != typeOrderPaid {
		return nil
	}
	if _, err := reports.ParseAmount(props["amount"]); err != nil {
		return invalidField("props.amount", "an order_paid event needs the order's amount as a number, e.g. 199.90")
	}
	return nil
}

// redeemAmount reads the optional amount of a redemption in cents.
func redeemAmount(n *json.Number) (int64, error) {
	if n == nil {
		return 0, nil
	}
	cents, err := reports.ParseAmount(n.String())
	if err != nil {
		return 0, invalidField("amount", "must be the order's value as a number between 0 and 10000000000, e.g. 199.90")
	}
	return cents, nil
}
