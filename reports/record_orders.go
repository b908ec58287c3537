package reports

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// orderTTL is how long an order id is remembered, so a shop that reports an
// order twice (a redemption and an order_paid event) is counted once.
const orderTTL = 400 * 24 * time.Hour

// maxAmount bounds one amount (in currency units): a typo, not a sale.
const maxAmount = 1e10

// Order is a paid order: a coupon redemption or an order_paid event.
type Order struct {
	ContactID string
	// OrderID makes the order count once; empty counts every call.
	OrderID string
	// AmountCents is the revenue in hundredths of the reports' currency.
	AmountCents int64
	At          time.Time
}

// ParseAmount reads a money amount ("199", "199.90") into cents. It is
// strict, so a shop's bad field is refused instead of counted as zero.
func ParseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("%w: amount %q is not a number like 199.90", ErrInvalid, s)
	case f < 0 || f > maxAmount:
		return 0, fmt.Errorf("%w: amount %s must be between 0 and %.0f", ErrInvalid, s, float64(maxAmount))
	}
	return int64(math.Round(f * 100)), nil
}

// RecordOrder credits an order to the contact's last campaign touch within
// AttributionWindow (last touch wins): one deal and its amount as revenue
// for that campaign on the order's day. An order id seen before changes
// nothing. It returns the campaign credited, "" for none.
func (r *Reports) RecordOrder(ctx context.Context, o Order) (string, error) {
	if o.ContactID == "" || o.AmountCents < 0 {
		return "", fmt.Errorf("%w: an order needs a contact and a non-negative amount", ErrInvalid)
	}
	if o.OrderID != "" {
		fresh, err := r.rdb.SetNX(ctx, orderSeenKey(cleanLabel(o.OrderID)), 1, orderTTL).Result()
		if err != nil {
			return "", fmt.Errorf("reports: remember order %s: %w", o.OrderID, err)
		}
		if !fresh {
			return "", nil
		}
	}
	t, ok, err := r.LastCampaign(ctx, o.ContactID, o.At)
	if err != nil || !ok {
		return "", err
	}
	b := newBatch()
	day := r.day(o.At)
	b.add(campaignDayKey(day), t.Campaign+"|"+statDeals, 1)
	b.add(campaignDayKey(day), t.Campaign+"|"+statRevenue, o.AmountCents)
	return t.Campaign, r.flush(ctx, b)
}

// Cost is what a campaign cost, as entered.
type Cost struct {
	Campaign string  `json:"campaign"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

// SetCost enters (or corrects) a campaign's total cost; ROI and CAC divide
// by it. The currency must be the reports' currency; empty means it.
func (r *Reports) SetCost(ctx context.Context, campaign string, amount float64, currency string) (Cost, error) {
	campaign = cleanLabel(campaign)
	switch {
	case campaign == "":
		return Cost{}, fmt.Errorf("%w: the campaign id is required", ErrInvalid)
	case math.IsNaN(amount) || math.IsInf(amount, 0) || amount < 0 || amount > maxAmount:
		return Cost{}, fmt.Errorf("%w: amount must be a number between 0 and %.0f", ErrInvalid, float64(maxAmount))
	case currency != "" && currency != r.opt.Currency:
		return Cost{}, fmt.Errorf("%w: %q given, reports are kept in %s; convert the amount to %s", ErrCurrency, currency, r.opt.Currency, r.opt.Currency)
	}
	cents := int64(math.Round(amount * 100))
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, campaignCostKey(), campaign, cents)
		p.SAdd(ctx, campaignsKey(), campaign)
		return nil
	})
	if err != nil {
		return Cost{}, fmt.Errorf("reports: store the cost of campaign %s: %w", campaign, err)
	}
	return Cost{Campaign: campaign, Amount: float64(cents) / 100, Currency: r.opt.Currency}, nil
}

// costs reads every entered cost in cents.
func (r *Reports) costs(ctx context.Context) (map[string]int64, error) {
	h, err := r.rdb.HGetAll(ctx, campaignCostKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reports: read campaign costs: %w", err)
	}
	out := make(map[string]int64, len(h))
	for k, v := range h {
		n, _ := strconv.ParseInt(v, 10, 64)
		out[k] = n
	}
	return out, nil
}
