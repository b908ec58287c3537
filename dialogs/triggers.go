package dialogs

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/journeygate/gateway/channels"
)

// TypeActivityChanged is the inbound event type for a contact whose activity
// level changed (Props["activity"] is active, silent or churned). The
// contact state owner raises it; win-back scripts start on it.
const TypeActivityChanged = "activity_changed"

// Score bands, named as scripts write them.
const (
	BandHot  = "hot"
	BandWarm = "warm"
	BandCold = "cold"
)

type triggerKind uint8

const (
	trigSubscribe triggerKind = iota + 1
	trigContactAdded
	trigKeyword
	trigTagAdded
	trigScoreBand
	trigEvent
	trigActivity
)

var triggerNames = map[string]triggerKind{
	"subscribe":     trigSubscribe,
	"contact_added": trigContactAdded,
	"keyword":       trigKeyword,
	"tag_added":     trigTagAdded,
	"score_band":    trigScoreBand,
	"event":         trigEvent,
	"activity":      trigActivity,
}

type trigger struct {
	kind     triggerKind
	value    string   // scene, state, tag, band, event type, activity ("" = any)
	keywords []string // normalized
	exact    bool
}

func (p *parser) parseTriggers(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errf(n, "triggers must be a list with at least one trigger, e.g. - keyword: 研讨会")
		return
	}
	names := make([]string, 0, len(triggerNames))
	for k := range triggerNames {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, c := range n.Content {
		fs, ok := p.fields(c, "trigger", names...)
		if !ok {
			continue
		}
		if len(c.Content) != 2 {
			p.errf(c, "each trigger is one key (%s); put each on its own - line", strings.Join(names, ", "))
			continue
		}
		for _, f := range fs {
			if t, ok := p.parseTrigger(f); ok {
				p.s.triggers = append(p.s.triggers, t)
			}
		}
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (p *parser) parseTrigger(f field) (trigger, bool) {
	t := trigger{kind: triggerNames[f.key]}
	switch t.kind {
	case trigSubscribe, trigContactAdded:
		key := "scene"
		if t.kind == trigContactAdded {
			key = "state"
		}
		switch {
		case isNull(f.v):
			return t, true
		case f.v.Kind == yaml.ScalarNode:
			t.value = f.v.Value
			return t, true
		}
		fs, ok := p.fields(f.v, f.key, key)
		if !ok {
			return t, false
		}
		if v, has := fs[key]; has {
			t.value, ok = p.str(v.v, key)
		}
		return t, ok
	case trigKeyword:
		var kws []string
		ok := true
		if f.v.Kind == yaml.MappingNode {
			fs, good := p.fields(f.v, "keyword", "any", "exact")
			if !good {
				return t, false
			}
			if v, has := fs["exact"]; has {
				t.exact, ok = p.boolean(v.v, "exact")
			}
			v, has := fs["any"]
			if !has {
				p.errf(f.v, "keyword needs any: [words]")
				return t, false
			}
			kws, good = p.strList(v.v, "any")
			ok = ok && good
		} else {
			kws, ok = p.strList(f.v, "keyword")
		}
		for _, k := range kws {
			nk := p.keyword(f.v, k)
			if !t.exact && len([]rune(nk)) < 2 {
				p.errf(f.v, "keyword %q is too short to look for inside messages; use exact: true or a longer word", k)
				ok = false
			}
			if global(nk) != globalNone {
				p.errf(f.v, "keyword %q is reserved for hand-off and unsubscribe", k)
				ok = false
			}
			t.keywords = append(t.keywords, nk)
		}
		return t, ok
	case trigScoreBand:
		v, ok := p.str(f.v, "score_band")
		if ok && v != BandHot && v != BandWarm && v != BandCold {
			p.errf(f.v, "score_band %q is unknown; use hot, warm or cold", v)
			ok = false
		}
		t.value = v
		return t, ok
	case trigActivity:
		v, ok := p.str(f.v, "activity")
		if ok && v != "active" && v != "silent" && v != "churned" {
			p.errf(f.v, "activity %q is unknown; use active, silent or churned", v)
			ok = false
		}
		t.value = v
		return t, ok
	default: // tag_added, event
		v, ok := p.nonEmpty(f.v, f.key)
		t.value = v
		return t, ok
	}
}

// bands maps a score to its band.
type bands struct{ hot, warm int }

func (b bands) of(score int) string {
	switch {
	case score >= b.hot:
		return BandHot
	case score >= b.warm:
		return BandWarm
	}
	return BandCold
}

// matches reports whether the inbound fires the trigger. norm is the
// normalized text ("" when the inbound is no customer reply).
func (t *trigger) matches(in *Inbound, norm string, b bands) bool {
	switch t.kind {
	case trigSubscribe:
		scene := in.Props["scene"]
		if in.EventType == channels.TypeSubscribe {
			return t.value == "" || t.value == scene
		}
		return in.EventType == channels.TypeScan && t.value != "" && t.value == scene
	case trigContactAdded:
		return in.EventType == channels.TypeContactAdded && (t.value == "" || t.value == in.Props["state"])
	case trigKeyword:
		if norm == "" {
			return false
		}
		for _, k := range t.keywords {
			if norm == k || !t.exact && strings.Contains(norm, k) {
				return true
			}
		}
		return false
	case trigTagAdded:
		return slices.Contains(in.TagsAdded, t.value)
	case trigScoreBand:
		if in.ScoreDelta == 0 {
			return false
		}
		now := b.of(in.Score)
		return now == t.value && b.of(in.Score-in.ScoreDelta) != now
	case trigEvent:
		return in.EventType == t.value
	case trigActivity:
		return in.EventType == TypeActivityChanged && in.Props["activity"] == t.value
	}
	return false
}
