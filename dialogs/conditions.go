package dialogs

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Lifecycle stages a script may test or set (the contract's values).
var stages = []string{"prospect", "mql", "sql", "customer"}

// condition is one branch case's test; every part that is set must hold.
type condition struct {
	tags, notTags []string
	scoreMin      int
	scoreMax      int
	stages        []string
	variable      string
	varOp         varOp
	values        []string
	re            *regexp.Regexp
}

type varOp uint8

const (
	varNone varOp = iota
	varSet
	varUnset
	varEquals
	varMatches
)

// facts is what a condition reads: the contact as the engine sees it now.
type facts interface {
	hasTag(tag string) (bool, error)
	score() (int, error)
	stage() (string, error)
	variable(name string) string
}

func (c *condition) eval(f facts) (bool, error) {
	for _, t := range c.tags {
		if ok, err := f.hasTag(t); err != nil || !ok {
			return false, err
		}
	}
	for _, t := range c.notTags {
		if ok, err := f.hasTag(t); err != nil || ok {
			return false, err
		}
	}
	if c.scoreMin != math.MinInt || c.scoreMax != math.MaxInt {
		s, err := f.score()
		if err != nil || s < c.scoreMin || s > c.scoreMax {
			return false, err
		}
	}
	if len(c.stages) > 0 {
		s, err := f.stage()
		if err != nil || !contains(c.stages, s) {
			return false, err
		}
	}
	if c.variable != "" {
		v := f.variable(c.variable)
		switch c.varOp {
		case varSet:
			return v != "", nil
		case varUnset:
			return v == "", nil
		case varEquals:
			return contains(c.values, normalize(v)), nil
		case varMatches:
			return c.re.MatchString(v), nil
		}
	}
	return true, nil
}

var caseKeys = []string{"tag", "not_tag", "score", "stage", "var", "set", "equals", "matches", "next"}

// parseCase reads one branch case; a case with only next is the default.
func (p *parser) parseCase(n *yaml.Node) (branchCase, ref, bool) {
	bc := branchCase{cond: condition{scoreMin: math.MinInt, scoreMax: math.MaxInt}}
	fs, ok := p.fields(n, "branch case", caseKeys...)
	if !ok {
		return bc, ref{}, false
	}
	c := &bc.cond
	good := true
	if f, has := fs["tag"]; has {
		c.tags, ok = p.strList(f.v, "tag")
		good = good && ok
	}
	if f, has := fs["not_tag"]; has {
		c.notTags, ok = p.strList(f.v, "not_tag")
		good = good && ok
	}
	if f, has := fs["score"]; has {
		if s, ok := p.str(f.v, "score"); ok {
			c.scoreMin, c.scoreMax, ok = parseScoreRange(s)
			if !ok {
				p.errf(f.v, `score must be a comparison such as ">= 50", "< 20", "== 0" or a range "50..79", got %q`, s)
			}
			good = good && ok
		} else {
			good = false
		}
	}
	if f, has := fs["stage"]; has {
		c.stages, ok = p.strList(f.v, "stage")
		for _, s := range c.stages {
			if !contains(stages, s) {
				p.errf(f.v, "stage %q is unknown; use one of %s", s, strings.Join(stages, ", "))
				ok = false
			}
		}
		good = good && ok
	}
	ops := 0
	if f, has := fs["set"]; has {
		ops++
		if b, ok := p.boolean(f.v, "set"); ok {
			c.varOp = varUnset
			if b {
				c.varOp = varSet
			}
		} else {
			good = false
		}
	}
	if f, has := fs["equals"]; has {
		ops++
		c.varOp = varEquals
		vals, ok := p.strList(f.v, "equals")
		for _, v := range vals {
			c.values = append(c.values, normalize(v))
		}
		good = good && ok
	}
	if f, has := fs["matches"]; has {
		ops++
		c.varOp = varMatches
		c.re, ok = p.regex(f.v, "matches")
		good = good && ok
	}
	if f, has := fs["var"]; has {
		if v, ok := p.str(f.v, "var"); ok && validName(v) {
			c.variable = v
			p.useVar(v, f.v)
		} else {
			p.errf(f.v, "var must name a variable (letters, digits, _)")
			good = false
		}
		if ops != 1 {
			p.errf(f.kNode, "var needs exactly one of set, equals or matches")
			good = false
		}
	} else if ops > 0 {
		p.errf(n, "set, equals and matches test a variable; add var: <name>")
		good = false
	}
	var r ref
	if f, has := fs["next"]; has {
		r, ok = p.stepRef(f.v, "next")
		good = good && ok
	} else {
		p.errf(n, "branch case needs next: <step id or end>")
		good = false
	}
	return bc, r, good
}

// isDefault reports a case without any test.
func (c *condition) isDefault() bool {
	return len(c.tags) == 0 && len(c.notTags) == 0 && c.scoreMin == math.MinInt &&
		c.scoreMax == math.MaxInt && len(c.stages) == 0 && c.variable == ""
}

// parseScoreRange reads ">= 50", "<20", "== 0" or "50..79" as an inclusive
// range.
func parseScoreRange(s string) (lo, hi int, ok bool) {
	s = strings.TrimSpace(s)
	lo, hi = math.MinInt, math.MaxInt
	num := func(t string) (int, bool) {
		v, err := strconv.Atoi(strings.TrimSpace(t))
		return v, err == nil && v > -1e9 && v < 1e9
	}
	if a, b, found := strings.Cut(s, ".."); found {
		x, ok1 := num(a)
		y, ok2 := num(b)
		return x, y, ok1 && ok2 && x <= y
	}
	for _, op := range []string{">=", "<=", "==", ">", "<"} {
		if rest, found := strings.CutPrefix(s, op); found {
			v, ok := num(rest)
			if !ok {
				return 0, 0, false
			}
			switch op {
			case ">=":
				lo = v
			case "<=":
				hi = v
			case "==":
				lo, hi = v, v
			case ">":
				lo = v + 1
			case "<":
				hi = v - 1
			}
			return lo, hi, true
		}
	}
	return 0, 0, false
}
