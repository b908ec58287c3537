package officialaccount

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/journeygate/gateway/channels"
)

// Sentinel errors of the sender. Every failed Send returns a
// *channels.SendError whose Err wraps exactly one of them, so the pipeline
// decides by the SendError's kind and the HTTP layer and the timeline can
// tell the causes apart with errors.Is.
var (
	// ErrSenderConfig means NewSender was given incomplete settings.
	ErrSenderConfig = errors.New("official account sender configuration is invalid")
	// ErrUnsupportedKind means the message's kind is not one the official
	// account carries; the pipeline should pick another channel.
	ErrUnsupportedKind = errors.New("official account cannot send this message kind: use text, news, image or template")
	// ErrIncomplete means a field the chosen message kind needs is empty.
	ErrIncomplete = errors.New("official account message is incomplete")
	// ErrOutsideWindow means the 48-hour customer-service window is closed
	// and the message carries no template to fall back on.
	ErrOutsideWindow = errors.New("official account customer-service window is closed: the follower last wrote more than 48 hours ago; give the template a template_id or send on another channel")
	// ErrRefused means WeChat answered with a non-zero errcode; the
	// SendError's Code holds it.
	ErrRefused = errors.New("WeChat refused the message")
	// ErrUnreachable means WeChat did not answer usably: a network error, a
	// timeout, an HTTP error status or an answer that is not JSON.
	ErrUnreachable = errors.New("WeChat API did not answer")
	// ErrToken means no access token could be had for the account.
	ErrToken = errors.New("no official account access token: check WECHAT_APP_ID, WECHAT_APP_SECRET, the account's IP whitelist and that the API is reachable")
)

// errRule is what one WeChat errcode means to the pipeline.
type errRule struct {
	kind channels.ErrorKind
	// refresh says the access token was rejected: drop it, fetch a new one
	// and try once more.
	refresh bool
	hint    string
}

// errcodes is WeChat's global return codes (全局返回码) as far as sending
// customer-service and template messages meets them. A code not listed is
// permanent: retrying an answer nobody has classified would only repeat it.
var errcodes = map[int64]errRule{
	-1:    {kind: channels.Transient, hint: "WeChat is busy; retry later"},
	40001: {kind: channels.Transient, refresh: true, hint: "the access token is invalid or no longer the latest"},
	40014: {kind: channels.Transient, refresh: true, hint: "the access token is invalid"},
	42001: {kind: channels.Transient, refresh: true, hint: "the access token expired"},
	45009: {kind: channels.Transient, hint: "the account's daily API quota is used up; it resets at midnight Beijing time"},
	45011: {kind: channels.Transient, hint: "the API is called too often; retry later"},
	45015: {kind: channels.OutsideWindow, hint: "the follower has not interacted within 48 hours"},
	45047: {kind: channels.OutsideWindow, hint: "the customer-service messages allowed since the follower's last interaction are used up"},
	43004: {kind: channels.NoConsent, hint: "the recipient does not follow the account (unfollowed)"},
	48002: {kind: channels.NoConsent, hint: "the follower turned off messages from this account"},
	40003: {kind: channels.Permanent, hint: "the openid is not a follower of this account; check it belongs to this AppID"},
	40037: {kind: channels.Permanent, hint: "the template_id is not one of this account's templates; copy it from the account's template library"},
	47003: {kind: channels.Permanent, hint: "the template data does not fit the template; errmsg names the field"},
}

// ruleFor looks a code up; an unknown code is permanent.
func ruleFor(code int64) errRule {
	if r, ok := errcodes[code]; ok {
		return r
	}
	return errRule{kind: channels.Permanent, hint: "unclassified WeChat errcode; look it up in the global return codes"}
}

// The SDK reports WeChat's refusals and HTTP statuses only as text
// ("... errcode=45015 , errmsg=...", "... statusCode=502"); the token
// fetcher says "errcode 40125: ...". These pull the numbers back out.
var (
	sdkErrcode    = regexp.MustCompile(`(?s)errcode=(-?\d+) , errmsg=(.*)$`)
	sdkStatus     = regexp.MustCompile(`statusCode=(\d+)$`)
	tokenErrcode  = regexp.MustCompile(`errcode (-?\d+)`)
	redactedToken = "<access_token>"
)

// failure is a classified send error plus whether the token should be
// refreshed before one more try.
type failure struct {
	err     *channels.SendError
	refresh bool
}

// classify turns what the SDK returned into a SendError. tok is the access
// token of the call, kept out of every message: the SDK puts the request
// URI, token included, into its errors.
func classify(err error, tok string) failure {
	msg := redact(err.Error(), tok)
	if m := sdkErrcode.FindStringSubmatch(msg); m != nil {
		code, perr := strconv.ParseInt(m[1], 10, 64)
		if perr == nil {
			r := ruleFor(code)
			return failure{
				err:     &channels.SendError{Kind: r.kind, Code: m[1], Err: fmt.Errorf("%w: errcode %s: %s (%s)", ErrRefused, m[1], strings.TrimSpace(m[2]), r.hint)},
				refresh: r.refresh,
			}
		}
	}
	cause := &redacted{msg: msg, err: err}
	if m := sdkStatus.FindStringSubmatch(msg); m != nil {
		status, _ := strconv.Atoi(m[1])
		kind := channels.Permanent
		if status >= 500 || status == 408 || status == 429 {
			kind = channels.Transient
		}
		return failure{err: &channels.SendError{Kind: kind, Code: "http_" + m[1],
			Err: fmt.Errorf("%w: HTTP status %d (check WECHAT_API_BASE if it is not 5xx): %w", ErrUnreachable, status, cause)}}
	}
	// Network errors, timeouts, a cancelled context and answers that are not
	// JSON: the message may or may not have gone out, and only a later try
	// can tell the pipeline more.
	return failure{err: &channels.SendError{Kind: channels.Transient, Err: fmt.Errorf("%w: %w", ErrUnreachable, cause)}}
}

// tokenFailure classifies a failed token fetch. WeChat's own refusal
// (wrong secret 40125/40001, IP not whitelisted 40164, unknown AppID 40013)
// will not mend itself, so it is permanent and the pipeline falls back;
// busy, quota, Redis and network trouble are transient.
func tokenFailure(err error) *channels.SendError {
	wrapped := fmt.Errorf("%w: %w", ErrToken, err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &channels.SendError{Kind: channels.Transient, Err: wrapped}
	}
	m := tokenErrcode.FindStringSubmatch(err.Error())
	if m == nil {
		return &channels.SendError{Kind: channels.Transient, Err: wrapped}
	}
	code, _ := strconv.ParseInt(m[1], 10, 64)
	kind := channels.Permanent
	if r := ruleFor(code); r.kind == channels.Transient && !r.refresh {
		kind = channels.Transient
	}
	return &channels.SendError{Kind: kind, Code: m[1], Err: wrapped}
}

// refused builds the SendError of a message the sender turns down itself,
// without asking WeChat.
func refused(kind channels.ErrorKind, sentinel error, format string, args ...any) *channels.SendError {
	return &channels.SendError{Kind: kind, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// redacted keeps the underlying error reachable for errors.Is (a deadline,
// a cancelled context) while its text no longer carries the access token.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

func redact(s, tok string) string {
	if tok == "" {
		return s
	}
	return strings.ReplaceAll(s, tok, redactedToken)
}
