package templates

import (
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"
)

var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

const (
	maxVars           = 100
	maxVarValueBytes  = 16 << 10 // a sample or default, as JSON-ish size
	maxVarDescription = 500
)

// vars checks the declared variables: names a template can refer to as
// {{.name}}, each once, with samples and defaults a render can use.
func (v *validator) vars(vars []Var) {
	if len(vars) > maxVars {
		v.add("vars", "has %d entries; at most %d are allowed", len(vars), maxVars)
		return
	}
	seen := map[string]bool{}
	for i, d := range vars {
		path := fmt.Sprintf("vars[%d]", i)
		switch {
		case !varNameRE.MatchString(d.Name):
			v.add(path+".name", "%q must be a letter or _ followed by letters, digits or _, as in {{.name}}", truncateForMessage(d.Name))
			continue
		case seen[d.Name]:
			v.add(path+".name", "%q is declared twice", d.Name)
			continue
		}
		seen[d.Name] = true
		path = "vars." + d.Name
		for _, f := range []struct {
			name string
			val  any
		}{{"sample", d.Sample}, {"default", d.Default}} {
			if f.val == nil {
				continue
			}
			n := normalizer{}
			if _, err := n.value(f.val, 1); err != nil {
				msg := err.Error()
				var de *dataError
				if errors.As(err, &de) {
					msg = de.msg
				}
				v.add(path+"."+f.name, "%s", msg)
			} else if n.bytes > maxVarValueBytes {
				v.add(path+"."+f.name, "is over %d bytes", maxVarValueBytes)
			}
		}
		if len(d.Description) > maxVarDescription || !utf8.ValidString(d.Description) {
			v.add(path+".description", "must be valid UTF-8 of at most %d bytes", maxVarDescription)
		}
	}
}

// missing reports whether a value counts as absent for a default: not
// there, null, or an empty string (a contact without a name has "").
func missing(v any, ok bool) bool {
	if !ok || v == nil {
		return true
	}
	s, isString := v.(string)
	return isString && s == ""
}

// withDefaults returns data with every declared default filled in where
// the value is missing. data itself is never changed.
func withDefaults(vars []Var, data map[string]any) map[string]any {
	var out map[string]any
	for _, d := range vars {
		if d.Default == nil {
			continue
		}
		if v, ok := data[d.Name]; !missing(v, ok) {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(data)+len(vars))
			for k, v := range data {
				out[k] = v
			}
		}
		out[d.Name] = d.Default
	}
	if out == nil {
		return data
	}
	return out
}

// Samples returns the declared samples, the data a preview starts from.
func (t *Template) Samples() map[string]any {
	out := make(map[string]any, len(t.Vars))
	for _, d := range t.Vars {
		if d.Sample != nil {
			out[d.Name] = d.Sample
		}
	}
	return out
}
