package channels

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrBadJSON wraps every JSONItems failure.
var ErrBadJSON = errors.New("malformed JSON batch")

// JSONItems splits a pushed JSON body into its objects: platforms send an
// array, and hand-written tests and some relays send a single object
// unwrapped. Decoding every item before any is used lets callers apply a
// batch all or nothing.
func JSONItems(body []byte) ([]map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: the body is empty; send a JSON array of objects", ErrBadJSON)
	}
	var raws []json.RawMessage
	switch trimmed[0] {
	case '[':
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, fmt.Errorf("%w: the body is not a valid JSON array: %w", ErrBadJSON, err)
		}
	case '{':
		raws = []json.RawMessage{trimmed}
	default:
		return nil, fmt.Errorf("%w: the body must be a JSON array of objects (or one object)", ErrBadJSON)
	}
	items := make([]map[string]json.RawMessage, len(raws))
	for i, raw := range raws {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '{' {
			return nil, fmt.Errorf("%w: item %d: expected a JSON object", ErrBadJSON, i)
		}
		if err := json.Unmarshal(raw, &items[i]); err != nil {
			return nil, fmt.Errorf("%w: item %d: not a valid JSON object: %w", ErrBadJSON, i, err)
		}
	}
	return items, nil
}
