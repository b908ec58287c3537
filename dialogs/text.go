package dialogs

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// textTmpl is dialog text with {{.name}} placeholders, split at load time so
// rendering a reply is a few appends.
type textTmpl []segment

type segment struct {
	lit      string
	variable string // set for a placeholder
}

var errPlaceholder = errors.New("placeholders look like {{.name}} (letters, digits, _); other template syntax belongs in a template")

// parseText splits s into literal text and {{.name}} placeholders.
func parseText(s string) (textTmpl, error) {
	var out textTmpl
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			if strings.Contains(s, "}}") {
				return nil, errPlaceholder
			}
			out = append(out, segment{lit: s})
			break
		}
		if i > 0 {
			if strings.Contains(s[:i], "}}") {
				return nil, errPlaceholder
			}
			out = append(out, segment{lit: s[:i]})
		}
		rest := s[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return nil, errPlaceholder
		}
		name := strings.TrimSpace(rest[:j])
		if !strings.HasPrefix(name, ".") || !validName(name[1:]) {
			return nil, errPlaceholder
		}
		out = append(out, segment{variable: name[1:]})
		s = rest[j+2:]
	}
	return out, nil
}

// render fills the placeholders; a variable not set renders as "".
func (t textTmpl) render(vars func(string) string) string {
	switch len(t) {
	case 0:
		return ""
	case 1:
		if t[0].variable == "" {
			return t[0].lit
		}
	}
	var b strings.Builder
	for _, s := range t {
		if s.variable != "" {
			b.WriteString(vars(s.variable))
		} else {
			b.WriteString(s.lit)
		}
	}
	return b.String()
}

func (t textTmpl) variables() []string {
	var out []string
	for _, s := range t {
		if s.variable != "" {
			out = append(out, s.variable)
		}
	}
	return out
}

// validName says whether s may name a variable or a step.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// normalize folds what customers type into one form for matching: trimmed,
// lower case, full-width letters and digits as ASCII, no surrounding
// punctuation. "１。", " 1 " and "1." all become "1".
func normalize(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == 0x3000:
			r = ' '
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFF01 - 0x21
		case r == utf8.RuneError:
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimFunc(b.String(), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
	})
}

// isPlain spots text that normalize would return unchanged, the common case
// of a short ASCII answer, without allocating.
func isPlain(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c >= 'A' && c <= 'Z' {
			return false
		}
	}
	first, last := rune(s[0]), rune(s[len(s)-1])
	edge := func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) }
	return !edge(first) && !edge(last)
}

// choiceNumber reads "2", "2.", "2、了解产品" or "选2" style answers; ok is
// false when the text does not start with a choice number.
func choiceNumber(norm string) (int, bool) {
	s := strings.TrimPrefix(norm, "选")
	n, i := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' && i < 3 {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || i == 3 {
		return 0, false
	}
	if i == len(s) {
		return n, true
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	if r == '.' || r == '、' || r == ' ' || r == ')' || r == '）' || r == '。' || r == ':' || r == '：' {
		return n, true
	}
	return 0, false
}

// truncateRunes bounds a captured answer so a pasted essay cannot bloat the
// session.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
