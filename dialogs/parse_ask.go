package dialogs

import (
	"gopkg.in/yaml.v3"
)

var askKeys = []string{"text", "template", "vars", "choices", "keywords", "patterns", "capture", "reprompt", "timeout", "on_timeout", "fallback"}

func (p *parser) parseAsk(n *yaml.Node) *askStep {
	a := &askStep{onTimeout: toEnd, fallback: toEnd}
	fs, ok := p.fields(n, "ask", askKeys...)
	if !ok {
		return a
	}
	a.prompt, _ = p.messageFields(n, fs, "ask", false)
	if f, has := fs["choices"]; has {
		p.parseChoices(a, f.v)
	}
	if f, has := fs["keywords"]; has {
		a.keywords = p.parseKeywords(f.v)
	}
	if f, has := fs["patterns"]; has {
		p.parsePatterns(a, f.v)
	}
	if f, has := fs["capture"]; has {
		a.capture = p.parseCapture(f.v)
	}
	if len(a.choices) == 0 && len(a.keywords) == 0 && len(a.patterns) == 0 && a.capture == nil {
		p.errf(n, "ask needs something to match the reply: choices, keywords, patterns or capture")
	}
	if f, has := fs["reprompt"]; has {
		a.reprompt, _ = p.nonEmpty(f.v, "reprompt")
	}
	if f, has := fs["timeout"]; has {
		a.timeout, _ = p.duration(f.v, "timeout")
	}
	if f, has := fs["on_timeout"]; has {
		if _, set := fs["timeout"]; !set {
			p.errf(f.kNode, "on_timeout needs timeout: <duration>")
		}
		p.target(f.v, "on_timeout", &a.onTimeout)
	}
	if f, has := fs["fallback"]; has {
		p.target(f.v, "fallback", &a.fallback)
	}
	return a
}

func (p *parser) parseChoices(a *askStep, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errf(n, "choices must be a list of labels, e.g. - {label: 了解产品, next: product}")
		return
	}
	if len(n.Content) > 20 {
		p.errf(n, "%d choices; offer at most 20, nobody reads more", len(n.Content))
		return
	}
	a.choices = make([]choice, len(n.Content))
	seen := map[string]bool{}
	for i, c := range n.Content {
		ch := &a.choices[i]
		ch.next = toNext
		var labelNode *yaml.Node
		if c.Kind == yaml.ScalarNode {
			labelNode = c
		} else {
			fs, ok := p.fields(c, "choice", "label", "next", "keywords")
			if !ok {
				continue
			}
			f, has := fs["label"]
			if !has {
				p.errf(c, "choice needs label: <text shown after its number>")
				continue
			}
			labelNode = f.v
			if f, has := fs["next"]; has {
				p.target(f.v, "next", &ch.next)
			}
			if f, has := fs["keywords"]; has {
				kws, _ := p.strList(f.v, "keywords")
				for _, k := range kws {
					ch.keywords = append(ch.keywords, p.keyword(f.v, k))
				}
			}
		}
		label, ok := p.nonEmpty(labelNode, "label")
		if !ok {
			continue
		}
		ch.label, ch.norm = label, normalize(label)
		if _, numeric := choiceNumber(ch.norm); numeric {
			p.errf(labelNode, "label %q starts with a number; the number is added for you", label)
		}
		if seen[ch.norm] {
			p.errf(labelNode, "label %q is offered twice", label)
		}
		seen[ch.norm] = true
	}
}

// keyword normalizes one keyword and refuses those that match nearly
// everything once normalized.
func (p *parser) keyword(n *yaml.Node, k string) string {
	nk := normalize(k)
	if nk == "" {
		p.errf(n, "keyword %q is only spaces or punctuation, which replies never contain after trimming", k)
	}
	return nk
}

func (p *parser) parseKeywords(n *yaml.Node) []keywordCase {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errf(n, "keywords must be a list, e.g. - {any: [价格, 报价], next: pricing}")
		return nil
	}
	out := make([]keywordCase, len(n.Content))
	for i, c := range n.Content {
		out[i].next = toNext
		fs, ok := p.fields(c, "keywords entry", "any", "next")
		if !ok {
			continue
		}
		f, has := fs["any"]
		if !has {
			p.errf(c, "keywords entry needs any: [words that pick it]")
			continue
		}
		kws, _ := p.strList(f.v, "any")
		for _, k := range kws {
			out[i].any = append(out[i].any, p.keyword(f.v, k))
		}
		if f, has := fs["next"]; has {
			p.target(f.v, "next", &out[i].next)
		}
	}
	return out
}

func (p *parser) parsePatterns(a *askStep, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errf(n, "patterns must be a list, e.g. - {regex: '^\\d{6}$', save_as: code, next: check}")
		return
	}
	a.patterns = make([]patternCase, len(n.Content))
	for i, c := range n.Content {
		pc := &a.patterns[i]
		pc.next = toNext
		fs, ok := p.fields(c, "pattern", "regex", "save_as", "next")
		if !ok {
			continue
		}
		if f, has := fs["regex"]; has {
			pc.re, _ = p.regex(f.v, "regex")
		} else {
			p.errf(c, "pattern needs regex: <RE2 expression>")
		}
		if f, has := fs["save_as"]; has {
			if v, ok := p.str(f.v, "save_as"); ok && p.define(v, f.v) {
				pc.saveAs = v
			}
		}
		if f, has := fs["next"]; has {
			p.target(f.v, "next", &pc.next)
		}
	}
}

var validations = map[string]validation{
	"non_empty": validateNonEmpty,
	"phone":     validatePhone,
	"email":     validateEmail,
	"regex":     validateRegex,
}

func (p *parser) parseCapture(n *yaml.Node) *capture {
	c := &capture{next: toNext, validate: validateNonEmpty}
	fs, ok := p.fields(n, "capture", "var", "validate", "regex", "invalid", "next")
	if !ok {
		return c
	}
	if f, has := fs["var"]; has {
		if v, ok := p.str(f.v, "var"); ok && p.define(v, f.v) {
			c.variable = v
		}
	} else {
		p.errf(n, "capture needs var: <variable name>")
	}
	if f, has := fs["validate"]; has {
		if v, ok := p.str(f.v, "validate"); ok {
			if k, known := validations[v]; known {
				c.validate = k
			} else {
				p.errf(f.v, "validate %q is unknown; use non_empty, phone, email or regex", v)
			}
		}
	}
	f, hasRe := fs["regex"]
	switch {
	case c.validate == validateRegex && !hasRe:
		p.errf(n, "validate: regex needs regex: <RE2 expression>")
	case c.validate != validateRegex && hasRe:
		p.errf(f.kNode, "regex is used with validate: regex")
	case hasRe:
		c.re, _ = p.regex(f.v, "regex")
	}
	if f, has := fs["invalid"]; has {
		c.invalid, _ = p.nonEmpty(f.v, "invalid")
	}
	if f, has := fs["next"]; has {
		p.target(f.v, "next", &c.next)
	}
	return c
}
