// Package email sends mail over pooled, pipelined SMTP connections, and
// handles what comes back from it: signed tracking tokens for open pixels,
// click redirects and unsubscribe links, and bounce and complaint
// notifications.
//
// # Bounce notifications
//
// POST /callbacks/email/bounce takes a JSON shape of our own, so any mail
// provider's webhook relay or an MTA hook script can feed it. The body is an
// array of objects (a single object is accepted too):
//
//	[{"id": "provider-event-17",       // required: the provider's event id, de-duplication key
//	  "type": "hard",                  // required: "hard", "soft" or "complaint"
//	  "email": "li.wei@example.com",   // required: the recipient's address
//	  "message_id": "m-20261101-42",   // optional: our message id, from the token or a header
//	  "reason": "550 5.1.1 no such user", // optional: the diagnostic text
//	  "at": "2026-11-01T10:00:00+08:00"}] // optional: RFC 3339; the time of receipt if absent
//
// "hard" and "soft" become channels.TypeEmailBounce with Props["bounce"];
// "complaint" (a recipient marked the mail as spam) becomes
// channels.TypeEmailComplaint. Unknown fields are ignored. A body with any
// invalid item is rejected whole, so a relay's retry never applies part of a
// batch twice.
package email

import "errors"

var (
	// ErrBadToken means a tracking token was not signed by us, was signed for
	// another purpose (an open token on the click route), or is garbled.
	ErrBadToken = errors.New("invalid tracking token")
	// ErrExpired means a token is authentic but past its expiry; Verify still
	// returns its claim, so an unsubscribe can be honoured anyway.
	ErrExpired = errors.New("tracking token expired")
	// ErrMalformed means a bounce notification body could not be used as a whole.
	ErrMalformed = errors.New("malformed bounce notification")
	// ErrBadClaim means Sign was asked to sign a claim that could not be used
	// later: an unknown kind, a missing id or address, or a non-http(s) link.
	ErrBadClaim = errors.New("invalid tracking claim")
)
