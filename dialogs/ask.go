package dialogs

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
)

// enterAsk stops the run at an ask: the prompt goes out and the deadline
// is the ask's timeout, or the idle limit when it has none.
func (t *turn) enterAsk(st *step) {
	a := st.ask
	t.sess.Reprompts = 0
	if a.timeout > 0 {
		t.sess.Deadline, t.sess.Idle = ms(t.now.Add(a.timeout)), false
	} else {
		t.sess.Deadline, t.sess.Idle = ms(t.now.Add(t.e.opt.IdleTimeout)), true
	}
	if !a.prompt.empty() {
		t.emit(t.render(a.prompt, listChoices(a)))
	}
}

func listChoices(a *askStep) string {
	if len(a.choices) == 0 {
		return ""
	}
	var b strings.Builder
	for i, c := range a.choices {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(". ")
		b.WriteString(c.label)
	}
	return b.String()
}

// answer takes a reply at the step the session waits at.
func (t *turn) answer(text, norm string) {
	i, ok := t.sc.index[t.sess.Step]
	if !ok {
		t.fail(fmt.Errorf("dialogs: contact %s: step %q is not in %s: %w", t.contactID, t.sess.Step, t.sc.Key(), ErrRuntime))
		return
	}
	st := &t.sc.steps[i]
	switch st.kind {
	case kindAsk:
		if next, ok := t.matchAsk(st.ask, text, norm); ok {
			t.run(next)
			return
		}
		if t.sess.Reprompts < MaxReprompts {
			t.sess.Reprompts++
			t.say(t.repromptText(st.ask, text))
			return
		}
		t.run(st.ask.fallback)
	case kindWait:
		w := st.wait
		for _, k := range w.keywords {
			if containsAny(norm, k.any) {
				t.run(k.next)
				return
			}
		}
		if w.saveAs != "" {
			t.setVar(w.saveAs, strings.TrimSpace(text))
		}
		t.run(w.onReply)
	default:
		t.fail(fmt.Errorf("dialogs: contact %s: %s waits at %s step %s: %w", t.contactID, t.sc.Key(), st.kind, st.id, ErrRuntime))
	}
}

func containsAny(norm string, words []string) bool {
	for _, w := range words {
		if strings.Contains(norm, w) {
			return true
		}
	}
	return false
}

// matchAsk tries, in order: a choice number, a choice label or keyword, the
// keywords, the patterns, the capture.
func (t *turn) matchAsk(a *askStep, text, norm string) (target, bool) {
	if n, ok := choiceNumber(norm); ok && n >= 1 && n <= len(a.choices) {
		return a.choices[n-1].next, true
	}
	for _, c := range a.choices {
		if norm == c.norm || containsAny(norm, c.keywords) {
			return c.next, true
		}
	}
	for _, k := range a.keywords {
		if containsAny(norm, k.any) {
			return k.next, true
		}
	}
	trimmed := strings.TrimSpace(text)
	for _, p := range a.patterns {
		if p.re != nil && p.re.MatchString(trimmed) {
			if p.saveAs != "" {
				t.setVar(p.saveAs, trimmed)
			}
			return p.next, true
		}
	}
	if c := a.capture; c != nil {
		if v, ok := c.check(trimmed, norm); ok {
			t.setVar(c.variable, v)
			return c.next, true
		}
	}
	return 0, false
}

var (
	phoneRe    = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	phoneStrip = strings.NewReplacer(" ", "", "-", "", "\u00a0", "", "(", "", ")", "")
)

// check validates a captured answer and returns the value to store.
func (c *capture) check(trimmed, norm string) (string, bool) {
	switch c.validate {
	case validateNonEmpty:
		return trimmed, norm != ""
	case validatePhone:
		v := phoneStrip.Replace(norm)
		v = strings.TrimPrefix(strings.TrimPrefix(v, "+"), "86")
		if len(v) == 13 && strings.HasPrefix(v, "86") {
			v = v[2:]
		}
		return v, phoneRe.MatchString(v)
	case validateEmail:
		if len(norm) > 254 || strings.ContainsAny(norm, " \t\r\n<>") {
			return "", false
		}
		a, err := mail.ParseAddress(norm)
		if err != nil || a.Address != norm {
			return "", false
		}
		at := strings.LastIndexByte(norm, '@')
		return norm, at > 0 && strings.Contains(norm[at+1:], ".")
	case validateRegex:
		return trimmed, c.re != nil && c.re.MatchString(trimmed)
	}
	return "", false
}

var validationHints = map[validation]string{
	validateNonEmpty: "请回复文字内容。",
	validatePhone:    "请输入11位手机号码，例如 13800138000。",
	validateEmail:    "请输入有效的邮箱地址，例如 name@example.com。",
	validateRegex:    "格式不正确，请重新输入。",
}

// repromptText explains what the ask expects: the choices, or what the
// capture needs.
func (t *turn) repromptText(a *askStep, text string) string {
	if len(a.choices) == 0 && a.capture != nil {
		if a.capture.invalid != "" {
			return a.capture.invalid
		}
		if a.reprompt != "" {
			return a.reprompt
		}
		return validationHints[a.capture.validate]
	}
	lead := a.reprompt
	if lead == "" {
		lead = t.e.opt.Reprompt
		if len(a.choices) > 0 {
			lead += "请回复序号："
		}
	}
	if len(a.choices) > 0 {
		return lead + "\n" + listChoices(a)
	}
	if len(a.prompt.text) > 0 {
		return lead + "\n" + a.prompt.text.render(t.variable)
	}
	return lead
}
