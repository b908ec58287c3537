package contacts

import (
	"fmt"
	"strconv"
)

// Helpers reading script replies. A reply of an unexpected shape means the
// server runs different scripts than this code (a half-finished deploy), so
// they fail loudly instead of guessing.

type reply []any

func asReply(v any, min int) (reply, error) {
	r, ok := v.([]any)
	if !ok || len(r) < min {
		return nil, fmt.Errorf("contacts: unexpected script reply %#v; are the scripts in Redis from another version?", v)
	}
	return r, nil
}

func (r reply) str(i int) string {
	s, _ := r[i].(string)
	return s
}

func (r reply) int(i int) int64 {
	switch v := r[i].(type) {
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

func (r reply) strings(i int) []string {
	list, _ := r[i].([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// pairs reads a flat [k1, v1, k2, v2, ...] reply (HGETALL) into a map.
func (r reply) pairs(i int) map[string]string {
	list := r.strings(i)
	m := make(map[string]string, len(list)/2)
	for k := 0; k+1 < len(list); k += 2 {
		m[list[k]] = list[k+1]
	}
	return m
}
