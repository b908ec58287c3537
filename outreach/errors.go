package outreach

import "errors"

var (
	// ErrNotFound: no message with that id.
	ErrNotFound = errors.New("message not found")
	// ErrInvalid: the intent is malformed; the wrapped message names the field.
	ErrInvalid = errors.New("invalid message")
	// ErrUnreachable: the forced channel has no reachable identity for the
	// contact (no phone for SMS, a hard-bounced address, no WeCom owner...).
	ErrUnreachable = errors.New("the contact cannot be reached on that channel")
	// ErrTooLate: the message is being sent or was sent; it cannot be cancelled.
	ErrTooLate = errors.New("the message is already being sent or was sent")
)
