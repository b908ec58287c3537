package dialogs

import (
	"strings"

	"gopkg.in/yaml.v3"
)

var stepKinds = []string{"send", "ask", "wait", "branch", "do"}

func (p *parser) parseSteps(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errf(n, "steps must be a list with at least one step")
		return
	}
	if len(n.Content) > maxSteps {
		p.errf(n, "%d steps; a script may have at most %d, split it and use start: <script>", len(n.Content), maxSteps)
		return
	}
	// Fixed length: references point into this slice while it is filled.
	p.s.steps = make([]step, len(n.Content))
	for i, c := range n.Content {
		p.cur = i
		p.parseStep(i, c)
	}
	for i := range p.s.steps {
		if p.s.steps[i].next == toNext {
			if i+1 < len(p.s.steps) {
				p.s.steps[i].next = target(i + 1)
			} else {
				p.s.steps[i].next = toEnd
			}
		}
	}
}

func (p *parser) parseStep(i int, n *yaml.Node) {
	st := &p.s.steps[i]
	st.line, st.col, st.next = n.Line, n.Column, toNext
	allowed := append([]string{"id", "next", "description"}, stepKinds...)
	fs, ok := p.fields(n, "step", allowed...)
	if !ok {
		return
	}
	if f, has := fs["id"]; has {
		if id, ok := p.str(f.v, "step id"); ok {
			switch {
			case id == endStep:
				p.errf(f.v, "step id end is reserved (next: end ends the session); rename the step")
			case !validName(id):
				p.errf(f.v, "step id %q must be letters, digits and _ (at most 64)", id)
			default:
				if prev, dup := p.s.index[id]; dup {
					p.errf(f.v, "step id %q is used twice (first at line %d); step ids must be unique", id, p.s.steps[prev].line)
				} else {
					p.s.index[id] = i
				}
				st.id = id
			}
		}
	} else {
		p.errf(n, "step needs an id")
	}
	var kinds []field
	for _, k := range stepKinds {
		if f, has := fs[k]; has {
			kinds = append(kinds, f)
		}
	}
	if len(kinds) != 1 {
		p.errf(n, "a step does exactly one of %s; this one has %d", strings.Join(stepKinds, ", "), len(kinds))
		return
	}
	if f, has := fs["next"]; has {
		if r, ok := p.stepRef(f.v, "next"); ok {
			p.refs = append(p.refs, pendingRef{dst: &st.next, r: r, step: i})
		}
	}
	if f, has := fs["description"]; has {
		p.str(f.v, "description")
	}
	f := kinds[0]
	switch f.key {
	case "send":
		st.kind = kindSend
		st.send, _ = p.message(f.v, "send", true)
	case "ask":
		st.kind = kindAsk
		st.ask = p.parseAsk(f.v)
	case "wait":
		st.kind = kindWait
		st.wait = p.parseWait(f.v)
	case "branch":
		st.kind = kindBranch
		p.parseBranch(st, f.v)
	case "do":
		st.kind = kindDo
		st.actions = p.parseActions(f.v)
	}
}

// message reads {text: ...} or {template: id, vars: {...}}; a plain text
// value is short for {text: ...}. required says it must not be missing.
func (p *parser) message(n *yaml.Node, what string, required bool) (message, bool) {
	var m message
	if n.Kind == yaml.ScalarNode {
		t, ok := p.text(n, what)
		m.text = t
		return m, ok
	}
	fs, ok := p.fields(n, what, "text", "template", "vars")
	if !ok {
		return m, false
	}
	return p.messageFields(n, fs, what, required)
}

func (p *parser) messageFields(n *yaml.Node, fs map[string]field, what string, required bool) (message, bool) {
	var m message
	ft, hasText := fs["text"]
	fm, hasTmpl := fs["template"]
	fv, hasVars := fs["vars"]
	switch {
	case hasText && hasTmpl:
		p.errf(n, "%s has both text and template; use one", what)
		return m, false
	case !hasText && !hasTmpl:
		if required {
			p.errf(n, "%s needs text: <reply> or template: <template id>", what)
			return m, false
		}
		if hasVars {
			p.errf(fv.kNode, "vars go with template: <id>")
			return m, false
		}
		return m, true
	case hasText:
		if hasVars {
			p.errf(fv.kNode, "vars go with template: <id>; in text write {{.name}}")
			return m, false
		}
		t, ok := p.text(ft.v, what+".text")
		m.text = t
		return m, ok
	}
	id, ok := p.template(fm.v)
	m.template = id
	if hasVars {
		vs, good := p.fields(fv.v, what+".vars")
		if !good {
			return m, false
		}
		m.vars = make(map[string]textTmpl, len(vs))
		for _, f := range sortedFields(vs) {
			s, good := p.str(f.v, what+".vars."+f.key)
			if !good {
				ok = false
				continue
			}
			t, err := parseText(s)
			if err != nil {
				p.errf(f.v, "%s.vars.%s: %v", what, f.key, err)
				ok = false
				continue
			}
			for _, v := range t.variables() {
				p.useVar(v, f.v)
			}
			m.vars[f.key] = t
		}
	}
	return m, ok
}

func (p *parser) target(n *yaml.Node, what string, dst *target) {
	*dst = toNext
	if r, ok := p.stepRef(n, what); ok {
		p.refs = append(p.refs, pendingRef{dst: dst, r: r, step: p.cur})
	}
}

func (p *parser) parseWait(n *yaml.Node) *waitStep {
	w := &waitStep{onTimeout: toNext, onReply: toNext}
	fs, ok := p.fields(n, "wait", "timeout", "on_timeout", "on_reply", "keywords", "save_as")
	if !ok {
		return w
	}
	if f, has := fs["timeout"]; has {
		w.timeout, _ = p.duration(f.v, "timeout")
	} else {
		p.errf(n, "wait needs timeout: <duration>, e.g. 72h or 3d")
	}
	if f, has := fs["on_timeout"]; has {
		p.target(f.v, "on_timeout", &w.onTimeout)
	}
	if f, has := fs["on_reply"]; has {
		p.target(f.v, "on_reply", &w.onReply)
	}
	if f, has := fs["keywords"]; has {
		w.keywords = p.parseKeywords(f.v)
	}
	if f, has := fs["save_as"]; has {
		if v, ok := p.str(f.v, "save_as"); ok && p.define(v, f.v) {
			w.saveAs = v
		}
	}
	return w
}

func (p *parser) parseBranch(st *step, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errf(n, "branch must be a list of cases, e.g. - {tag: vip, next: vip_offer}")
		return
	}
	st.branch = make([]branchCase, len(n.Content))
	for i, c := range n.Content {
		bc, r, ok := p.parseCase(c)
		st.branch[i] = bc
		st.branch[i].next = toNext
		if ok {
			p.refs = append(p.refs, pendingRef{dst: &st.branch[i].next, r: r, step: p.cur})
		}
		if bc.cond.isDefault() && i != len(n.Content)-1 {
			p.errf(c, "a case without a test always matches, so the cases after it never run; move it last")
		}
	}
}
