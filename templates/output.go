package templates

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// limitedBuffer collects output up to max bytes and fails the write that
// would pass it, which stops the template at once.
type limitedBuffer struct {
	b   []byte
	max int
}

var errTooLong = errors.New("output too long")

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if len(p) > w.max-len(w.b) {
		return 0, errTooLong
	}
	w.b = append(w.b, p...)
	return len(p), nil
}

// execute runs one field and checks its output against the field's rules.
func (r *Renderer) execute(p *program, f *fieldSpec, root map[string]any) (string, error) {
	w := limitedBuffer{max: f.maxBytes}
	if err := p.execute(&w, root); err != nil {
		return "", fmt.Errorf("%w: %s: %s", ErrRender, f.path, explainExec(err, f))
	}
	s := string(w.b)
	switch {
	case f.maxRunes > 0 && utf8.RuneCountInString(s) > f.maxRunes:
		return "", fmt.Errorf("%w: %s: renders %d characters, over %s; shorten it or use truncate",
			ErrRender, f.path, utf8.RuneCountInString(s), f.limitText())
	case f.required && strings.TrimSpace(s) == "":
		return "", fmt.Errorf("%w: %s: renders empty; check the variables it uses", ErrRender, f.path)
	case f.oneLine && strings.ContainsAny(s, "\r\n"):
		return "", fmt.Errorf("%w: %s: renders a line break, which this field cannot hold; check the variables it uses", ErrRender, f.path)
	case f.url && s != "":
		if err := checkURL(s); err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrRender, f.path, err)
		}
	}
	return s, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("renders %q, which is not an absolute http or https URL", truncateForMessage(s))
	}
	return nil
}

func truncateForMessage(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

var (
	missingKeyRE = regexp.MustCompile(`at <([^>]*)>: map has no entry for key "([^"]*)"`)
	execErrRE    = regexp.MustCompile(`(?s)^template: [^:]*:(\d+):\d+: executing "[^"]*" at <(.*?)>: (?:error calling [^:]*: )?(.*)$`)
)

// explainExec turns an execution error into what a template editor needs:
// the variable that is missing, the limit that was passed, or the line.
func explainExec(err error, f *fieldSpec) string {
	var be *budgetError
	var te *timeoutError
	var he *htmltemplate.Error
	switch {
	case errors.Is(err, errTooLong):
		return "renders more than " + f.limitText() + "; shorten the text or the variables it uses"
	case errors.As(err, &be):
		return be.Error()
	case errors.As(err, &te):
		return te.Error()
	case errors.As(err, &he):
		return htmlProblem(he)
	}
	msg := err.Error()
	if m := missingKeyRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("missing variable %s; add %q to the vars or write {{default \"...\" %s}}", m[1], m[2], m[1])
	}
	if m := execErrRE.FindStringSubmatch(msg); m != nil {
		if strings.HasPrefix(m[2], "_") { // a guard the rewrite inserted: its text means nothing to the editor
			return fmt.Sprintf("line %s: %s", m[1], m[3])
		}
		return fmt.Sprintf("line %s, at {{%s}}: %s", m[1], m[2], m[3])
	}
	return msg
}

// htmlProblem words an html/template escaping error for an editor.
func htmlProblem(he *htmltemplate.Error) string {
	msg := he.Description
	if he.ErrorCode == htmltemplate.ErrEndContext {
		msg = "ends inside a tag, an attribute, a comment or a script; close it"
	}
	if he.Line > 0 {
		return fmt.Sprintf("line %d: %s", he.Line, msg)
	}
	return msg
}
