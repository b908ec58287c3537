package outreach

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/journeygate/gateway/channels"
)

// QuietRule is a daily span of wall-clock time in which marketing on some
// channels waits: nobody wants a promotion at midnight, and Chinese SMS
// rules forbid late-night marketing. Start and End are "HH:MM"; a span with
// End before Start crosses midnight ("21:00" to "09:00"). Zone is used for
// contacts whose own time zone is unknown.
type QuietRule struct {
	Channels   []string
	Start, End string
	Zone       *time.Location
}

// QuietHours answers when marketing may go out, in each contact's own time.
type QuietHours struct {
	rules []quietRule
	zones sync.Map // IANA name → *time.Location, valid names only
}

type quietRule struct {
	channels   []string
	start, end int // minutes after local midnight
	zone       *time.Location
}

// NewQuietHours checks the rules. No rules means no quiet hours.
func NewQuietHours(rules []QuietRule) (*QuietHours, error) {
	q := &QuietHours{}
	for i, r := range rules {
		qr, err := compileQuietRule(r)
		if err != nil {
			return nil, fmt.Errorf("outreach: quiet hours rule %d: %w", i+1, err)
		}
		q.rules = append(q.rules, qr)
	}
	return q, nil
}

func compileQuietRule(r QuietRule) (quietRule, error) {
	if len(r.Channels) == 0 {
		return quietRule{}, fmt.Errorf("%w: channels is empty; list at least one of wecom, officialaccount, sms, email", ErrInvalidRule)
	}
	for _, ch := range r.Channels {
		if _, ok := channels.KindFor(channels.Channel(ch)); !ok {
			return quietRule{}, fmt.Errorf("%w: channel %q must be wecom, officialaccount, sms or email", ErrInvalidRule, ch)
		}
	}
	start, err := parseClock(r.Start)
	if err != nil {
		return quietRule{}, fmt.Errorf("%w: start: %w", ErrInvalidRule, err)
	}
	end, err := parseClock(r.End)
	if err != nil {
		return quietRule{}, fmt.Errorf("%w: end: %w", ErrInvalidRule, err)
	}
	if start == end {
		return quietRule{}, fmt.Errorf("%w: start and end are both %s; a quiet span needs two different times", ErrInvalidRule, r.Start)
	}
	if r.Zone == nil {
		return quietRule{}, fmt.Errorf("%w: a time zone is required, e.g. Asia/Shanghai", ErrInvalidRule)
	}
	return quietRule{channels: slices.Clone(r.Channels), start: start, end: end, zone: r.Zone}, nil
}

// parseClock reads "HH:MM" (24-hour, two digits each) as minutes after midnight.
func parseClock(s string) (int, error) {
	digit := func(b byte) (int, bool) { return int(b - '0'), b >= '0' && b <= '9' }
	if len(s) == 5 && s[2] == ':' {
		h1, ok1 := digit(s[0])
		h2, ok2 := digit(s[1])
		m1, ok3 := digit(s[3])
		m2, ok4 := digit(s[4])
		h, m := h1*10+h2, m1*10+m2
		if ok1 && ok2 && ok3 && ok4 && h < 24 && m < 60 {
			return h*60 + m, nil
		}
	}
	return 0, fmt.Errorf("%q must be a 24-hour time HH:MM, e.g. 21:00", s)
}

// Until returns the first instant at or after which a message on ch may be
// sent when t falls in a quiet span, judged by the wall clock of tz (an IANA
// zone; "" or an unknown name fall back to the rule's zone); it returns the
// zero time when t is not quiet. Spans that follow one another are crossed
// in one answer, so the caller defers once.
func (q *QuietHours) Until(t time.Time, ch string, tz string) time.Time {
	var until time.Time
	if q == nil {
		return until
	}
	at := t
	// Bounded: a schedule that is quiet around the clock yields the end of
	// the last span examined, and the caller asks again then.
	for range 2*len(q.rules) + 2 {
		end := q.spanEnd(at, ch, tz)
		if end.IsZero() {
			break
		}
		until, at = end, end
	}
	return until
}

// spanEnd is when the quiet spans covering t on ch end (the latest if
// several do), or zero.
func (q *QuietHours) spanEnd(t time.Time, ch, tz string) time.Time {
	var latest time.Time
	for i := range q.rules {
		r := &q.rules[i]
		if !slices.Contains(r.channels, ch) {
			continue
		}
		if end := r.endOf(t, q.zone(tz, r.zone)); end.After(latest) {
			latest = end
		}
	}
	return latest
}

// endOf is when r's span covering t ends, or zero when t is outside it.
func (r *quietRule) endOf(t time.Time, loc *time.Location) time.Time {
	local := t.In(loc)
	now := local.Hour()*60 + local.Minute()
	days := -1
	switch {
	case r.start < r.end && now >= r.start && now < r.end:
		days = 0
	case r.start > r.end && now < r.end:
		days = 0
	case r.start > r.end && now >= r.start:
		days = 1
	}
	if days < 0 {
		return time.Time{}
	}
	y, m, d := local.Date()
	end := time.Date(y, m, d+days, r.end/60, r.end%60, 0, 0, loc)
	if want := time.Date(y, m, d+days, r.end/60, r.end%60, 0, 0, time.UTC); !wall(end).Equal(want) {
		// The end's wall time was skipped (clocks went forward), and Date
		// moved it to one side of the jump: the span ends at the jump, the
		// first instant whose wall clock is past the end.
		start, stop := end.ZoneBounds()
		if wall(end).Before(want) {
			end = stop
		} else {
			end = start
		}
	}
	if !end.After(t) {
		// The end's wall time came twice (clocks went back) and Date chose
		// the earlier one: the span ends at the later one.
		_, offEnd := end.Zone()
		_, offNow := local.Zone()
		end = end.Add(time.Duration(offEnd-offNow) * time.Second)
	}
	if !end.After(t) {
		return time.Time{}
	}
	return end
}

// wall is t's wall clock as a comparable time.
func wall(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// zone resolves a contact's time zone, falling back to def.
func (q *QuietHours) zone(tz string, def *time.Location) *time.Location {
	if tz == "" || tz == "Local" {
		return def
	}
	if loc, ok := q.zones.Load(tz); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return def
	}
	q.zones.Store(tz, loc)
	return loc
}
