package reports

import (
	"context"
	"math"
	"slices"
)

// ChannelRow compares one channel over a period. Rates are over Sent and
// null where the channel cannot tell (delivery receipts exist for SMS only;
// opens and clicks are tracked in email only).
type ChannelRow struct {
	Channel         string   `json:"channel"`
	Sent            int64    `json:"sent"`
	Delivered       int64    `json:"delivered"`
	Failed          int64    `json:"failed"`
	Opened          int64    `json:"opened"`
	Clicked         int64    `json:"clicked"`
	Replied         int64    `json:"replied"`
	Unsubscribed    int64    `json:"unsubscribed"`
	Cost            float64  `json:"cost"`
	Currency        string   `json:"currency"`
	DeliveryRate    *float64 `json:"delivery_rate"`
	OpenRate        *float64 `json:"open_rate"`
	ClickRate       *float64 `json:"click_rate"`
	ReplyRate       *float64 `json:"reply_rate"`
	UnsubscribeRate *float64 `json:"unsubscribe_rate"`
}

// ChannelDay is one channel's counts on one day.
type ChannelDay struct {
	Date string `json:"date"`
	ChannelRow
}

// ChannelReport is the channel comparison.
type ChannelReport struct {
	From     string       `json:"from"`
	To       string       `json:"to"`
	Timezone string       `json:"timezone"`
	Currency string       `json:"currency"`
	Channels []ChannelRow `json:"channels"`
	Days     []ChannelDay `json:"days,omitempty"`
}

// knownChannels always have a row, in this order; others follow by name.
var knownChannels = []string{"wecom", "officialaccount", "sms", "email"}

// Channels reads the channel comparison of a period.
func (r *Reports) Channels(ctx context.Context, p Period, daily bool) (*ChannelReport, error) {
	days, hashes, err := r.readDays(ctx, p, channelDayKey)
	if err != nil {
		return nil, err
	}
	rep := &ChannelReport{From: p.From.Format(dateFormat), To: p.To.Format(dateFormat), Timezone: r.opt.Location.String(), Currency: r.opt.Currency}
	totals := map[string]*ChannelRow{}
	for _, ch := range knownChannels {
		totals[ch] = &ChannelRow{Channel: ch}
	}
	for i, h := range hashes {
		perDay := map[string]*ChannelRow{}
		for field, v := range h {
			ch, stat, ok := split(field)
			if !ok {
				continue
			}
			if totals[ch] == nil {
				totals[ch] = &ChannelRow{Channel: ch}
			}
			if perDay[ch] == nil {
				perDay[ch] = &ChannelRow{Channel: ch}
			}
			addChannelStat(totals[ch], stat, atoi(v))
			addChannelStat(perDay[ch], stat, atoi(v))
		}
		if daily {
			for _, ch := range r.channelOrder(perDay) {
				rep.Days = append(rep.Days, ChannelDay{Date: dateOf(days[i]), ChannelRow: r.finishChannel(*perDay[ch])})
			}
		}
	}
	for _, ch := range r.channelOrder(totals) {
		rep.Channels = append(rep.Channels, r.finishChannel(*totals[ch]))
	}
	return rep, nil
}

func (r *Reports) channelOrder(m map[string]*ChannelRow) []string {
	var out []string
	for _, ch := range knownChannels {
		if m[ch] != nil {
			out = append(out, ch)
		}
	}
	for _, ch := range sortedKeys(m) {
		if !slices.Contains(knownChannels, ch) {
			out = append(out, ch)
		}
	}
	return out
}

func addChannelStat(row *ChannelRow, stat string, n int64) {
	switch stat {
	case StatSent:
		row.Sent += n
	case StatDelivered:
		row.Delivered += n
	case StatFailed:
		row.Failed += n
	case StatOpened:
		row.Opened += n
	case StatClicked:
		row.Clicked += n
	case StatReplied:
		row.Replied += n
	case StatUnsubscribed:
		row.Unsubscribed += n
	}
}

// finishChannel adds the cost and the rates.
func (r *Reports) finishChannel(row ChannelRow) ChannelRow {
	row.Currency = r.opt.Currency
	row.Cost = math.Round(float64(row.Sent)*r.opt.MessageCost[row.Channel]*100) / 100
	if row.Channel == "sms" {
		row.DeliveryRate = ratio(row.Delivered, row.Sent)
	}
	if row.Channel == "email" {
		row.OpenRate = ratio(row.Opened, row.Sent)
		row.ClickRate = ratio(row.Clicked, row.Sent)
	}
	row.ReplyRate = ratio(row.Replied, row.Sent)
	row.UnsubscribeRate = ratio(row.Unsubscribed, row.Sent)
	return row
}
