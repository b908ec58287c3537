package reports

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// FunnelStage is one stage of the funnel over a period.
type FunnelStage struct {
	Stage string `json:"stage"`
	// Entered counts contacts reaching this stage in the period.
	Entered int64 `json:"entered"`
	// ConversionToNext is the next stage's Entered over this one's; null
	// for the last stage or when none entered.
	ConversionToNext *float64 `json:"conversion_to_next"`
	// Left counts stays that ended in the period; MedianSeconds is their
	// median length (±9 %, see the histogram), null when none ended.
	Left          int64  `json:"left"`
	MedianSeconds *int64 `json:"median_seconds"`
}

// FunnelDay is one day of the funnel's time series.
type FunnelDay struct {
	Date    string           `json:"date"`
	Entered map[string]int64 `json:"entered"`
}

// Funnel is the lifecycle funnel over a period, for all sources or one.
type Funnel struct {
	From     string        `json:"from"`
	To       string        `json:"to"`
	Timezone string        `json:"timezone"`
	Source   string        `json:"source,omitempty"`
	Sources  []string      `json:"sources"`
	Stages   []FunnelStage `json:"stages"`
	Days     []FunnelDay   `json:"days,omitempty"`
}

// Funnel reads the funnel of a period; source "" means all sources; daily
// adds the time series.
func (r *Reports) Funnel(ctx context.Context, p Period, source string, daily bool) (*Funnel, error) {
	src := allSources
	if source != "" {
		src = cleanLabel(source)
	}
	days, hashes, err := r.readDays(ctx, p, func(d string) string { return funnelDayKey(d, src) })
	if err != nil {
		return nil, err
	}
	sources, err := r.rdb.SMembers(ctx, funnelSourcesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("reports: read funnel sources: %w", err)
	}
	sort.Strings(sources)
	f := &Funnel{From: p.From.Format(dateFormat), To: p.To.Format(dateFormat), Timezone: r.opt.Location.String(), Source: source, Sources: sources}
	entered := map[string]int64{}
	hists := map[string]histogram{}
	for i, h := range hashes {
		day := map[string]int64{}
		for field, v := range h {
			kind, rest, _ := split(field)
			switch kind {
			case "in":
				entered[rest] += atoi(v)
				day[rest] += atoi(v)
			case "dur":
				stage, bucket, _ := strings.Cut(rest, "|")
				if hists[stage] == nil {
					hists[stage] = histogram{}
				}
				hists[stage].add(bucket, atoi(v))
			}
		}
		if daily {
			for _, s := range Stages {
				day[s] += 0
			}
			f.Days = append(f.Days, FunnelDay{Date: dateOf(days[i]), Entered: day})
		}
	}
	for i, s := range Stages {
		st := FunnelStage{Stage: s, Entered: entered[s], Left: hists[s].count()}
		if i+1 < len(Stages) {
			st.ConversionToNext = ratio(entered[Stages[i+1]], entered[s])
		}
		if m, ok := hists[s].median(); ok {
			secs := int64(m / time.Second)
			st.MedianSeconds = &secs
		}
		f.Stages = append(f.Stages, st)
	}
	return f, nil
}
