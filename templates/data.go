package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// Limits on the data one render reads.
const (
	maxDataBytes = 1 << 20 // strings plus 16 per other value
	maxDataDepth = 16
)

// dataError locates a value of the data that cannot be used.
type dataError struct {
	path []string // innermost key last
	msg  string
}

func (e *dataError) Error() string {
	return "vars." + strings.Join(e.path, ".") + ": " + e.msg
}

// normalizeVars copies data into plain values: strings, booleans, int64
// (whole numbers, so 12345678 prints as such and compares with 80),
// float64, time.Time, []any and map[string]any. A key set to nil is
// dropped, so null reads as missing. The copy is the render's own, which
// also makes its map the key of the render's step budget.
func normalizeVars(data map[string]any) (map[string]any, error) {
	n := normalizer{}
	root := make(map[string]any, len(data))
	for k, v := range data {
		nv, err := n.value(v, 1)
		if err != nil {
			return nil, prefix(err, k)
		}
		if nv != nil {
			root[k] = nv
		}
	}
	return root, nil
}

type normalizer struct{ bytes int }

func prefix(err error, key string) error {
	var de *dataError
	if errors.As(err, &de) {
		de.path = append([]string{key}, de.path...)
		return de
	}
	return &dataError{path: []string{key}, msg: err.Error()}
}

func (n *normalizer) add(size int) error {
	n.bytes += size
	if n.bytes > maxDataBytes {
		return &dataError{msg: fmt.Sprintf("the data is larger than %d bytes", maxDataBytes)}
	}
	return nil
}

func (n *normalizer) value(v any, depth int) (any, error) {
	if depth > maxDataDepth {
		return nil, &dataError{msg: fmt.Sprintf("nested deeper than %d levels", maxDataDepth)}
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return x, n.add(len(x))
	case bool:
		return x, n.add(16)
	case int:
		return int64(x), n.add(16)
	case int64:
		return x, n.add(16)
	case float64:
		return wholeNumber(x), n.add(16)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, n.add(16)
		}
		if f, err := x.Float64(); err == nil {
			return wholeNumber(f), n.add(16)
		}
		return string(x), n.add(len(x))
	case time.Time:
		return x, n.add(16)
	case map[string]any:
		return n.mapOf(len(x), func(yield func(string, any) error) error {
			for k, e := range x {
				if err := yield(k, e); err != nil {
					return err
				}
			}
			return nil
		}, depth)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			ne, err := n.element(e, depth)
			if err != nil {
				return nil, prefix(err, fmt.Sprint(i))
			}
			out[i] = ne
		}
		return out, n.add(16)
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
			if err := n.add(len(k) + len(e)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
			if err := n.add(len(e) + 16); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return n.reflectValue(reflect.ValueOf(v), depth)
}

// element normalizes a list item; nil becomes "" so it prints as nothing.
func (n *normalizer) element(v any, depth int) (any, error) {
	ne, err := n.value(v, depth+1)
	if ne == nil && err == nil {
		return "", nil
	}
	return ne, err
}

func (n *normalizer) mapOf(size int, each func(yield func(string, any) error) error, depth int) (any, error) {
	out := make(map[string]any, size)
	err := each(func(k string, e any) error {
		ne, err := n.value(e, depth+1)
		if err != nil {
			return prefix(err, k)
		}
		if ne != nil {
			out[k] = ne
		}
		return n.add(len(k))
	})
	if err != nil {
		return nil, err
	}
	return out, n.add(16)
}

// reflectValue handles named and less common types by their kind.
func (n *normalizer) reflectValue(rv reflect.Value, depth int) (any, error) {
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return n.value(rv.Elem().Interface(), depth+1)
	case reflect.String:
		return rv.String(), n.add(rv.Len())
	case reflect.Bool:
		return rv.Bool(), n.add(16)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), n.add(16)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return float64(u), n.add(16)
		}
		return int64(u), n.add(16)
	case reflect.Float32, reflect.Float64:
		return wholeNumber(rv.Float()), n.add(16)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return string(rv.Bytes()), n.add(rv.Len())
		}
		out := make([]any, rv.Len())
		for i := range out {
			ne, err := n.element(rv.Index(i).Interface(), depth)
			if err != nil {
				return nil, prefix(err, fmt.Sprint(i))
			}
			out[i] = ne
		}
		return out, n.add(16)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, &dataError{msg: "a map's keys must be strings, not " + rv.Type().Key().String()}
		}
		return n.mapOf(rv.Len(), func(yield func(string, any) error) error {
			it := rv.MapRange()
			for it.Next() {
				if err := yield(it.Key().String(), it.Value().Interface()); err != nil {
					return err
				}
			}
			return nil
		}, depth)
	}
	return nil, &dataError{msg: rv.Type().String() + " is not plain data; use strings, numbers, booleans, times, lists and maps"}
}

// wholeNumber turns a float that holds an exact integer into int64, the
// way people expect an order number or a score to print.
func wholeNumber(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return int64(f)
	}
	return f
}
