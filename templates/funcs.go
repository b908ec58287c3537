package templates

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// maxTruncate bounds truncate's length argument; message fields are far
// shorter.
const maxTruncate = 10000

// bytesPerStep is how many bytes of input a string function may touch for
// one step of the budget.
const bytesPerStep = 64

// funcMap binds the template functions to this renderer.
func (r *Renderer) funcMap() map[string]any {
	return map[string]any{
		"default":  fnDefault,
		"upper":    r.stringFunc(strings.ToUpper),
		"lower":    r.stringFunc(strings.ToLower),
		"trim":     r.stringFunc(strings.TrimSpace),
		"urlquery": r.stringFunc(url.QueryEscape),
		"truncate": r.truncate,
		"date":     r.date,
		fnRange:    r.rangeGuard,
		fnLookup:   lookup,
		fnTick:     r.tick,
	}
}

// fnDefault returns v unless it is missing, nil, "" or an empty list or
// map. Zero and false are real values and are kept.
func fnDefault(_ any, def, v any) any {
	switch x := v.(type) {
	case nil:
		return def
	case string:
		if x == "" {
			return def
		}
	case []any:
		if len(x) == 0 {
			return def
		}
	case map[string]any:
		if len(x) == 0 {
			return def
		}
	}
	return v
}

func (r *Renderer) stringFunc(f func(string) string) func(root, v any) (string, error) {
	return func(root, v any) (string, error) {
		s := toString(v)
		if err := r.charge(root, 1+len(s)/bytesPerStep); err != nil {
			return "", err
		}
		return f(s), nil
	}
}

// truncate cuts s to at most n characters, the last being "…" when it
// had to cut, so SMS variables can be kept within Aliyun's limit.
func (r *Renderer) truncate(root any, n int, v any) (string, error) {
	if n < 1 || n > maxTruncate {
		return "", fmt.Errorf("truncate takes a length from 1 to %d, got %d", maxTruncate, n)
	}
	s := toString(v)
	runes, cut := 0, -1
	for i := range s {
		if runes == n-1 {
			cut = i
		}
		if runes == n {
			if err := r.charge(root, 1+i/bytesPerStep); err != nil {
				return "", err
			}
			return s[:cut] + "…", nil
		}
		runes++
	}
	if err := r.charge(root, 1+len(s)/bytesPerStep); err != nil {
		return "", err
	}
	return s, nil
}

// date formats a time, an RFC 3339 (or 2006-01-02) string or unix seconds
// with a Go layout, in the renderer's time zone.
func (r *Renderer) date(root any, layout string, v any) (string, error) {
	if err := r.charge(root, 1+len(layout)/bytesPerStep); err != nil {
		return "", err
	}
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case int64:
		t = time.Unix(x, 0)
	case float64:
		t = time.Unix(int64(x), 0)
	case string:
		var err error
		if t, err = time.Parse(time.RFC3339, x); err != nil {
			if t, err = time.ParseInLocation(time.DateOnly, x, r.opt.Location); err != nil {
				return "", fmt.Errorf("date needs a time, an RFC 3339 or 2006-01-02 string, or unix seconds; got %q", x)
			}
		}
	case nil:
		return "", errors.New("date got no value")
	default:
		return "", fmt.Errorf("date needs a time, an RFC 3339 or 2006-01-02 string, or unix seconds; got %s", describe(v))
	}
	return t.In(r.opt.Location).Format(layout), nil
}

// lookup reads keys under base where a missing key or a nil value along
// the way yields nil instead of an error.
func lookup(base any, keys ...string) (any, error) {
	cur := base
	for _, k := range keys {
		switch m := cur.(type) {
		case nil:
			return nil, nil
		case map[string]any:
			v, ok := m[k]
			if !ok {
				return nil, nil
			}
			cur = v
		default:
			return nil, fmt.Errorf("cannot read .%s of %s", k, describe(cur))
		}
	}
	return cur, nil
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

// describe names a value's kind for messages without echoing its content.
func describe(v any) string {
	switch reflect.ValueOf(v).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint,
		reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case time.Time:
		return "a time"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return "a " + reflect.TypeOf(v).String()
}

// stubFuncs stand in for funcMap when a template is only checked, never
// rendered.
func stubFuncs() map[string]any {
	stub := func(...any) (any, error) { return nil, errors.New("checking only") }
	m := map[string]any{}
	for name := range (&Renderer{}).funcMap() {
		m[name] = stub
	}
	return m
}
