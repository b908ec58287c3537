package wecom

import (
	"fmt"

	"github.com/journeygate/gateway/channels"
)

// field names one inner-XML element the decoder reads; the rest are skipped.
type field uint8

const (
	fToUserName field = iota
	fFromUserName
	fCreateTime
	fMsgType
	fEvent
	fChangeType
	fMsgID
	fAgentID
	fContent
	fMediaID
	fPicURL
	fURL
	fTitle
	fLabel
	fLocationX
	fLocationY
	fUserID
	fExternalUserID
	fState
	fWelcomeCode
	fFailReason
	fSource
	fTagID
	fTagType
	fStrategyID
	fToken
	fOpenKfID
	numFields
)

var _ = [32 - numFields]struct{}{} // message.seen is a uint32 bit set

func fieldOf(name []byte) (field, bool) {
	switch string(name) {
	case "ToUserName":
		return fToUserName, true
	case "FromUserName":
		return fFromUserName, true
	case "CreateTime":
		return fCreateTime, true
	case "MsgType":
		return fMsgType, true
	case "Event":
		return fEvent, true
	case "ChangeType":
		return fChangeType, true
	case "MsgId":
		return fMsgID, true
	case "AgentID":
		return fAgentID, true
	case "Content":
		return fContent, true
	case "MediaId":
		return fMediaID, true
	case "PicUrl":
		return fPicURL, true
	case "Url":
		return fURL, true
	case "Title":
		return fTitle, true
	case "Label":
		return fLabel, true
	case "Location_X":
		return fLocationX, true
	case "Location_Y":
		return fLocationY, true
	case "UserID":
		return fUserID, true
	case "ExternalUserID":
		return fExternalUserID, true
	case "State":
		return fState, true
	case "WelcomeCode":
		return fWelcomeCode, true
	case "FailReason":
		return fFailReason, true
	case "Source":
		return fSource, true
	case "Id":
		return fTagID, true
	case "TagType":
		return fTagType, true
	case "StrategyId":
		return fStrategyID, true
	case "Token":
		return fToken, true
	case "OpenKfId":
		return fOpenKfID, true
	}
	return 0, false
}

// message is the decrypted inner XML reduced to the fields the gateway reads.
type message struct {
	f    [numFields]string
	seen uint32
}

// parse fills m from doc. It turns doc into one string and hands out
// substrings of it, so a callback costs one allocation for all its fields
// instead of one per field.
func (m *message) parse(doc []byte) error {
	docStr := string(doc)
	var dup []byte
	err := channels.ScanXML(doc, func(name, value []byte) {
		f, ok := fieldOf(name)
		if !ok {
			return
		}
		if m.seen&(1<<f) != 0 {
			if dup == nil {
				dup = append([]byte(nil), name...)
			}
			return
		}
		m.seen |= 1 << f
		if off, ok := offsetIn(doc, value); ok {
			m.f[f] = docStr[off : off+len(value)]
		} else {
			// ScanXML built this value in a buffer it reuses: copy now.
			m.f[f] = string(value)
		}
	})
	if err != nil {
		return fmt.Errorf("%w: the decrypted message is not XML: %w", ErrMalformed, err)
	}
	if dup != nil {
		return fmt.Errorf("%w: element %s appears more than once", ErrMalformed, clip(string(dup)))
	}
	return nil
}

// offsetIn reports where v starts in doc when v is a sub-slice of doc's
// memory (not merely equal bytes).
func offsetIn(doc, v []byte) (int, bool) {
	off := cap(doc) - cap(v)
	if len(v) == 0 || off < 0 || off+len(v) > len(doc) {
		return 0, false
	}
	return off, &doc[off] == &v[0]
}

// envelopeEncrypt returns the Encrypt text of the outer envelope, the only
// part of the body the signature covers.
func envelopeEncrypt(body []byte) ([]byte, error) {
	var encrypt []byte
	count := 0
	err := channels.ScanXML(body, func(name, value []byte) {
		if string(name) != "Encrypt" {
			return
		}
		count++
		if _, ok := offsetIn(body, value); ok {
			encrypt = value
		} else {
			encrypt = append([]byte(nil), value...)
		}
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: the body is not XML: %w", ErrMalformed, err)
	case count == 0 || len(encrypt) == 0:
		return nil, fmt.Errorf("%w: the body has no Encrypt element or it is empty", ErrMalformed)
	case count > 1:
		return nil, fmt.Errorf("%w: the body has %d Encrypt elements", ErrMalformed, count)
	}
	return encrypt, nil
}
