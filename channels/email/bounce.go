package email

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/journeygate/gateway/channels"
)

// maxReasonLen bounds the diagnostic text kept on a contact's timeline; longer
// reasons are cut at a character boundary rather than rejected, since an MTA's
// transcript can be long and the bounce itself must not be lost.
const maxReasonLen = 1000

// DecodeBounces turns a bounce notification body (see the package doc) into
// events. now stands in for a missing "at". Every item is validated before
// any event is returned, so a bad item rejects the whole body.
func DecodeBounces(body []byte, now time.Time) ([]channels.Event, error) {
	items, err := bounceItems(body)
	if err != nil {
		return nil, err
	}
	events := make([]channels.Event, 0, len(items))
	for i, item := range items {
		ev, err := decodeBounce(item, now)
		if err != nil {
			return nil, fmt.Errorf("%w: item %d: %w", ErrMalformed, i, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

// bounceItems decodes a pushed batch, every item before any is used.
func bounceItems(body []byte) ([]map[string]json.RawMessage, error) {
	items, err := channels.JSONItems(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return items, nil
}

func decodeBounce(item map[string]json.RawMessage, now time.Time) (channels.Event, error) {
	var f [6]string
	for i, name := range [...]string{"id", "type", "email", "message_id", "reason", "at"} {
		s, err := stringField(item, name)
		if err != nil {
			return channels.Event{}, err
		}
		f[i] = s
	}
	id, typ, addr, messageID, reason, at := strings.TrimSpace(f[0]), strings.TrimSpace(f[1]), f[2], strings.TrimSpace(f[3]), strings.TrimSpace(f[4]), strings.TrimSpace(f[5])
	switch {
	case id == "":
		return channels.Event{}, fmt.Errorf("id is missing; send the provider's event id")
	case len(id) > maxIDLen:
		return channels.Event{}, fmt.Errorf("id is %d bytes long; at most %d are accepted", len(id), maxIDLen)
	case len(messageID) > maxIDLen:
		return channels.Event{}, fmt.Errorf("message_id is %d bytes long; at most %d are accepted", len(messageID), maxIDLen)
	}
	if strings.TrimSpace(addr) == "" {
		return channels.Event{}, fmt.Errorf("email is missing")
	}
	addr, err := normalizeAddress(addr)
	if err != nil {
		return channels.Event{}, fmt.Errorf("email: %w", err)
	}
	when := now
	if at != "" {
		if when, err = time.Parse(time.RFC3339, at); err != nil {
			return channels.Event{}, fmt.Errorf("at %q is not an RFC 3339 time such as 2026-11-01T10:00:00+08:00", at)
		}
	}
	ev := channels.Event{
		ID:      "email:bounce:" + id,
		Source:  channels.Email,
		At:      when,
		Contact: []channels.Identity{{Kind: channels.EmailAddress, Value: addr}},
		Props:   map[string]string{},
	}
	switch strings.ToLower(typ) {
	case "hard", "soft":
		ev.Type = channels.TypeEmailBounce
		ev.Props["bounce"] = strings.ToLower(typ)
	case "complaint":
		ev.Type = channels.TypeEmailComplaint
	case "":
		return channels.Event{}, fmt.Errorf(`type is missing; use "hard", "soft" or "complaint"`)
	default:
		return channels.Event{}, fmt.Errorf(`type %.40q is not "hard", "soft" or "complaint"`, typ)
	}
	if reason != "" {
		ev.Props["reason"] = truncate(reason, maxReasonLen)
	}
	if messageID != "" {
		ev.Props["message_id"] = messageID
	}
	return ev, nil
}

// stringField reads an optional JSON string; null counts as absent.
func stringField(item map[string]json.RawMessage, name string) (string, error) {
	raw := bytes.TrimSpace(item[name])
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%s must be a JSON string", name)
	}
	return s, nil
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
