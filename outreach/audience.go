package outreach

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/journeygate/gateway/contacts"
)

// ErrAudience: the audience expression does not parse or cannot be bounded;
// the wrapped message names the position and what was expected.
var ErrAudience = errors.New("invalid audience expression")

// Limits keep a pasted or hostile expression from costing more than a real
// segment ever needs.
const (
	maxAudienceLen   = 2000
	maxAudienceDepth = 32
	maxAudienceTerms = 64
)

// Audience is a parsed segment expression such as
//
//	tag:vip AND (tag:webinar OR tag:trial) AND NOT tag:churned AND stage:mql AND score>=50 AND activity:active
//
// AND binds tighter than OR; NOT binds tightest; keywords are case-insensitive.
// Terms are tag:<name>, stage:<name>, activity:<name> and score<op><int>
// with op one of >= > <= < = !=.
type Audience struct {
	src  string
	root *audNode
}

// String is the expression as it was given.
func (a *Audience) String() string { return a.src }

// Tags lists the distinct tag names the expression reads, in first-seen order.
func (a *Audience) Tags() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(n *audNode)
	walk = func(n *audNode) {
		if n.op == opTag && !seen[n.value] {
			seen[n.value] = true
			out = append(out, n.value)
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(a.root)
	return out
}

type audOp int

const (
	opAnd audOp = iota + 1
	opOr
	opNot
	opTag
	opStage
	opActivity
	opScore
)

type audNode struct {
	op    audOp
	kids  []*audNode
	value string // tag, stage or activity name; score comparison operator
	num   int    // score operand
}

// Matches evaluates the expression on one contact's current state.
func (a *Audience) Matches(c *contacts.Contact) bool { return a.root.match(c) }

func (n *audNode) match(c *contacts.Contact) bool {
	switch n.op {
	case opAnd:
		for _, k := range n.kids {
			if !k.match(c) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if k.match(c) {
				return true
			}
		}
		return false
	case opNot:
		return !n.kids[0].match(c)
	case opTag:
		for _, t := range c.Tags {
			if t == n.value {
				return true
			}
		}
		return false
	case opStage:
		return c.Stage == n.value
	case opActivity:
		return c.Activity == n.value
	case opScore:
		return compareScore(c.Score, n.value, n.num)
	}
	return false
}

func compareScore(score int, op string, v int) bool {
	switch op {
	case ">=":
		return score >= v
	case ">":
		return score > v
	case "<=":
		return score <= v
	case "<":
		return score < v
	case "=":
		return score == v
	case "!=":
		return score != v
	}
	return false
}

// ParseAudience parses a segment expression. Errors wrap ErrAudience and
// give the byte offset of the problem.
func ParseAudience(src string) (*Audience, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("%w: the expression is empty; write e.g. tag:vip AND stage:mql", ErrAudience)
	}
	if len(src) > maxAudienceLen {
		return nil, fmt.Errorf("%w: the expression is %d bytes; at most %d are allowed", ErrAudience, len(src), maxAudienceLen)
	}
	toks, err := lexAudience(src)
	if err != nil {
		return nil, err
	}
	p := &audParser{toks: toks}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, fmt.Errorf("%w: unexpected %q at byte %d; join terms with AND or OR", ErrAudience, t.text, t.pos)
	}
	a := &Audience{src: src, root: root}
	if a.root.bound(nil).neg {
		return nil, fmt.Errorf("%w: %q selects everyone but some tags; bound it with a tag term joined by AND (e.g. tag:newsletter AND NOT tag:churned)", ErrAudience, src)
	}
	return a, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokAnd
	tokOr
	tokNot
	tokLParen
	tokRParen
	tokTerm
)

type audToken struct {
	kind tokKind
	text string
	pos  int
}

// lexAudience splits on spaces and parentheses; everything else is a word.
func lexAudience(src string) ([]audToken, error) {
	var toks []audToken
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, audToken{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, audToken{tokRParen, ")", i})
			i++
		default:
			start := i
			for i < len(src) && !strings.ContainsRune(" \t\n\r()", rune(src[i])) {
				i++
			}
			w := src[start:i]
			kind := tokTerm
			switch strings.ToUpper(w) {
			case "AND":
				kind = tokAnd
			case "OR":
				kind = tokOr
			case "NOT":
				kind = tokNot
			}
			toks = append(toks, audToken{kind, w, start})
		}
	}
	return append(toks, audToken{tokEOF, "end of expression", len(src)}), nil
}

type audParser struct {
	toks  []audToken
	i     int
	terms int
}

func (p *audParser) peek() audToken { return p.toks[p.i] }
func (p *audParser) next() audToken { t := p.toks[p.i]; p.i++; return t }

func (p *audParser) or(depth int) (*audNode, error) {
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	kids := []*audNode{first}
	for p.peek().kind == tokOr {
		p.next()
		k, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &audNode{op: opOr, kids: kids}, nil
}

func (p *audParser) and(depth int) (*audNode, error) {
	first, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	kids := []*audNode{first}
	for p.peek().kind == tokAnd {
		p.next()
		k, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &audNode{op: opAnd, kids: kids}, nil
}

func (p *audParser) unary(depth int) (*audNode, error) {
	if depth >= maxAudienceDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d at byte %d; flatten the expression", ErrAudience, maxAudienceDepth, p.peek().pos)
	}
	t := p.next()
	switch t.kind {
	case tokNot:
		k, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &audNode{op: opNot, kids: []*audNode{k}}, nil
	case tokLParen:
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, fmt.Errorf("%w: expected ) at byte %d to close the ( at byte %d, found %q", ErrAudience, c.pos, t.pos, c.text)
		}
		return n, nil
	case tokTerm:
		p.terms++
		if p.terms > maxAudienceTerms {
			return nil, fmt.Errorf("%w: more than %d terms; split the campaign or tag the segment first", ErrAudience, maxAudienceTerms)
		}
		return parseTerm(t)
	default:
		return nil, fmt.Errorf("%w: expected a term, NOT or ( at byte %d, found %q", ErrAudience, t.pos, t.text)
	}
}

func parseTerm(t audToken) (*audNode, error) {
	w := t.text
	if rest, ok := cutPrefixFold(w, "score"); ok {
		for _, op := range []string{">=", "<=", "!=", ">", "<", "="} {
			if num, ok := strings.CutPrefix(rest, op); ok {
				n, err := strconv.Atoi(num)
				if err != nil || num == "" || num[0] == '+' {
					return nil, fmt.Errorf("%w: score term %q at byte %d needs a whole number after %s", ErrAudience, w, t.pos, op)
				}
				return &audNode{op: opScore, value: op, num: n}, nil
			}
		}
		return nil, fmt.Errorf("%w: score term %q at byte %d needs an operator: >= > <= < = != (no spaces)", ErrAudience, w, t.pos)
	}
	field, value, ok := strings.Cut(w, ":")
	if !ok {
		return nil, fmt.Errorf("%w: %q at byte %d is not a term; write tag:<name>, stage:<name>, activity:<name> or score>=N", ErrAudience, w, t.pos)
	}
	if value == "" {
		return nil, fmt.Errorf("%w: %q at byte %d has no value after the colon", ErrAudience, w, t.pos)
	}
	switch strings.ToLower(field) {
	case "tag":
		return &audNode{op: opTag, value: value}, nil
	case "stage":
		switch value {
		case contacts.StageProspect, contacts.StageMQL, contacts.StageSQL, contacts.StageCustomer:
			return &audNode{op: opStage, value: value}, nil
		}
		return nil, fmt.Errorf("%w: stage %q at byte %d must be prospect, mql, sql or customer", ErrAudience, value, t.pos)
	case "activity":
		switch value {
		case contacts.ActivityActive, contacts.ActivitySilent, contacts.ActivityChurned:
			return &audNode{op: opActivity, value: value}, nil
		}
		return nil, fmt.Errorf("%w: activity %q at byte %d must be active, silent or churned", ErrAudience, value, t.pos)
	}
	return nil, fmt.Errorf("%w: unknown field %q at byte %d; use tag, stage, activity or score", ErrAudience, field, t.pos)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
