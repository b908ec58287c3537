package officialaccount

import "errors"

// Sentinel errors, wrapped with the detail of each failure. The HTTP layer
// maps them with errors.Is to stable codes and to what WeChat should see: a
// request that fails ErrSignature, ErrStale or ErrDecrypt did not come from
// WeChat (or the account is misconfigured), while ErrUnsupported is a genuine
// callback this gateway does not act on and should be answered "success" so
// WeChat stops retrying.
var (
	// ErrSignature means signature or msg_signature does not match the token.
	ErrSignature = errors.New("official account callback signature does not match")
	// ErrStale means the request's timestamp is too far from the server clock,
	// so it may be a replay.
	ErrStale = errors.New("official account callback timestamp is out of range")
	// ErrDecrypt means a safe-mode message could not be opened: no key is
	// configured, the key is wrong, or the message is for another AppID.
	ErrDecrypt = errors.New("official account message cannot be decrypted")
	// ErrMalformed means the body or query is not a well-formed callback.
	ErrMalformed = errors.New("official account callback is malformed")
	// ErrUnsupported means a well-formed callback of a kind the gateway does
	// not map to an event.
	ErrUnsupported = errors.New("official account callback type is not supported")
	// ErrBadReply means a passive reply cannot be built from the given text;
	// the caller should answer "success" instead.
	ErrBadReply = errors.New("official account passive reply cannot be built")
	// ErrConfig means the callback settings are incomplete or invalid.
	ErrConfig = errors.New("official account callback configuration is invalid")
)
