package templates

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Change is one field that differs between two versions. From or To is
// empty when the field was added or removed. Lines is a line diff of texts
// that span several lines ("  " kept, "- " removed, "+ " added), so a
// reviewer finds the edited sentence in a long email without reading both.
type Change struct {
	Path  string   `json:"path"`
	From  string   `json:"from"`
	To    string   `json:"to"`
	Lines []string `json:"lines,omitempty"`
}

// Diff lists what changed from one template to another, field by field,
// by path (channels.wecom.text, channels.sms.params.name, name, ...) in
// path order. Version numbers, times and authors are not content and are
// left out.
func Diff(from, to Template) []Change {
	a, b := flatten(&from), flatten(&to)
	paths := make([]string, 0, len(a)+len(b))
	for p := range a {
		paths = append(paths, p)
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var out []Change
	for _, p := range paths {
		if a[p] == b[p] {
			continue
		}
		c := Change{Path: p, From: a[p], To: b[p]}
		if strings.Contains(c.From, "\n") || strings.Contains(c.To, "\n") {
			c.Lines = lineDiff(strings.Split(c.From, "\n"), strings.Split(c.To, "\n"))
		}
		out = append(out, c)
	}
	return out
}

// flatten maps every content field to its text. Going through JSON keeps
// the paths the API's own names, and covers fields added later for free.
func flatten(t *Template) map[string]string {
	b, _ := json.Marshal(contentOf(t))
	var v any
	_ = json.Unmarshal(b, &v)
	out := map[string]string{}
	walk("", v, out)
	return out
}

func walk(path string, v any, out map[string]string) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walk(join(k), e, out)
		}
	case []any:
		for i, e := range x {
			// Declared variables are keyed by name, so reordering them is
			// no change and an edited sample names its variable.
			if m, ok := e.(map[string]any); ok {
				if name, ok := m["name"].(string); ok && name != "" {
					for k, f := range m {
						if k != "name" {
							walk(join(name)+"."+k, f, out)
						}
					}
					if len(m) == 1 {
						out[join(name)] = name
					}
					continue
				}
			}
			walk(join(fmt.Sprint(i)), e, out)
		}
	case nil:
	case string:
		if x != "" {
			out[path] = x
		}
	default:
		out[path] = fmt.Sprint(x)
	}
}

// maxLineDiffCells bounds the line diff's table; longer texts get no
// line diff (From and To still say everything).
const maxLineDiffCells = 1 << 20

// lineDiff is a longest-common-subsequence diff of two line lists.
func lineDiff(a, b []string) []string {
	if (len(a)+1)*(len(b)+1) > maxLineDiffCells {
		return nil
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, "  "+a[i])
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, "- "+a[i])
			i++
		default:
			out = append(out, "+ "+b[j])
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, "- "+a[i])
	}
	for ; j < len(b); j++ {
		out = append(out, "+ "+b[j])
	}
	return out
}
