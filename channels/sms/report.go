package sms

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/journeygate/gateway/channels"
)

// DecodeReports turns an SmsReport push (delivery receipts) into events. The
// whole body is validated before any event is returned: Aliyun re-sends a
// rejected batch, so a partial result would apply some receipts twice or lose
// the rest. A biz_id covers a whole batch of numbers, so the event id pairs it
// with the canonical phone.
func DecodeReports(body []byte) ([]channels.Event, error) {
	items, err := pushItems(body)
	if err != nil {
		return nil, err
	}
	events := make([]channels.Event, 0, len(items))
	for i, item := range items {
		ev, err := decodeReport(item)
		if err != nil {
			return nil, itemError(i, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

func decodeReport(item map[string]json.RawMessage) (channels.Event, error) {
	phone, err := pushPhone(item)
	if err != nil {
		return channels.Event{}, err
	}
	bizID, err := requiredID(item, "biz_id")
	if err != nil {
		return channels.Event{}, err
	}
	success, err := reportSuccess(item)
	if err != nil {
		return channels.Event{}, err
	}
	reportTime, at, err := pushTime(item, "report_time", true)
	if err != nil {
		return channels.Event{}, err
	}
	sendTime, _, err := pushTime(item, "send_time", false)
	if err != nil {
		return channels.Event{}, err
	}
	var fields [4]string
	for i, name := range [...]string{"out_id", "err_code", "err_msg", "sms_size"} {
		if fields[i], err = optional(item, name); err != nil {
			return channels.Event{}, err
		}
	}
	typ := channels.TypeSMSFailed
	if success {
		typ = channels.TypeSMSDelivered
	}
	return channels.Event{
		ID:      "sms:report:" + bizID + ":" + phone,
		Source:  channels.SMS,
		Type:    typ,
		At:      at,
		Contact: []channels.Identity{{Kind: channels.Phone, Value: phone}},
		Props: props(
			"biz_id", bizID,
			"out_id", fields[0],
			"err_code", fields[1],
			"err_msg", fields[2],
			"sms_size", fields[3],
			"send_time", sendTime,
			"report_time", reportTime,
		),
	}, nil
}

// reportSuccess reads success, which the documentation types as a boolean
// but some pushes carry as the string "true" or "false".
func reportSuccess(item map[string]json.RawMessage) (bool, error) {
	raw := bytes.TrimSpace(item["success"])
	switch string(raw) {
	case "", "null":
		return false, badField("success is missing; it must be true or false")
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
	}
	return false, badField("success must be true or false (a boolean or the string), not %.40s", raw)
}
