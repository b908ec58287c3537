package contacts

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Scoring holds the lead-scoring rules: points per event type, how scores
// fade when a contact goes quiet, and the score bands that move a contact
// forward through the lifecycle.
type Scoring struct {
	Events map[string]Rule
	Bands  Bands
	Decay  Decay
}

// Rule is what one event type is worth. Every event (each event id once)
// scores Points, unless Max caps how often the type may score per contact:
// at most Max times in any rolling Window, or Max times in all when Window
// is zero. The cap keeps cheap, repeatable signals (page views, email
// clicks) from making a lead hot on their own.
type Rule struct {
	Points int
	Max    int
	Window time.Duration
}

// Bands are score thresholds; Hot must be above Warm. Below Warm is cold.
type Bands struct {
	Hot  int `yaml:"hot"`
	Warm int `yaml:"warm"`
}

// Decay takes Percent of the score for every full After without activity,
// so a lead that stopped answering cools down instead of staying hot for
// ever. The zero value switches decay off.
type Decay struct {
	After   time.Duration
	Percent int
}

// Score bands as scripts and the score API name them.
const (
	BandHot  = "hot"
	BandWarm = "warm"
	BandCold = "cold"
)

// Score log reasons: why a score changed.
const (
	ReasonRule   = "rule"   // an event's points from the scoring rules
	ReasonDecay  = "decay"  // inactivity
	ReasonAction = "action" // a dialog script's score action
	ReasonAPI    = "api"    // an operator or another system through the API
)

// DefaultScoring is the contract's default: whitepaper_download +10,
// webinar_attended +20; 80 and above is hot (sql), 50 to 79 warm (mql);
// −10 % after every 30 days without activity.
func DefaultScoring() Scoring {
	return Scoring{
		Events: map[string]Rule{"whitepaper_download": {Points: 10}, "webinar_attended": {Points: 20}},
		Bands:  Bands{Hot: 80, Warm: 50},
		Decay:  Decay{After: 30 * 24 * time.Hour, Percent: 10},
	}
}

var eventTypeName = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

// LoadScoring reads rules from a YAML file; every problem is reported at
// once as file:line: what is wrong.
func LoadScoring(path string) (Scoring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Scoring{}, fmt.Errorf("scoring rules: %w", err)
	}
	return ParseScoring(path, data)
}

// ParseScoring reads rules from YAML; name prefixes every problem, which
// also carries the line it is on, so an operator fixes the file in one pass.
//
//	events:
//	  whitepaper_download: 10                     # every event scores
//	  page_view: {points: 1, max: 10, window: 30d} # at most 10 times in any 30 days
//	  trial_started: {points: 15, max: 1}          # once per contact
//	decay: {after: 30d, percent: 10}
//	bands: {hot: 80, warm: 50}
func ParseScoring(name string, data []byte) (Scoring, error) {
	p := scoringParser{name: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Scoring{}, fmt.Errorf("%s: %w", name, err)
	}
	s := Scoring{Events: map[string]Rule{}}
	if len(doc.Content) == 0 {
		p.errf(&doc, "the file is empty; give events and bands")
		return Scoring{}, p.err()
	}
	root := doc.Content[0]
	seenBands := false
	p.mapping(root, "the file", func(key string, k, v *yaml.Node) {
		switch key {
		case "events":
			p.mapping(v, "events", func(ev string, k, v *yaml.Node) {
				if !eventTypeName.MatchString(ev) {
					p.errf(k, "events: %q is not an event type (lowercase letters, digits, _.:-)", ev)
				}
				if _, dup := s.Events[ev]; dup {
					p.errf(k, "events.%s is given twice", ev)
				}
				s.Events[ev] = p.rule(ev, v)
			})
		case "bands":
			seenBands = true
			p.mapping(v, "bands", func(b string, k, v *yaml.Node) {
				switch b {
				case "hot":
					s.Bands.Hot = p.integer(v, "bands.hot")
				case "warm":
					s.Bands.Warm = p.integer(v, "bands.warm")
				default:
					p.errf(k, "bands.%s is unknown; use hot and warm", b)
				}
			})
			if s.Bands.Warm <= 0 || s.Bands.Hot <= s.Bands.Warm {
				p.errf(v, "bands: need 0 < warm < hot, got warm %d and hot %d", s.Bands.Warm, s.Bands.Hot)
			}
		case "decay":
			p.mapping(v, "decay", func(d string, k, v *yaml.Node) {
				switch d {
				case "after":
					s.Decay.After = p.duration(v, "decay.after")
				case "percent":
					s.Decay.Percent = p.integer(v, "decay.percent")
				default:
					p.errf(k, "decay.%s is unknown; use after and percent", d)
				}
			})
			if (s.Decay.After > 0) != (s.Decay.Percent > 0) || s.Decay.After < 0 || s.Decay.Percent < 0 || s.Decay.Percent > 100 ||
				(s.Decay.After > 0 && s.Decay.After < time.Hour) {
				p.errf(v, "decay: give after (at least 1h, e.g. 30d) and percent (1..100) together, or leave decay out")
			}
		default:
			p.errf(k, "%q is unknown; the file holds events, bands and decay", key)
		}
	})
	if !seenBands && len(p.problems) == 0 {
		p.errf(root, "bands are missing; add bands: {hot: 80, warm: 50}")
	}
	if err := p.err(); err != nil {
		return Scoring{}, err
	}
	return s, nil
}

// scoringParser collects problems with their lines.
type scoringParser struct {
	name     string
	problems []string
}

func (p *scoringParser) errf(n *yaml.Node, format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf("%s:%d: %s", p.name, n.Line, fmt.Sprintf(format, args...)))
}

func (p *scoringParser) err() error {
	if len(p.problems) == 0 {
		return nil
	}
	errs := make([]error, len(p.problems))
	for i, m := range p.problems {
		errs[i] = errors.New(m)
	}
	return errors.Join(errs...)
}

func (p *scoringParser) mapping(n *yaml.Node, what string, each func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errf(n, "%s must be a mapping of key: value", what)
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		each(n.Content[i].Value, n.Content[i], n.Content[i+1])
	}
}

func (p *scoringParser) integer(n *yaml.Node, what string) int {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		p.errf(n, "%s must be a whole number, got %q", what, n.Value)
		return 0
	}
	return v
}

func (p *scoringParser) duration(n *yaml.Node, what string) time.Duration {
	d, err := ParseDays(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		p.errf(n, "%s must be a duration such as 30d or 720h, got %q", what, n.Value)
		return 0
	}
	return d
}

func (p *scoringParser) rule(ev string, n *yaml.Node) Rule {
	var r Rule
	if n.Kind == yaml.ScalarNode {
		r.Points = p.integer(n, "events."+ev)
	} else {
		var seen []string
		p.mapping(n, "events."+ev, func(key string, k, v *yaml.Node) {
			seen = append(seen, key)
			switch key {
			case "points":
				r.Points = p.integer(v, "events."+ev+".points")
			case "max":
				r.Max = p.integer(v, "events."+ev+".max")
			case "window":
				r.Window = p.duration(v, "events."+ev+".window")
			default:
				p.errf(k, "events.%s.%s is unknown; use points, max and window", ev, key)
			}
		})
		switch {
		case n.Kind != yaml.MappingNode:
		case !slices.Contains(seen, "points"):
			p.errf(n, "events.%s needs points", ev)
		case r.Max < 0 || r.Max > 10000:
			p.errf(n, "events.%s.max %d is outside 1..10000 (leave it out for no cap)", ev, r.Max)
		case r.Window != 0 && r.Max == 0:
			p.errf(n, "events.%s.window needs max: how often the event may score in that window", ev)
		case r.Window < 0 || (r.Window > 0 && r.Window < time.Minute):
			p.errf(n, "events.%s.window must be at least 1m", ev)
		}
	}
	if r.Points < -1000 || r.Points > 1000 {
		p.errf(n, "events.%s: %d points is outside -1000..1000", ev, r.Points)
	}
	return r
}

// ParseDays is time.ParseDuration that also takes whole days ("30d"),
// which is how marketing teams talk about inactivity.
func ParseDays(v string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 100000 {
			return 0, fmt.Errorf("%q is not a number of days", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// Validate reports every problem of rules built in code at once.
func (s Scoring) Validate() error {
	var errs []error
	for name, r := range s.Events {
		if !eventTypeName.MatchString(name) {
			errs = append(errs, fmt.Errorf("events: %q is not an event type (lowercase letters, digits, _.:-)", name))
		}
		if r.Points < -1000 || r.Points > 1000 {
			errs = append(errs, fmt.Errorf("events.%s: %d points is outside -1000..1000", name, r.Points))
		}
		if r.Max < 0 || r.Window < 0 || (r.Window > 0 && r.Max == 0) {
			errs = append(errs, fmt.Errorf("events.%s: a window needs a positive max", name))
		}
	}
	if s.Bands.Warm <= 0 || s.Bands.Hot <= s.Bands.Warm {
		errs = append(errs, fmt.Errorf("bands: need 0 < warm < hot, got warm %d and hot %d", s.Bands.Warm, s.Bands.Hot))
	}
	if s.Decay.Percent < 0 || s.Decay.Percent > 100 || s.Decay.After < 0 {
		errs = append(errs, fmt.Errorf("decay: percent must be 0..100 and after positive"))
	}
	return errors.Join(errs...)
}

// Points is what an event of this type adds to the score.
func (s Scoring) Points(eventType string) int { return s.Events[eventType].Points }

// Rule is the rule of an event type (zero when the type scores nothing).
func (s Scoring) Rule(eventType string) Rule { return s.Events[eventType] }

// Band names the band a score is in: hot, warm or cold.
func (s Scoring) Band(score int) string {
	switch {
	case s.Bands.Hot > 0 && score >= s.Bands.Hot:
		return BandHot
	case s.Bands.Warm > 0 && score >= s.Bands.Warm:
		return BandWarm
	}
	return BandCold
}

// StageFor is the stage a score earns ("" below warm).
func (s Scoring) StageFor(score int) string {
	switch {
	case s.Bands.Hot <= 0: // no rules: scoring moves no one
	case score >= s.Bands.Hot:
		return StageSQL
	case score >= s.Bands.Warm:
		return StageMQL
	}
	return ""
}

// stageRank orders the lifecycle; promotions only move forward.
var stageRank = map[string]int{StageProspect: 1, StageMQL: 2, StageSQL: 3, StageCustomer: 4}

// Promotes reports whether moving from stage cur to next is forward.
func Promotes(cur, next string) bool { return stageRank[next] > stageRank[cur] }
