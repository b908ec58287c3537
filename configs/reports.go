package configs

import (
	"math"
	"slices"
	"time"
)

// Reports sets how report days are cut and what sending costs.
type Reports struct {
	// Timezone decides which day an event counts on (default
	// Asia/Shanghai); changing it later cuts new days differently.
	Timezone string `yaml:"timezone"`
	// Currency of campaign costs, revenue and message costs (default CNY).
	Currency string `yaml:"currency"`
	// MessageCost is what one sent message costs per channel, in Currency,
	// for the channel comparison (e.g. sms: 0.045).
	MessageCost map[string]float64 `yaml:"message_cost"`
}

func (c *Config) validateReports(p *problems) {
	r := c.Reports
	if _, err := time.LoadLocation(r.Timezone); err != nil || r.Timezone == "" {
		p.add("reports.timezone %q is not a time zone name such as Asia/Shanghai", r.Timezone)
	}
	if len(r.Currency) != 3 || r.Currency != upperASCII(r.Currency) {
		p.add("reports.currency %q must be an ISO 4217 code such as CNY", r.Currency)
	}
	for ch, cost := range r.MessageCost {
		if !slices.Contains(channels, ch) {
			p.add("reports.message_cost names %q; use one of %v", ch, channels)
		}
		if math.IsNaN(cost) || math.IsInf(cost, 0) || cost < 0 {
			p.add("reports.message_cost.%s must be a non-negative number such as 0.045", ch)
		}
	}
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 'A' || c > 'Z' {
			b[i] = '?'
		}
	}
	return string(b)
}
