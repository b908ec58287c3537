package configs

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// HandoffRep is one entry of wecom.handoff_reps. A bare userid (the older
// form, still accepted) is on duty all day every day without a limit; the
// mapping form adds working hours, days, a time zone and a daily limit:
//
//	handoff_reps:
//	  - rep.wang
//	  - {userid: rep.li, hours: "09:00-18:00", days: [mon-fri], timezone: Asia/Shanghai, daily_limit: 20}
type HandoffRep struct {
	UserID     string   `yaml:"userid"`
	Hours      string   `yaml:"hours"`
	Days       []string `yaml:"days"`
	Timezone   string   `yaml:"timezone"`
	DailyLimit int      `yaml:"daily_limit"`
}

var handoffRepKeys = []string{"userid", "hours", "days", "timezone", "daily_limit"}

// UnmarshalYAML takes both forms. Unknown keys are refused here, since a
// custom decoder does not inherit the file decoder's strictness.
func (r *HandoffRep) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*r = HandoffRep{UserID: n.Value}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a hand-off rep is a WeCom userid or {userid, hours, days, timezone, daily_limit}", n.Line)
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(handoffRepKeys, k) {
			return fmt.Errorf("line %d: field %s not found in a hand-off rep; use %s", n.Content[i].Line, k, strings.Join(handoffRepKeys, ", "))
		}
	}
	type plain HandoffRep
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*r = HandoffRep(p)
	return nil
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// Shift is a rep's duty read from the config: Start and End are minutes
// after local midnight (End before Start crosses midnight; equal is all
// day), Days the working days (empty is every day).
type Shift struct {
	Start, End int
	Days       []time.Weekday
	Loc        *time.Location
}

// Shift parses hours "09:00-18:00" (empty: all day), days such as [mon, wed]
// or [mon-fri] (empty: every day) and the time zone (empty: Asia/Shanghai).
func (r HandoffRep) Shift() (Shift, error) {
	var s Shift
	tz := r.Timezone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return s, fmt.Errorf("timezone %q is not an IANA zone such as Asia/Shanghai", tz)
	}
	s.Loc = loc
	if r.Hours != "" {
		from, to, ok := strings.Cut(r.Hours, "-")
		a, errA := time.Parse("15:04", strings.TrimSpace(from))
		b, errB := time.Parse("15:04", strings.TrimSpace(to))
		if !ok || errA != nil || errB != nil || a.Equal(b) {
			return s, fmt.Errorf("hours %q must be HH:MM-HH:MM, e.g. 09:00-18:00 (or 22:00-06:00 across midnight)", r.Hours)
		}
		s.Start, s.End = a.Hour()*60+a.Minute(), b.Hour()*60+b.Minute()
	}
	for _, d := range r.Days {
		first, last, span := strings.Cut(strings.ToLower(strings.TrimSpace(d)), "-")
		a, okA := weekdays[first]
		b, okB := weekdays[last]
		if !okA || (span && !okB) {
			return s, fmt.Errorf("day %q must be mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri", d)
		}
		if !span {
			b = a
		}
		for w := a; ; w = (w + 1) % 7 {
			if !slices.Contains(s.Days, w) {
				s.Days = append(s.Days, w)
			}
			if w == b {
				break
			}
		}
	}
	return s, nil
}

func (c *Config) validateHandoff(p *problems) {
	seen := map[string]bool{}
	for i, r := range c.WeCom.HandoffReps {
		where := fmt.Sprintf("wecom.handoff_reps[%d]", i)
		switch {
		case r.UserID == "":
			p.add("%s needs a userid (the rep's WeCom userid)", where)
		case seen[r.UserID]:
			p.add("%s: %s is listed twice; list each rep once", where, r.UserID)
		}
		seen[r.UserID] = true
		if r.DailyLimit < 0 {
			p.add("%s daily_limit must be 0 (no limit) or more", where)
		}
		if _, err := r.Shift(); err != nil {
			p.add("%s %v", where, err)
		}
	}
}
