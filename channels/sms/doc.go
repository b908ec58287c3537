// Package sms turns Alibaba Cloud SMS pushes (delivery reports and customer
// replies) into channels.Event values and holds the phone-number and
// unsubscribe rules every SMS path shares, so the gateway, contacts and the
// sender agree on one canonical phone form.
package sms

import "errors"

var (
	// ErrMalformed means a push body could not be used as a whole; the HTTP
	// layer answers 400 so the bad batch is visible rather than half-applied.
	ErrMalformed = errors.New("malformed SMS push")
	// ErrBadPhone means a phone number is in none of the accepted forms.
	ErrBadPhone = errors.New("bad phone number")
)
