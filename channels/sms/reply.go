package sms

import (
	"encoding/json"

	"github.com/journeygate/gateway/channels"
)

// DecodeReplies turns an SmsUp push (messages customers sent back) into
// events. Like DecodeReports it returns every event or none. An unsubscribe
// reply is marked in Props["unsubscribe"] rather than given its own type, so
// dialogs still see the text while contacts withdraw SMS consent.
func DecodeReplies(body []byte) ([]channels.Event, error) {
	items, err := pushItems(body)
	if err != nil {
		return nil, err
	}
	events := make([]channels.Event, 0, len(items))
	for i, item := range items {
		ev, err := decodeReply(item)
		if err != nil {
			return nil, itemError(i, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

func decodeReply(item map[string]json.RawMessage) (channels.Event, error) {
	phone, err := pushPhone(item)
	if err != nil {
		return channels.Event{}, err
	}
	// sequence_id arrives as a number or a string; text keeps a number's
	// literal digits, so ids beyond 2^53 stay exact.
	seq, err := requiredID(item, "sequence_id")
	if err != nil {
		return channels.Event{}, err
	}
	_, at, err := pushTime(item, "send_time", true)
	if err != nil {
		return channels.Event{}, err
	}
	// The customer's words are kept as written, surrounding spaces included.
	content, _, err := text(item, "content")
	if err != nil {
		return channels.Event{}, err
	}
	destCode, err := optional(item, "dest_code")
	if err != nil {
		return channels.Event{}, err
	}
	signName, err := optional(item, "sign_name")
	if err != nil {
		return channels.Event{}, err
	}
	unsubscribe := ""
	if IsUnsubscribe(content) {
		unsubscribe = "true"
	}
	return channels.Event{
		ID:      "sms:up:" + seq,
		Source:  channels.SMS,
		Type:    channels.TypeSMSReply,
		At:      at,
		Contact: []channels.Identity{{Kind: channels.Phone, Value: phone}},
		Text:    content,
		Props: props(
			"dest_code", destCode,
			"sign_name", signName,
			"sequence_id", seq,
			"unsubscribe", unsubscribe,
		),
	}, nil
}
