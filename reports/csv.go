package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// Table is a report as rows, for CSV downloads.
type Table struct {
	Header []string
	Rows   [][]string
}

// utf8BOM makes Excel read the file as UTF-8, so Chinese names and
// campaign titles show correctly instead of as mojibake.
const utf8BOM = "\xEF\xBB\xBF"

// WriteCSV writes t as UTF-8 CSV with a byte-order mark and CRLF line ends
// (what Excel expects).
func WriteCSV(w io.Writer, t Table) error {
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(t.Header); err != nil {
		return err
	}
	for _, row := range t.Rows {
		if err := cw.Write(safeCells(row)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// safeCells defuses cells a spreadsheet would run as a formula (a source
// or campaign name starting with =, +, - or @ comes from outside).
func safeCells(row []string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		if c != "" && (c[0] == '=' || c[0] == '+' || c[0] == '@' || (c[0] == '-' && !isNumber(c))) {
			c = "'" + c
		}
		out[i] = c
	}
	return out
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func money(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// rate prints a rate with four decimals, empty when undefined.
func rate(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', 4, 64)
}

func optInt(p *int64) string {
	if p == nil {
		return ""
	}
	return itoa(*p)
}

// Table is the funnel as CSV: one row per stage, or with daily one row per
// day with the entries of each stage.
func (f *Funnel) Table(daily bool) Table {
	if daily {
		t := Table{Header: append([]string{"date"}, Stages...)}
		for _, d := range f.Days {
			row := []string{d.Date}
			for _, s := range Stages {
				row = append(row, itoa(d.Entered[s]))
			}
			t.Rows = append(t.Rows, row)
		}
		return t
	}
	t := Table{Header: []string{"stage", "entered", "conversion_to_next", "left", "median_seconds"}}
	for _, s := range f.Stages {
		t.Rows = append(t.Rows, []string{s.Stage, itoa(s.Entered), rate(s.ConversionToNext), itoa(s.Left), optInt(s.MedianSeconds)})
	}
	return t
}

// Table is the campaign report as CSV.
func (c *CampaignReport) Table(daily bool) Table {
	if daily {
		t := Table{Header: []string{"date", "campaign", "reach", "leads", "sql", "new_customers", "deals", "revenue"}}
		for _, d := range c.Days {
			t.Rows = append(t.Rows, []string{d.Date, d.Campaign, itoa(d.Reach), itoa(d.Leads), itoa(d.SQL), itoa(d.NewCustomers), itoa(d.Deals), money(d.Revenue)})
		}
		return t
	}
	t := Table{Header: []string{"campaign", "name", "cost", "currency", "reach", "leads", "sql", "new_customers", "deals", "revenue", "conversion_rate", "roi", "cac"}}
	for _, r := range c.Campaigns {
		cac := ""
		if r.CAC != nil {
			cac = money(*r.CAC)
		}
		t.Rows = append(t.Rows, []string{r.Campaign, r.Name, money(r.Cost), r.Currency, itoa(r.Reach), itoa(r.Leads), itoa(r.SQL), itoa(r.NewCustomers),
			itoa(r.Deals), money(r.Revenue), rate(r.ConversionRate), rate(r.ROI), cac})
	}
	return t
}

var channelHeader = []string{"channel", "sent", "delivered", "failed", "opened", "clicked", "replied", "unsubscribed", "cost", "currency",
	"delivery_rate", "open_rate", "click_rate", "reply_rate", "unsubscribe_rate"}

func channelCells(r ChannelRow) []string {
	return []string{r.Channel, itoa(r.Sent), itoa(r.Delivered), itoa(r.Failed), itoa(r.Opened), itoa(r.Clicked), itoa(r.Replied),
		itoa(r.Unsubscribed), money(r.Cost), r.Currency, rate(r.DeliveryRate), rate(r.OpenRate), rate(r.ClickRate), rate(r.ReplyRate), rate(r.UnsubscribeRate)}
}

// Table is the channel comparison as CSV.
func (c *ChannelReport) Table(daily bool) Table {
	if daily {
		t := Table{Header: append([]string{"date"}, channelHeader...)}
		for _, d := range c.Days {
			t.Rows = append(t.Rows, append([]string{d.Date}, channelCells(d.ChannelRow)...))
		}
		return t
	}
	t := Table{Header: channelHeader}
	for _, r := range c.Channels {
		t.Rows = append(t.Rows, channelCells(r))
	}
	return t
}

var handoffHeader = []string{"rep", "received", "followed_up", "median_follow_up_seconds", "sla_breaches"}

func handoffCells(r HandoffRow) []string {
	return []string{r.Rep, itoa(r.Received), itoa(r.FollowedUp), optInt(r.MedianFollowUpSeconds), itoa(r.Breached)}
}

// Table is the hand-off report as CSV.
func (h *HandoffReport) Table(daily bool) Table {
	if daily {
		t := Table{Header: append([]string{"date"}, handoffHeader...)}
		for _, d := range h.Days {
			t.Rows = append(t.Rows, append([]string{d.Date}, handoffCells(d.HandoffRow)...))
		}
		return t
	}
	t := Table{Header: handoffHeader}
	for _, r := range h.Reps {
		t.Rows = append(t.Rows, handoffCells(r))
	}
	return t
}

// String is for error messages.
func (t Table) String() string { return fmt.Sprintf("%d columns, %d rows", len(t.Header), len(t.Rows)) }
