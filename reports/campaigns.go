package reports

import (
	"context"
	"fmt"
	"sort"
)

// CampaignRow is one campaign's effectiveness over a period.
type CampaignRow struct {
	Campaign string `json:"campaign"`
	// Name is the campaign's name, filled in by whoever knows campaigns
	// (the reports keep only ids).
	Name     string  `json:"name,omitempty"`
	Cost     float64 `json:"cost"`
	Currency string  `json:"currency"`
	// Reach counts contacts messaged (one message per contact per campaign).
	Reach int64 `json:"reach"`
	// Leads, SQL and NewCustomers count reached contacts that became mql,
	// sql and customer within the attribution window of their last
	// campaign touch.
	Leads        int64 `json:"leads"`
	SQL          int64 `json:"sql"`
	NewCustomers int64 `json:"new_customers"`
	// Deals and Revenue are the orders credited to the campaign.
	Deals   int64   `json:"deals"`
	Revenue float64 `json:"revenue"`
	// ConversionRate is SQL / Reach; ROI is Revenue / Cost; CAC is Cost /
	// NewCustomers. Null when the divisor is zero.
	ConversionRate *float64 `json:"conversion_rate"`
	ROI            *float64 `json:"roi"`
	CAC            *float64 `json:"cac"`
}

// CampaignDay is one campaign's counts on one day.
type CampaignDay struct {
	Date         string  `json:"date"`
	Campaign     string  `json:"campaign"`
	Reach        int64   `json:"reach"`
	Leads        int64   `json:"leads"`
	SQL          int64   `json:"sql"`
	NewCustomers int64   `json:"new_customers"`
	Deals        int64   `json:"deals"`
	Revenue      float64 `json:"revenue"`
}

// CampaignReport is the campaign effectiveness table.
type CampaignReport struct {
	From      string        `json:"from"`
	To        string        `json:"to"`
	Timezone  string        `json:"timezone"`
	Currency  string        `json:"currency"`
	Campaigns []CampaignRow `json:"campaigns"`
	Days      []CampaignDay `json:"days,omitempty"`
}

type campaignCounts struct{ reach, leads, sql, customers, deals, revenue int64 }

func (c *campaignCounts) add(stat string, n int64) {
	switch stat {
	case statReach:
		c.reach += n
	case statLeads:
		c.leads += n
	case statSQL:
		c.sql += n
	case statCustomers:
		c.customers += n
	case statDeals:
		c.deals += n
	case statRevenue:
		c.revenue += n
	}
}

// Campaigns reads one row per campaign active in the period (or with a cost
// entered); only, when not empty, limits it to one campaign. Cost is the
// campaign's whole entered cost, whatever the period.
func (r *Reports) Campaigns(ctx context.Context, p Period, only string, daily bool) (*CampaignReport, error) {
	days, hashes, err := r.readDays(ctx, p, campaignDayKey)
	if err != nil {
		return nil, err
	}
	costs, err := r.costs(ctx)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	rep := &CampaignReport{From: p.From.Format(dateFormat), To: p.To.Format(dateFormat), Timezone: r.opt.Location.String(), Currency: r.opt.Currency}
	totals := map[string]*campaignCounts{}
	for id := range costs {
		totals[id] = &campaignCounts{}
	}
	for i, h := range hashes {
		perDay := map[string]*campaignCounts{}
		for field, v := range h {
			id, stat, ok := split(field)
			if !ok {
				continue
			}
			if totals[id] == nil {
				totals[id] = &campaignCounts{}
			}
			totals[id].add(stat, atoi(v))
			if perDay[id] == nil {
				perDay[id] = &campaignCounts{}
			}
			perDay[id].add(stat, atoi(v))
		}
		for _, id := range sortedKeys(perDay) {
			if only != "" && id != only {
				continue
			}
			c := perDay[id]
			rep.Days = append(rep.Days, CampaignDay{Date: dateOf(days[i]), Campaign: id, Reach: c.reach, Leads: c.leads, SQL: c.sql,
				NewCustomers: c.customers, Deals: c.deals, Revenue: cents(c.revenue)})
		}
	}
	if !daily {
		rep.Days = nil
	}
	if only != "" && totals[only] == nil {
		totals = map[string]*campaignCounts{only: {}}
	}
	for _, id := range sortedKeys(totals) {
		if only != "" && id != only {
			continue
		}
		c, cost := totals[id], costs[id]
		row := CampaignRow{Campaign: id, Cost: cents(cost), Currency: r.opt.Currency, Reach: c.reach, Leads: c.leads, SQL: c.sql,
			NewCustomers: c.customers, Deals: c.deals, Revenue: cents(c.revenue),
			ConversionRate: ratio(c.sql, c.reach), ROI: ratio(c.revenue, cost), CAC: ratioF(cents(cost), float64(c.customers))}
		rep.Campaigns = append(rep.Campaigns, row)
	}
	return rep, nil
}

func cents(n int64) float64 { return float64(n) / 100 }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
