package dialogs

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var actionNames = []string{"tag", "untag", "score", "stage", "coupon", "remind", "handoff", "start", "end", "set"}

func (p *parser) parseActions(n *yaml.Node) []action {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errf(n, "do must be a list of actions, e.g. - tag: interest:product")
		return nil
	}
	out := make([]action, 0, len(n.Content))
	for i, c := range n.Content {
		fs, ok := p.fields(c, "action", actionNames...)
		if !ok {
			continue
		}
		if len(c.Content) != 2 {
			p.errf(c, "each action is one key (%s); put each on its own - line", strings.Join(actionNames, ", "))
			continue
		}
		if len(fs) == 0 {
			continue
		}
		var f field
		for _, x := range fs {
			f = x
		}
		a, ok := p.parseAction(f)
		if !ok {
			continue
		}
		a.line = c.Line
		if a.terminal() && i != len(n.Content)-1 {
			p.errf(n.Content[i+1], "nothing after %s runs; move this action before it", f.key)
		}
		out = append(out, a)
	}
	return out
}

func (p *parser) parseAction(f field) (action, bool) {
	var a action
	var ok bool
	switch f.key {
	case "tag", "untag":
		a.kind = actTag
		if f.key == "untag" {
			a.kind = actUntag
		}
		a.str, ok = p.nonEmpty(f.v, f.key)
		if ok && len(a.str) > 128 {
			p.errf(f.v, "tag is %d bytes; keep tags under 128", len(a.str))
			ok = false
		}
	case "score":
		a.kind = actScore
		a.num, ok = p.integer(f.v, "score", -1000, 1000)
		if ok && a.num == 0 {
			p.errf(f.v, "score +0 does nothing; remove it or give a change such as +10 or -5")
			ok = false
		}
	case "stage":
		a.kind = actStage
		a.str, ok = p.str(f.v, "stage")
		if ok && !contains(stages, a.str) {
			p.errf(f.v, "stage %q is unknown; use one of %s", a.str, strings.Join(stages, ", "))
			ok = false
		}
	case "coupon":
		a.kind = actCoupon
		ok = p.parseCoupon(&a, f.v)
	case "remind":
		a.kind = actRemind
		a.remind, ok = p.parseRemind(f.v)
	case "handoff":
		a.kind = actHandoff
		a.str, ok = p.nonEmpty(f.v, "handoff (the reason the rep sees)")
	case "start":
		a.kind = actStart
		a.str, ok = p.str(f.v, "start")
		if ok && !validName(a.str) {
			p.errf(f.v, "start must name a script id, got %q", a.str)
			ok = false
		}
		if ok {
			p.starts = append(p.starts, varUse{a.str, f.v})
		}
	case "end":
		a.kind = actEnd
		var b bool
		b, ok = p.boolean(f.v, "end")
		if ok && !b {
			p.errf(f.v, "end: false does nothing; remove it")
			ok = false
		}
	case "set":
		a.kind = actSet
		ok = p.parseSet(&a, f.v)
	}
	return a, ok
}

func (p *parser) parseCoupon(a *action, n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode {
		var ok bool
		a.str, ok = p.nonEmpty(n, "coupon batch")
		return ok
	}
	fs, ok := p.fields(n, "coupon", "batch", "save_as")
	if !ok {
		return false
	}
	f, has := fs["batch"]
	if !has {
		p.errf(n, "coupon needs batch: <coupon batch id>")
		return false
	}
	a.str, ok = p.nonEmpty(f.v, "batch")
	if f, has := fs["save_as"]; has {
		if v, good := p.str(f.v, "save_as"); good && p.define(v, f.v) {
			a.saveAs = v
		} else {
			ok = false
		}
	}
	return ok
}

func (p *parser) parseRemind(n *yaml.Node) (*remind, bool) {
	r := &remind{}
	fs, ok := p.fields(n, "remind", "template", "text", "vars", "delay", "at", "before")
	if !ok {
		return r, false
	}
	r.msg, ok = p.messageFields(n, fs, "remind", true)
	fd, hasDelay := fs["delay"]
	fa, hasAt := fs["at"]
	fb, hasBefore := fs["before"]
	switch {
	case hasDelay && (hasAt || hasBefore):
		p.errf(n, "remind takes delay: <duration> or at: <time> (with before:), not both")
		return r, false
	case hasDelay:
		d, good := p.duration(fd.v, "delay")
		r.delay, ok = d, ok && good
	case hasAt:
		t, good := p.text(fa.v, "at")
		r.at, ok = t, ok && good
		if good && len(t) == 1 {
			lit, what := t[0].lit, "at"
			if v := t[0].variable; v != "" {
				lit, what = p.s.vars[v], "the default of "+v
			}
			if _, err := parseTime(lit); err != nil && (t[0].variable == "" || lit != "") {
				p.errf(fa.v, "%s is %q, not an RFC 3339 time such as 2026-12-10T19:00:00+08:00", what, lit)
				ok = false
			}
		}
		if hasBefore {
			d, good := p.duration(fb.v, "before")
			r.before, ok = d, ok && good
		}
	case hasBefore:
		p.errf(fb.kNode, "before needs at: <time>, e.g. at: \"{{.starts_at}}\"")
		return r, false
	default:
		p.errf(n, "remind needs delay: <duration> or at: <time>")
		return r, false
	}
	return r, ok
}

func (p *parser) parseSet(a *action, n *yaml.Node) bool {
	fs, ok := p.fields(n, "set", "var", "value")
	if !ok {
		return false
	}
	fv, hasVar := fs["var"]
	fval, hasVal := fs["value"]
	if !hasVar || !hasVal {
		p.errf(n, "set needs var: <name> and value: <text>")
		return false
	}
	name, ok := p.str(fv.v, "var")
	if !ok || !p.define(name, fv.v) {
		return false
	}
	a.str = name
	s, ok := p.str(fval.v, "value")
	if !ok {
		return false
	}
	t, err := parseText(s)
	if err != nil {
		p.errf(fval.v, "value: %v", err)
		return false
	}
	for _, v := range t.variables() {
		p.useVar(v, fval.v)
	}
	a.value = t
	return true
}

// scoreText shows a score change the way scripts write it.
func scoreText(n int) string {
	if n > 0 {
		return "+" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
