package wecom

import "errors"

// Sentinels for the callback path. The HTTP layer maps each with errors.Is to
// a stable code and status, so a new failure mode wraps one of these rather
// than inventing a new string.
var (
	// ErrConfig: the callback settings cannot work; nothing was received yet.
	ErrConfig = errors.New("invalid WeCom callback config: copy Token, EncodingAESKey and the corp id from the app's API receive (接收消息) settings")
	// ErrSignature: the request was not signed with our Token, so it did not
	// come from WeCom or was altered on the way.
	ErrSignature = errors.New("WeCom msg_signature is missing or wrong: check that the callback Token matches the admin console")
	// ErrStale: the timestamp is missing or too far from our clock; either a
	// replayed request or a server clock that needs NTP.
	ErrStale = errors.New("WeCom callback timestamp is missing or outside the allowed clock skew: check the server clock")
	// ErrDecrypt: the ciphertext does not open with our EncodingAESKey or was
	// sealed for another corp.
	ErrDecrypt = errors.New("WeCom callback does not decrypt: check EncodingAESKey and the corp id")
	// ErrMalformed: the XML is broken or lacks a field the event needs.
	ErrMalformed = errors.New("WeCom callback is malformed")
	// ErrUnsupported: a well-formed callback of a kind the gateway does not
	// handle. Acknowledge it so WeCom stops retrying, and ignore it.
	ErrUnsupported = errors.New("WeCom callback type is not handled")
)
