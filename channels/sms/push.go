package sms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/journeygate/gateway/channels"
)

// Aliyun writes push times as Beijing wall-clock time without a zone. China
// has kept UTC+8 without daylight saving since 1991, so a fixed zone is exact
// and needs no tzdata on the host.
var beijing = time.FixedZone("CST", 8*3600)

const pushTimeLayout = "2006-01-02 15:04:05"

// maxIDLen bounds the fields that become de-duplication keys, so a hostile
// body cannot make huge Redis keys.
const maxIDLen = 128

// pushItems decodes a pushed batch, every item before any is used.
func pushItems(body []byte) ([]map[string]json.RawMessage, error) {
	items, err := channels.JSONItems(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return items, nil
}

// fieldError reports what is wrong with one field of one item.
type fieldError struct{ msg string }

func (e *fieldError) Error() string { return e.msg }

func badField(format string, args ...any) error { return &fieldError{fmt.Sprintf(format, args...)} }

// text reads a field that should be a string but may arrive as a JSON number
// (Aliyun is not consistent about ids). A number keeps its literal digits, so
// ids beyond 2^53 survive. A missing field or null gives ok=false.
func text(item map[string]json.RawMessage, name string) (s string, ok bool, err error) {
	raw, found := item[name]
	raw = bytes.TrimSpace(raw)
	if !found || len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	switch c := raw[0]; {
	case c == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, badField("%s is not a valid JSON string", name)
		}
		return s, true, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return string(raw), true, nil
	}
	return "", false, badField("%s must be a string or a number", name)
}

// requiredID reads a field that must be present and non-blank; ids are trimmed
// and bounded because they become keys.
func requiredID(item map[string]json.RawMessage, name string) (string, error) {
	s, ok, err := text(item, name)
	if err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if !ok || s == "" {
		return "", badField("%s is missing", name)
	}
	if len(s) > maxIDLen {
		return "", badField("%s is %d bytes long; at most %d are accepted", name, len(s), maxIDLen)
	}
	return s, nil
}

// optional reads a field whose absence is fine.
func optional(item map[string]json.RawMessage, name string) (string, error) {
	s, _, err := text(item, name)
	return strings.TrimSpace(s), err
}

// pushTime parses a push timestamp; an empty value is an error only when the
// field is required.
func pushTime(item map[string]json.RawMessage, name string, required bool) (string, time.Time, error) {
	s, err := optional(item, name)
	if err != nil {
		return "", time.Time{}, err
	}
	if s == "" {
		if required {
			return "", time.Time{}, badField("%s is missing", name)
		}
		return "", time.Time{}, nil
	}
	t, err := time.ParseInLocation(pushTimeLayout, s, beijing)
	if err != nil {
		return "", time.Time{}, badField("%s %q is not a Beijing time in the form %s", name, s, pushTimeLayout)
	}
	return s, t, nil
}

// pushPhone reads phone_number. Aliyun writes mainland numbers as 11 bare
// digits and other numbers with their country code but no "+", so a bare
// digit string that is not a mainland mobile is taken as international here,
// unlike in NormalizePhone, which cannot know where its input came from.
func pushPhone(item map[string]json.RawMessage) (string, error) {
	raw, err := requiredID(item, "phone_number")
	if err != nil {
		return "", err
	}
	phone, err := NormalizePhone(raw)
	if err == nil {
		return phone, nil
	}
	if digits, ok := bareDigits(raw); ok && looksInternational(digits) {
		return "+" + digits, nil
	}
	return "", fmt.Errorf("phone_number: %w", err)
}

// looksInternational reports whether bare digits can be a country code and
// number. 86 is left out: a mainland number that is not a mobile cannot have
// received an SMS.
func looksInternational(d string) bool {
	return len(d) >= minIntlDigits && len(d) <= maxIntlDigits && d[0] != '0' && !strings.HasPrefix(d, "86")
}

// itemError wraps a field problem with the item index, keeping ErrBadPhone
// (or any other sentinel) visible to errors.Is next to ErrMalformed.
func itemError(i int, err error) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return fmt.Errorf("%w: item %d: %s", ErrMalformed, i, fe.msg)
	}
	return fmt.Errorf("%w: item %d: %w", ErrMalformed, i, err)
}

// props keeps only the non-empty values, so consumers see one meaning for
// "absent" whether the platform omitted a field or sent it blank.
func props(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}
