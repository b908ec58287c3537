package dialogs

import (
	"regexp"
	"time"
)

// Script is one compiled nurture script. It is immutable once loaded, so a
// running session can keep using it after the library was reloaded.
type Script struct {
	ID       string
	Version  int
	Priority int
	// File is where the script was read from (for messages and -check).
	File string

	key      string // id@version, computed once
	source   []byte
	digest   string
	vars     map[string]string // defaults from the script's vars section
	triggers []trigger
	steps    []step
	index    map[string]int
	start    target
}

// Key names the script version, as sessions store it.
func (s *Script) Key() string {
	if s.key == "" {
		return versionKey(s.ID, s.Version)
	}
	return s.key
}

// StepIDs lists the step ids in file order, for consoles and tests.
func (s *Script) StepIDs() []string {
	out := make([]string, len(s.steps))
	for i := range s.steps {
		out[i] = s.steps[i].id
	}
	return out
}

// target is the index of the step a transition leads to.
type target int

const (
	// toEnd ends the session.
	toEnd target = -1
	// toNext is resolved at load time to the step's next.
	toNext target = -2
	// toStop says the run was already finished by a start: hop.
	toStop target = -3
)

type stepKind uint8

const (
	kindSend stepKind = iota + 1
	kindAsk
	kindWait
	kindBranch
	kindDo
)

func (k stepKind) String() string {
	switch k {
	case kindSend:
		return "send"
	case kindAsk:
		return "ask"
	case kindWait:
		return "wait"
	case kindBranch:
		return "branch"
	case kindDo:
		return "do"
	}
	return "?"
}

// waits reports whether the step stops the run until a reply or a timeout;
// only such steps may close a loop.
func (k stepKind) waits() bool { return k == kindAsk || k == kindWait }

type step struct {
	id   string
	line int
	col  int
	kind stepKind
	next target

	send    message
	ask     *askStep
	wait    *waitStep
	branch  []branchCase
	actions []action
}

// message is a text reply or a template send.
type message struct {
	text     textTmpl
	template string
	vars     map[string]textTmpl
}

func (m message) empty() bool { return m.template == "" && len(m.text) == 0 }

type choice struct {
	label    string
	norm     string
	keywords []string // normalized
	next     target
}

type keywordCase struct {
	any  []string // normalized
	next target
}

type patternCase struct {
	re     *regexp.Regexp
	saveAs string
	next   target
}

type validation uint8

const (
	validateNonEmpty validation = iota + 1
	validatePhone
	validateEmail
	validateRegex
)

type capture struct {
	variable string
	validate validation
	re       *regexp.Regexp
	invalid  string
	next     target
}

type askStep struct {
	prompt    message
	choices   []choice
	keywords  []keywordCase
	patterns  []patternCase
	capture   *capture
	reprompt  string
	timeout   time.Duration
	onTimeout target
	fallback  target
}

type waitStep struct {
	timeout   time.Duration
	onTimeout target
	onReply   target
	keywords  []keywordCase
	saveAs    string
}

type branchCase struct {
	cond condition
	next target
}

type actionKind uint8

const (
	actTag actionKind = iota + 1
	actUntag
	actScore
	actStage
	actCoupon
	actRemind
	actHandoff
	actStart
	actEnd
	actSet
)

type action struct {
	kind   actionKind
	line   int
	str    string // tag, stage, coupon batch, handoff reason, script id, variable name
	num    int    // score delta
	value  textTmpl
	saveAs string // coupon code variable
	remind *remind
}

type remind struct {
	msg    message
	delay  time.Duration // from now
	at     textTmpl      // an RFC 3339 time (usually a variable)
	before time.Duration // subtracted from at
}

// terminal reports whether nothing after the action in the same step runs.
func (a action) terminal() bool {
	return a.kind == actHandoff || a.kind == actStart || a.kind == actEnd
}
