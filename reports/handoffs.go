package reports

import (
	"context"
	"strings"
	"time"
)

// HandoffRow is one rep's hand-offs over a period.
type HandoffRow struct {
	Rep        string `json:"rep"`
	Received   int64  `json:"received"`
	FollowedUp int64  `json:"followed_up"`
	// MedianFollowUpSeconds is the median time from hand-off to follow-up
	// (±9 %), null when none was followed up in the period.
	MedianFollowUpSeconds *int64 `json:"median_follow_up_seconds"`
	Breached              int64  `json:"sla_breaches"`
}

// HandoffDay is one rep's counts on one day.
type HandoffDay struct {
	Date string `json:"date"`
	HandoffRow
}

// HandoffReport is the sales hand-off table.
type HandoffReport struct {
	From     string       `json:"from"`
	To       string       `json:"to"`
	Timezone string       `json:"timezone"`
	Reps     []HandoffRow `json:"reps"`
	Days     []HandoffDay `json:"days,omitempty"`
}

type repCounts struct {
	received, followed, breached int64
	fu                           histogram
}

func (c *repCounts) add(rest string, n int64) {
	switch stat, bucket, _ := strings.Cut(rest, "|"); stat {
	case statReceived:
		c.received += n
	case statFollowedUp:
		c.followed += n
	case statBreached:
		c.breached += n
	case "fu":
		c.fu.add(bucket, n)
	}
}

func (c *repCounts) row(rep string) HandoffRow {
	row := HandoffRow{Rep: rep, Received: c.received, FollowedUp: c.followed, Breached: c.breached}
	if m, ok := c.fu.median(); ok {
		secs := int64(m / time.Second)
		row.MedianFollowUpSeconds = &secs
	}
	return row
}

// Handoffs reads the hand-off table of a period; onlyRep, when not empty,
// limits it to one rep (sales reps see only themselves).
func (r *Reports) Handoffs(ctx context.Context, p Period, onlyRep string, daily bool) (*HandoffReport, error) {
	days, hashes, err := r.readDays(ctx, p, handoffDayKey)
	if err != nil {
		return nil, err
	}
	rep := &HandoffReport{From: p.From.Format(dateFormat), To: p.To.Format(dateFormat), Timezone: r.opt.Location.String(), Reps: []HandoffRow{}}
	totals := map[string]*repCounts{}
	if onlyRep != "" {
		totals[onlyRep] = &repCounts{fu: histogram{}}
	}
	for i, h := range hashes {
		perDay := map[string]*repCounts{}
		for field, v := range h {
			who, rest, ok := split(field)
			if !ok || (onlyRep != "" && who != onlyRep) {
				continue
			}
			for _, m := range []map[string]*repCounts{totals, perDay} {
				if m[who] == nil {
					m[who] = &repCounts{fu: histogram{}}
				}
				m[who].add(rest, atoi(v))
			}
		}
		if daily {
			for _, who := range sortedKeys(perDay) {
				rep.Days = append(rep.Days, HandoffDay{Date: dateOf(days[i]), HandoffRow: perDay[who].row(who)})
			}
		}
	}
	for _, who := range sortedKeys(totals) {
		rep.Reps = append(rep.Reps, totals[who].row(who))
	}
	return rep, nil
}
