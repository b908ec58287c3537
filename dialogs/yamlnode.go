package dialogs

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// reader walks one file's yaml.Node tree and collects problems with their
// positions instead of stopping at the first.
type reader struct {
	file  string
	probs *Problems
}

func (r *reader) errf(n *yaml.Node, format string, args ...any) {
	p := Problem{File: r.file, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	*r.probs = append(*r.probs, p)
}

// field is one key of a mapping with its value node.
type field struct {
	key   string
	kNode *yaml.Node
	v     *yaml.Node
}

// fields reads a mapping, reporting duplicate keys and keys not in allowed
// (allowed nil accepts any key). ok is false when n is not a mapping.
func (r *reader) fields(n *yaml.Node, what string, allowed ...string) (map[string]field, bool) {
	if n.Kind != yaml.MappingNode {
		r.errf(n, "%s must be a mapping (key: value lines), got %s", what, kindName(n))
		return nil, false
	}
	out := make(map[string]field, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			r.errf(k, "%s: keys must be plain words", what)
			continue
		}
		if _, dup := out[k.Value]; dup {
			r.errf(k, "%s: key %q appears twice; keep one", what, k.Value)
			continue
		}
		if allowed != nil && !contains(allowed, k.Value) {
			r.errf(k, "%s: unknown key %q; expected one of %s", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		out[k.Value] = field{key: k.Value, kNode: k, v: v}
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sortedFields returns the fields in file order, for deterministic problems.
func sortedFields(m map[string]field) []field {
	out := make([]field, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].kNode, out[j].kNode
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
}

func (r *reader) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		r.errf(n, "%s must be a text value, got %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (r *reader) nonEmpty(n *yaml.Node, what string) (string, bool) {
	s, ok := r.str(n, what)
	if ok && strings.TrimSpace(s) == "" {
		r.errf(n, "%s must not be empty", what)
		return "", false
	}
	return s, ok
}

func (r *reader) integer(n *yaml.Node, what string, lo, hi int) (int, bool) {
	if n.Kind != yaml.ScalarNode {
		r.errf(n, "%s must be a whole number, got %s", what, kindName(n))
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimPrefix(n.Value, "+"), 10, 64)
	if err != nil || v < int64(lo) || v > int64(hi) {
		r.errf(n, "%s must be a whole number from %d to %d, got %q", what, lo, hi, n.Value)
		return 0, false
	}
	return int(v), true
}

func (r *reader) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "true", "yes", "on":
			return true, true
		case "false", "no", "off":
			return false, true
		}
	}
	r.errf(n, "%s must be true or false, got %s", what, kindName(n))
	return false, false
}

// strList reads a text value or a list of them.
func (r *reader) strList(n *yaml.Node, what string) ([]string, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		s, ok := r.nonEmpty(n, what)
		if !ok {
			return nil, false
		}
		return []string{s}, true
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			r.errf(n, "%s must list at least one value", what)
			return nil, false
		}
		out := make([]string, 0, len(n.Content))
		ok := true
		for _, c := range n.Content {
			s, good := r.nonEmpty(c, what)
			ok = ok && good
			out = append(out, s)
		}
		return out, ok
	}
	r.errf(n, "%s must be a text value or a list of them, got %s", what, kindName(n))
	return nil, false
}

// Bounds for timeouts and delays: a wait shorter than a minute is a typo
// (and would race the tick), one longer than a year never fires usefully.
const (
	minTimeout = time.Minute
	maxTimeout = 366 * 24 * time.Hour
)

func (r *reader) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := r.str(n, what)
	if !ok {
		return 0, false
	}
	d, err := parseDuration(s)
	if err != nil {
		r.errf(n, "%s: %v", what, err)
		return 0, false
	}
	if d < minTimeout || d > maxTimeout {
		r.errf(n, "%s must be from 1m to 366d, got %q", what, s)
		return 0, false
	}
	return d, true
}

// parseDuration accepts Go durations plus a leading day count: "3d",
// "1d12h", "90m".
func parseDuration(s string) (time.Duration, error) {
	orig := s
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		v, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("%q is not a duration; write e.g. 90m, 24h, 3d or 1d12h", orig)
		}
		days, s = v, s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%q is not a duration; write e.g. 90m, 24h, 3d or 1d12h", orig)
		}
		rest = d
	}
	if days > 100000 || rest > time.Duration(math.MaxInt64)-time.Duration(days)*24*time.Hour {
		return 0, fmt.Errorf("%q is too long", orig)
	}
	return time.Duration(days)*24*time.Hour + rest, nil
}
