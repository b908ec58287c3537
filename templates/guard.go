package templates

import (
	"fmt"
	htmltemplate "html/template"
	"io"
	"regexp"
	"strconv"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"unicode/utf8"
)

// Functions the rewrite inserts. Template text cannot name them: parsing
// only knows the public functions.
const (
	fnRange  = "_range"  // (root, body cost, else cost, value): pays for a loop, refuses non-collections
	fnLookup = "_lookup" // (base, keys...): a field read where missing means nil
	fnTick   = "_tick"   // (root): checks the render's deadline once per loop iteration
)

// ownFunc reports whether name is one of our public functions. They all
// take the render's data root ($) first, which the rewrite inserts, so
// they can charge the render's step budget.
func ownFunc(name string, html bool) bool {
	switch name {
	case "default", "upper", "lower", "trim", "truncate", "date":
		return true
	case "urlquery":
		return !html // html/template refuses it; HTML escapes URLs by context itself
	}
	return false
}

// allowedFuncs lists what template text may call: our functions, then
// the harmless text/template builtins. call, print, printf, println, html,
// js and slice stay unknown: call reaches Go code, printf widths allocate
// at will.
func allowedFuncs(html bool) string {
	names := []string{"default", "upper", "lower", "trim", "truncate", "date"}
	if !html {
		names = append(names, "urlquery")
	}
	names = append(names, "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index")
	return strings.Join(names, ", ")
}

// parseFuncs is the name set the parser checks identifiers against; only
// the names matter.
func parseFuncs(html bool) map[string]any {
	m := make(map[string]any, 20)
	for _, n := range strings.Split(allowedFuncs(html), ", ") {
		m[n] = true
	}
	return m
}

// program is one parsed, guarded field ready to run.
type program struct {
	text *texttemplate.Template
	html *htmltemplate.Template
	// staticBytes and staticRunes measure the text always written (outside
	// any action), so an over-long body is refused on Save.
	staticBytes, staticRunes int
}

func (p *program) execute(w io.Writer, root map[string]any) error {
	if p.html != nil {
		return p.html.Execute(w, root)
	}
	return p.text.Execute(w, root)
}

// sourceError is a refusal of template text, located by line.
type sourceError struct {
	line int
	msg  string
}

func (e *sourceError) Error() string {
	if e.line > 0 {
		return "line " + strconv.Itoa(e.line) + ": " + e.msg
	}
	return e.msg
}

// compile parses src as the field named path, applies the guards and
// rewrites the tree (see rewriter), and binds it to funcs for execution.
func compile(path, src string, html bool, funcs map[string]any) (*program, error) {
	tree := parse.New(path)
	treeSet := map[string]*parse.Tree{}
	if _, err := tree.Parse(src, "", "", treeSet, parseFuncs(html)); err != nil {
		return nil, parseError(err, html)
	}
	if len(treeSet) != 1 || treeSet[path] != tree {
		return nil, &sourceError{msg: "{{define}} and {{block}} are not allowed: a field is one template with no named parts"}
	}
	w := rewriter{tree: tree, html: html}
	if err := w.list(tree.Root); err != nil {
		return nil, err
	}
	p := &program{}
	for _, n := range tree.Root.Nodes {
		if t, ok := n.(*parse.TextNode); ok {
			p.staticBytes += len(t.Text)
			p.staticRunes += utf8.RuneCount(t.Text)
		}
	}
	var err error
	if html {
		p.html, err = htmltemplate.New(path).Funcs(funcs).Option("missingkey=error").AddParseTree(path, tree)
	} else {
		p.text, err = texttemplate.New(path).Funcs(funcs).Option("missingkey=error").AddParseTree(path, tree)
	}
	if err != nil {
		return nil, &sourceError{msg: err.Error()}
	}
	return p, nil
}

var (
	parseErrRE   = regexp.MustCompile(`(?s)^template: [^:]*:(\d+): (.*)$`)
	undefinedRE  = regexp.MustCompile(`^function "([^"]*)" not defined$`)
	unexpectedRE = regexp.MustCompile(`unexpected <(define|block|template)>`)
)

// parseError turns the parser's message into one that says what to do.
func parseError(err error, html bool) error {
	m := parseErrRE.FindStringSubmatch(err.Error())
	if m == nil {
		return &sourceError{msg: err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	msg := m[2]
	if u := undefinedRE.FindStringSubmatch(msg); u != nil {
		msg = fmt.Sprintf("function %q is not allowed in templates; use one of: %s", u[1], allowedFuncs(html))
	} else if unexpectedRE.MatchString(msg) {
		msg += " ({{define}}, {{block}} and {{template}} are not allowed)"
	}
	return &sourceError{line: line, msg: msg}
}
