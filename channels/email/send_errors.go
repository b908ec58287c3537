package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/journeygate/gateway/channels"
)

// Errors of the sender. Send wraps them in a *channels.SendError whose Kind
// tells the pipeline whether to retry or fall back; errors.Is finds them
// through it.
var (
	// ErrConfig means a SenderConfig cannot work; NewSender returns it.
	ErrConfig = errors.New("invalid email sender configuration")
	// ErrInvalidMessage means the message cannot go out as it is (no body,
	// a malformed address, a header that would break the mail); retrying
	// the same message cannot help.
	ErrInvalidMessage = errors.New("invalid email message")
	// ErrRejected means the SMTP server refused a command; errors.As with
	// *ReplyError gives its code and words.
	ErrRejected = errors.New("the SMTP server refused the message")
	// ErrTimeout means the SMTP server did not answer within CommandTimeout
	// (or DialTimeout); the message may be retried.
	ErrTimeout = errors.New("the SMTP server did not answer in time")
	// ErrConnection means the connection to the SMTP server failed or broke.
	ErrConnection = errors.New("the SMTP connection failed")
	// ErrTLSRequired means credentials would have crossed the network in
	// clear text because the server offers no STARTTLS.
	ErrTLSRequired = errors.New("the SMTP server offers no TLS")
	// ErrAuth means the server did not accept our credentials or offers no
	// mechanism we speak (PLAIN, LOGIN).
	ErrAuth = errors.New("SMTP authentication failed")
	// ErrClosed means Send was called after Close.
	ErrClosed = errors.New("the email sender is closed")
)

// sendError classifies a failure for the pipeline. A reply keeps its code
// ("550") for statistics; 4xx is worth a retry, 5xx never is. Everything that
// is not the server's verdict on the message (timeouts, broken connections,
// a cancelled context) is transient.
func sendError(ctx context.Context, err error) *channels.SendError {
	var se *channels.SendError
	if errors.As(err, &se) {
		return se
	}
	var re *ReplyError
	if errors.As(err, &re) {
		kind := channels.Transient
		if re.Code >= 500 {
			kind = channels.Permanent
		}
		return &channels.SendError{Kind: kind, Code: strconv.Itoa(re.Code), Err: err}
	}
	switch {
	case errors.Is(err, ErrInvalidMessage), errors.Is(err, ErrTLSRequired), errors.Is(err, ErrAuth):
		return &channels.SendError{Kind: channels.Permanent, Err: err}
	case ctx.Err() != nil && !errors.Is(err, ErrTimeout):
		return &channels.SendError{Kind: channels.Transient, Err: fmt.Errorf("%w: %w", ctx.Err(), err)}
	}
	return &channels.SendError{Kind: channels.Transient, Err: err}
}

// ioError names what broke and wraps the sentinel that fits it.
func ioError(op string, err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %s: %w", ErrTimeout, op, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrConnection, op, err)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
}
