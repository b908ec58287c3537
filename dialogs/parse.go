package dialogs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits that keep a script readable and a hostile file cheap to refuse.
const (
	maxFileSize  = 256 << 10
	maxSteps     = 300
	maxRegex     = 512
	maxPriority  = 1000
	maxVersion   = 1 << 30
	endStep      = "end"
	defaultTitle = "script"
)

// ref is a step id written in the file, resolved after every step is known.
type ref struct {
	name string // "" means the step's default
	node *yaml.Node
}

type pendingRef struct {
	dst  *target
	r    ref
	step int // the step holding the reference, whose next a "" ref means
}

type varUse struct {
	name string
	node *yaml.Node
}

// parser turns one file into a Script.
type parser struct {
	reader
	opts    LoadOptions
	s       *Script
	refs    []pendingRef
	used    []varUse
	defined map[string]bool
	starts  []varUse // start: <script id> references, checked across the library
	cur     int      // index of the step being parsed
	idNode  *yaml.Node
}

var topKeys = []string{"id", "version", "priority", "description", "vars", "triggers", "start", "steps"}

// parseScript reads one file; problems are appended to probs and the script
// is nil when the file could not be understood at all.
func parseScript(file string, data []byte, opts LoadOptions, probs *Problems) (*Script, *parser) {
	p := &parser{reader: reader{file: file, probs: probs}, opts: opts, defined: map[string]bool{}}
	if len(data) > maxFileSize {
		p.errf(nil, "file is %d bytes; a script may be at most %d, split it into several scripts", len(data), maxFileSize)
		return nil, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errf(nil, "file is empty; a script needs id, version, triggers and steps")
		} else {
			p.yamlErr(err)
		}
		return nil, nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errf(&extra, "a file holds one script; move the document after --- into its own file")
	} else if !errors.Is(err, io.EOF) {
		p.yamlErr(err)
	}
	if len(doc.Content) != 1 {
		p.errf(&doc, "file is empty; a script needs id, version, triggers and steps")
		return nil, nil
	}
	if hasAlias(doc.Content[0], 0) {
		p.errf(doc.Content[0], "anchors and aliases (&name, *name) are not supported in scripts; write each value out")
		return nil, nil
	}
	sum := sha256.Sum256(data)
	p.s = &Script{File: file, source: data, digest: hex.EncodeToString(sum[:]), vars: map[string]string{}, index: map[string]int{}}
	p.parseTop(doc.Content[0])
	return p.s, p
}

// yamlErr reports a syntax error; yaml.v3 puts "line N:" in its messages.
func (p *parser) yamlErr(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		n := 0
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' && i < 9 {
			n = n*10 + int(rest[i]-'0')
			i++
		}
		if i > 0 && i < len(rest) && rest[i] == ':' {
			line, msg = n, strings.TrimSpace(rest[i+1:])
		}
	}
	*p.probs = append(*p.probs, Problem{File: p.file, Line: line, Column: 1, Message: "YAML syntax: " + msg})
}

func hasAlias(n *yaml.Node, depth int) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" || depth > 64 {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c, depth+1) {
			return true
		}
	}
	return false
}

func (p *parser) parseTop(n *yaml.Node) {
	fs, ok := p.fields(n, defaultTitle, topKeys...)
	if !ok {
		return
	}
	for _, k := range []string{"id", "version", "triggers", "steps"} {
		if _, has := fs[k]; !has {
			p.errf(n, "%s is missing; a script needs id, version, triggers and steps", k)
		}
	}
	if f, has := fs["id"]; has {
		p.idNode = f.v
		if id, ok := p.str(f.v, "id"); ok {
			if validName(id) {
				p.s.ID = id
			} else {
				p.errf(f.v, "id %q must be letters, digits and _ (at most 64), e.g. welcome_survey", id)
			}
		}
	}
	if f, has := fs["version"]; has {
		p.s.Version, _ = p.integer(f.v, "version", 1, maxVersion)
	}
	if f, has := fs["priority"]; has {
		p.s.Priority, _ = p.integer(f.v, "priority", 0, maxPriority)
	}
	if f, has := fs["description"]; has {
		p.str(f.v, "description")
	}
	if f, has := fs["vars"]; has {
		p.parseVars(f.v)
	}
	if f, has := fs["triggers"]; has {
		p.parseTriggers(f.v)
	}
	if f, has := fs["steps"]; has {
		p.parseSteps(f.v)
	}
	p.s.start = 0
	if f, has := fs["start"]; has && len(p.s.steps) > 0 {
		if r, ok := p.stepRef(f.v, "start"); ok {
			if r.name == endStep {
				p.errf(f.v, "start must name a step, not end")
			} else {
				p.refs = append(p.refs, pendingRef{dst: &p.s.start, r: r, step: -1})
			}
		}
	}
	p.resolve()
	p.checkVars()
	p.s.key = versionKey(p.s.ID, p.s.Version)
}

func (p *parser) parseVars(n *yaml.Node) {
	fs, ok := p.fields(n, "vars")
	if !ok {
		return
	}
	for _, f := range sortedFields(fs) {
		if !validName(f.key) {
			p.errf(f.kNode, "variable %q must be letters, digits and _", f.key)
			continue
		}
		if v, ok := p.str(f.v, "vars."+f.key); ok {
			p.s.vars[f.key] = v
			p.defined[f.key] = true
		}
	}
}

func (p *parser) define(name string, n *yaml.Node) bool {
	if !validName(name) {
		p.errf(n, "variable name %q must be letters, digits and _ (at most 64)", name)
		return false
	}
	p.defined[name] = true
	return true
}

func (p *parser) useVar(name string, n *yaml.Node) { p.used = append(p.used, varUse{name, n}) }

func (p *parser) checkVars() {
	for _, u := range p.used {
		if !p.defined[u.name] {
			p.errf(u.node, "variable %q is never set in this script; give it a default under vars: or capture it in an ask", u.name)
		}
	}
}

func (p *parser) regex(n *yaml.Node, what string) (*regexp.Regexp, bool) {
	s, ok := p.nonEmpty(n, what)
	if !ok {
		return nil, false
	}
	if len(s) > maxRegex {
		p.errf(n, "%s is %d bytes; keep regular expressions under %d", what, len(s), maxRegex)
		return nil, false
	}
	re, err := regexp.Compile(s)
	if err != nil {
		p.errf(n, "%s is not a valid regular expression (RE2 syntax): %v", what, err)
		return nil, false
	}
	return re, true
}

func (p *parser) text(n *yaml.Node, what string) (textTmpl, bool) {
	s, ok := p.nonEmpty(n, what)
	if !ok {
		return nil, false
	}
	t, err := parseText(s)
	if err != nil {
		p.errf(n, "%s: %v", what, err)
		return nil, false
	}
	for _, v := range t.variables() {
		p.useVar(v, n)
	}
	return t, true
}

func (p *parser) template(n *yaml.Node) (string, bool) {
	id, ok := p.nonEmpty(n, "template")
	if !ok {
		return "", false
	}
	if p.opts.TemplateExists != nil && !p.opts.TemplateExists(id) {
		p.errf(n, "template %q does not exist; create it (PUT /api/v1/templates/%s) or fix the id", id, id)
		return id, false
	}
	return id, true
}

// stepRef reads a step id (or end).
func (p *parser) stepRef(n *yaml.Node, what string) (ref, bool) {
	s, ok := p.nonEmpty(n, what)
	if !ok {
		return ref{}, false
	}
	if s != endStep && !validName(s) {
		p.errf(n, "%s must name a step id or end, got %q", what, s)
		return ref{}, false
	}
	return ref{name: s, node: n}, true
}

// resolve turns step ids into indexes once every step is known.
func (p *parser) resolve() {
	s := p.s
	for _, pr := range p.refs {
		switch {
		case pr.r.name == "":
			*pr.dst = toNext
		case pr.r.name == endStep:
			*pr.dst = toEnd
		default:
			i, ok := s.index[pr.r.name]
			if !ok {
				p.errf(pr.r.node, "step %q does not exist in %s%s", pr.r.name, s.ID, suggest(pr.r.name, s.StepIDs()))
				*pr.dst = toEnd
				continue
			}
			*pr.dst = target(i)
		}
	}
	// A matcher without its own target follows the step's next.
	for i := range s.steps {
		st := &s.steps[i]
		fix := func(t *target) {
			if *t == toNext {
				*t = st.next
			}
		}
		switch st.kind {
		case kindAsk:
			for j := range st.ask.choices {
				fix(&st.ask.choices[j].next)
			}
			for j := range st.ask.keywords {
				fix(&st.ask.keywords[j].next)
			}
			for j := range st.ask.patterns {
				fix(&st.ask.patterns[j].next)
			}
			if st.ask.capture != nil {
				fix(&st.ask.capture.next)
			}
		case kindWait:
			fix(&st.wait.onReply)
			fix(&st.wait.onTimeout)
			for j := range st.wait.keywords {
				fix(&st.wait.keywords[j].next)
			}
		case kindBranch:
			for j := range st.branch {
				fix(&st.branch[j].next)
			}
		}
	}
}

// suggest names the closest known id, for typos.
func suggest(name string, known []string) string {
	best, bestD := "", 4
	for _, k := range known {
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
