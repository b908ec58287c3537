package dialogs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/journeygate/gateway/channels"
)

// Bounds on what a contact can store through captures.
const (
	maxVarRunes = 500
	maxVars     = 64
)

// turn is one call's work on one contact, done while holding its lock.
type turn struct {
	e         *Engine
	ctx       context.Context
	contactID string
	channel   channels.Channel
	now       time.Time
	in        *Inbound // nil for timeouts
	deliver   bool     // replies go through Actions.Send (Tick)

	keyBase string
	seq     int

	sc          *Script
	sess        *session
	had         bool
	oldDeadline int64
	holdJSON    string
	sources     []*Script
	steps       int

	out Outcome
	err error

	// What this call changed, so later branches see it.
	tagChanges map[string]bool
	scoreDelta int
	stageSet   string
	profile    *Profile
}

func joinErr(a, b error) error {
	if a == nil {
		return b
	}
	return errors.Join(a, b)
}

// fail records err and ends the session: a script that cannot go on never
// leaves its contact stuck.
func (t *turn) fail(err error) {
	t.err = joinErr(t.err, err)
	t.sess, t.sc = nil, nil
}

func (t *turn) endSession() { t.sess, t.sc = nil, nil }

func (t *turn) target() Target {
	tg := Target{ContactID: t.contactID, Channel: t.channel}
	if t.sess != nil {
		tg.Script, tg.Step = t.sc.Key(), t.sess.Step
	}
	t.seq++
	tg.Key = t.contactID + "/" + t.keyBase + "/" + strconv.Itoa(t.seq)
	return tg
}

// act runs one action; a failure ends the session and reports ErrAction.
func (t *turn) act(what string, f func(Target) error) bool {
	tg := t.target()
	if err := f(tg); err != nil {
		where := "global keyword"
		if tg.Script != "" {
			where = tg.Script + " step " + tg.Step
		}
		t.fail(fmt.Errorf("dialogs: contact %s, %s: %s: %w: %w", t.contactID, where, what, ErrAction, err))
		return false
	}
	return true
}

// emit sends or collects one reply.
func (t *turn) emit(r Reply) {
	if t.deliver {
		t.act("send", func(tg Target) error {
			r.Key = tg.Key
			return t.e.actions.Send(t.ctx, tg, r)
		})
		return
	}
	r.Key = t.target().Key
	t.out.Replies = append(t.out.Replies, r)
}

func (t *turn) say(text string) {
	if text != "-" && text != "" {
		t.emit(Reply{Text: text})
	}
}

func (t *turn) variable(name string) string {
	if t.sess != nil {
		if v, ok := t.sess.Vars[name]; ok {
			return v
		}
	}
	if t.sc != nil {
		return t.sc.vars[name]
	}
	return ""
}

func (t *turn) setVar(name, value string) {
	if t.sess.Vars == nil {
		t.sess.Vars = map[string]string{}
	}
	if _, ok := t.sess.Vars[name]; !ok && len(t.sess.Vars) >= maxVars {
		return
	}
	t.sess.Vars[name] = truncateRunes(value, maxVarRunes)
}

// render turns a message into a reply; extra is appended to text replies
// and passed as the template variable "choices".
func (t *turn) render(m message, extra string) Reply {
	if m.template == "" {
		text := m.text.render(t.variable)
		if extra != "" {
			text += "\n" + extra
		}
		return Reply{Text: text}
	}
	vars := make(map[string]string, len(t.sc.vars)+len(m.vars)+1)
	for k, v := range t.sc.vars {
		vars[k] = v
	}
	if t.sess != nil {
		for k, v := range t.sess.Vars {
			vars[k] = v
		}
	}
	for k, v := range m.vars {
		vars[k] = v.render(t.variable)
	}
	if extra != "" {
		vars["choices"] = extra
	}
	return Reply{Template: m.template, Vars: vars}
}

// start begins sc from its first step.
func (t *turn) start(sc *Script) {
	t.sc = sc
	t.sess = &session{Script: sc.ID, Version: sc.Version, Priority: sc.Priority, Started: ms(t.now), Channel: string(t.channel)}
	t.had = true
	t.out.Started = sc.Key()
	if _, ok := t.e.stored.Load(sc.Key()); !ok && !slices.Contains(t.sources, sc) {
		t.sources = append(t.sources, sc)
	}
	t.run(sc.start)
}

// run executes steps from at until one waits or the session ends.
func (t *turn) run(at target) {
	for t.sess != nil {
		if at == toStop {
			return
		}
		if at == toEnd {
			t.endSession()
			return
		}
		t.steps++
		if t.steps > maxRunSteps {
			t.fail(fmt.Errorf("dialogs: contact %s: %s ran %d steps in one go: %w", t.contactID, t.sc.Key(), maxRunSteps, ErrRuntime))
			return
		}
		st := &t.sc.steps[at]
		t.sess.Step = st.id
		switch st.kind {
		case kindSend:
			t.emit(t.render(st.send, ""))
			at = st.next
		case kindDo:
			at = t.do(st)
		case kindBranch:
			at = t.branch(st)
		case kindAsk:
			t.enterAsk(st)
			return
		case kindWait:
			t.sess.Deadline, t.sess.Idle = ms(t.now.Add(st.wait.timeout)), false
			t.sess.Reprompts = 0
			return
		}
	}
}

func (t *turn) do(st *step) target {
	for i := range st.actions {
		a := &st.actions[i]
		if t.sess == nil {
			return toEnd
		}
		switch a.kind {
		case actTag, actUntag:
			add := a.kind == actTag
			name := map[bool]string{true: "tag", false: "untag"}[add]
			if !t.act(name+" "+a.str, func(tg Target) error {
				if add {
					return t.e.actions.Tag(t.ctx, tg, a.str)
				}
				return t.e.actions.Untag(t.ctx, tg, a.str)
			}) {
				return toEnd
			}
			if t.tagChanges == nil {
				t.tagChanges = map[string]bool{}
			}
			t.tagChanges[a.str] = add
		case actScore:
			if !t.act("score "+scoreText(a.num), func(tg Target) error { return t.e.actions.Score(t.ctx, tg, a.num) }) {
				return toEnd
			}
			t.scoreDelta += a.num
		case actStage:
			if !t.act("stage "+a.str, func(tg Target) error { return t.e.actions.SetStage(t.ctx, tg, a.str) }) {
				return toEnd
			}
			t.stageSet = a.str
		case actCoupon:
			var code string
			if !t.act("coupon "+a.str, func(tg Target) (err error) {
				code, err = t.e.actions.IssueCoupon(t.ctx, tg, a.str)
				return err
			}) {
				return toEnd
			}
			if a.saveAs != "" {
				t.setVar(a.saveAs, code)
			}
		case actRemind:
			if !t.remind(a.remind) {
				return toEnd
			}
		case actSet:
			t.setVar(a.str, a.value.render(t.variable))
		case actHandoff:
			t.handoff(Handoff{Reason: a.str, Text: t.inText()})
			t.endSession()
			return toEnd
		case actEnd:
			t.endSession()
			return toEnd
		case actStart:
			next, ok := t.e.lib.Load().Script(a.str)
			if !ok {
				t.fail(fmt.Errorf("dialogs: contact %s: %s step %s starts script %q, which the current library lacks: %w", t.contactID, t.sc.Key(), st.id, a.str, ErrRuntime))
				return toEnd
			}
			t.endSession()
			t.start(next)
			return toStop
		}
	}
	return st.next
}

func (t *turn) inText() string {
	if t.in != nil {
		return t.in.Text
	}
	return ""
}

// handoff pauses the bot and tells a rep; false if the rep could not be told
// (the bot then keeps answering rather than leaving the contact alone).
func (t *turn) handoff(h Handoff) bool {
	if !t.act("handoff", func(tg Target) error { return t.e.actions.Handoff(t.ctx, tg, h) }) {
		return false
	}
	t.holdJSON = mustJSON(hold{Since: ms(t.now), Reason: h.Reason})
	t.out.HandedOff = true
	return true
}

func (t *turn) remind(r *remind) bool {
	var at time.Time
	if r.delay > 0 {
		at = t.now.Add(r.delay)
	} else {
		s := r.at.render(t.variable)
		v, err := parseTime(s)
		if err != nil {
			t.fail(fmt.Errorf("dialogs: contact %s: %s step %s: reminder time %q is not RFC 3339: %w", t.contactID, t.sc.Key(), t.sess.Step, s, ErrRuntime))
			return false
		}
		at = v.Add(-r.before)
	}
	if !at.After(t.now) {
		return true // the moment has passed; a late reminder would mislead
	}
	msg := t.render(r.msg, "")
	return t.act("remind "+at.UTC().Format(time.RFC3339), func(tg Target) error {
		return t.e.actions.ScheduleReminder(t.ctx, tg, Reminder{Template: msg.Template, Text: msg.Text, Vars: msg.Vars, At: at})
	})
}

// timeout moves a session whose deadline passed.
func (t *turn) timeout() {
	if t.sess.Idle {
		t.endSession()
		return
	}
	i, ok := t.sc.index[t.sess.Step]
	if !ok {
		t.fail(fmt.Errorf("dialogs: contact %s: step %q is not in %s: %w", t.contactID, t.sess.Step, t.sc.Key(), ErrRuntime))
		return
	}
	st := &t.sc.steps[i]
	switch st.kind {
	case kindAsk:
		t.run(st.ask.onTimeout)
	case kindWait:
		t.run(st.wait.onTimeout)
	default:
		t.endSession()
	}
}
