package wecom

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
)

// Sentinels for the send path. Every failed Send wraps one of them inside a
// *channels.SendError, so the pipeline reads the kind and the HTTP layer can
// still map the cause with errors.Is.
var (
	// ErrSenderConfig: the sender settings cannot work; nothing was sent.
	ErrSenderConfig = errors.New("invalid WeCom sender config: set the corp id, the numeric AgentId and the app Secret shown in the admin console, and a Redis client")
	// ErrKindNotCarried: the message is of a kind (or for a channel) this
	// sender does not carry; routing picked the wrong sender.
	ErrKindNotCarried = errors.New("the WeCom sender does not carry this message: use kind text, textcard, markdown, welcome, kf or group_task on channel wecom")
	// ErrIncomplete: the message lacks a field its kind needs, so WeCom would
	// refuse it anyway; fix the template or the caller.
	ErrIncomplete = errors.New("the message lacks a field its WeCom kind needs")
	// ErrRejected: WeCom answered with a non-zero errcode; SendError.Code
	// holds it and the text says what to check.
	ErrRejected = errors.New("WeCom refused the call")
	// ErrRecipientRefused: WeCom accepted the call but named our recipient as
	// one it will not deliver to (invaliduser, fail_list).
	ErrRecipientRefused = errors.New("WeCom accepted the call but will not deliver to this recipient")
	// ErrUnreachable: no usable answer (network failure, timeout, non-200
	// status or a body that is not WeCom's JSON); the outcome is unknown.
	ErrUnreachable = errors.New("WeCom did not answer usably (network, timeout, HTTP status or non-JSON body): retry later and check WECOM_API_BASE and egress")
	// ErrNoAccessToken: no token could be had from Redis or gettoken.
	ErrNoAccessToken = errors.New("no WeCom access token: check Redis and that gettoken accepts the corp id and Secret")

	// errNoAnswer stands for a call that returned neither an answer nor an
	// error; the outcome is unknown, like a timeout.
	errNoAnswer = errors.New("the call returned no answer")
)

// codeRule is what one WeCom errcode means for the pipeline.
type codeRule struct {
	kind channels.ErrorKind
	// staleToken marks codes that mean the access token itself was refused:
	// the call is retried once with a fresh token.
	staleToken bool
	hint       string
}

// errcodeRules is the one table that turns WeCom's errcodes (全局错误码) into
// error kinds. A code not listed is permanent: retrying an unexplained
// refusal only repeats it, and the pipeline falls back to another channel.
var errcodeRules = map[int64]codeRule{
	// The token: fetch a fresh one and retry once.
	40001: {channels.Transient, true, "access token refused as an invalid credential"},
	40014: {channels.Transient, true, "invalid access token"},
	41001: {channels.Transient, true, "access token missing"},
	42001: {channels.Transient, true, "access token expired"},

	// Worth another try later.
	-1:    {channels.Transient, false, "WeCom is busy; retry later"},
	45009: {channels.Transient, false, "API call rate limit reached; retry later and spread sends over time"},
	45033: {channels.Transient, false, "too many concurrent calls to this API; retry later"},

	// Recipients.
	40003: {channels.Permanent, false, "invalid member userid: check the rep's WeCom userid"},
	60111: {channels.Permanent, false, "member userid not found in the address book: check the rep's WeCom userid"},
	81013: {channels.Permanent, false, "the member is not in the app's visible range or was deleted: add the member to the app's visible range"},
	40096: {channels.Permanent, false, "invalid external_userid: check the customer's WeCom identity"},
	84061: {channels.Permanent, false, "the rep and the customer are no longer contacts"},
	41048: {channels.Permanent, false, "no customer can receive this group task"},

	// Welcome messages: the code lives about 20 s and works once.
	41049: {channels.Permanent, false, "welcome_code missing"},
	41050: {channels.Permanent, false, "welcome_code expired or already used: it works once, within about 20 s of the add_external_contact event"},
	41051: {channels.Permanent, false, "the customer and the rep have already started chatting, so no welcome message can be sent"},

	// 微信客服 sessions.
	95000: {channels.Permanent, false, "invalid open_kfid: check the 微信客服 account id"},
	95004: {channels.Permanent, false, "open_kfid does not exist: check the 微信客服 account id"},
	95001: {channels.OutsideWindow, false, "the session's message quota is used up until the customer writes again"},
	95018: {channels.OutsideWindow, false, "the 微信客服 session is not in a state that allows sending (ended, or taken over by a servicer)"},
	95007: {channels.Permanent, false, "the 微信客服 callback token expired (it lives 10 minutes) or belongs to another account: pull without it"},

	// The app's own settings: every send fails until an operator fixes them.
	48002: {channels.Permanent, false, "the app may not call this API: add it to 客户联系 > API > 可调用应用, or grant the permission"},
	60020: {channels.Permanent, false, "this server's IP is not in the app's trusted IP list (企业可信IP)"},
}

// errcodeOf returns the errcode of an answer WeCom gave, if err is one.
func errcodeOf(err error) (int64, bool) {
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return ce.ErrCode, true
	}
	return 0, false
}

// classify turns what a platform call returned into the SendError the
// pipeline acts on. api names the WeCom API in the message.
func classify(api string, err error) error {
	if err == nil {
		return nil
	}
	var se *channels.SendError
	if errors.As(err, &se) {
		return se
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		rule, known := errcodeRules[ce.ErrCode]
		if !known {
			rule = codeRule{kind: channels.Permanent, hint: "unlisted errcode: look it up at https://open.work.weixin.qq.com/devtool/query"}
		}
		return &channels.SendError{
			Kind: rule.kind,
			Code: strconv.FormatInt(ce.ErrCode, 10),
			Err:  fmt.Errorf("%w: %s: errcode %d: %s (errmsg %q)", ErrRejected, api, ce.ErrCode, rule.hint, ce.ErrMsg),
		}
	}
	err = redacted{err}
	if errors.Is(err, ErrNoAccessToken) {
		return &channels.SendError{Kind: channels.Transient, Err: fmt.Errorf("%s: %w", api, err)}
	}
	return &channels.SendError{Kind: channels.Transient, Err: fmt.Errorf("%w: %s: %w", ErrUnreachable, api, err)}
}

// credentialInURL matches the query values that must never reach a log or
// the timeline: transport errors quote the whole request URL.
var credentialInURL = regexp.MustCompile(`(access_token|corpsecret)=[^&\s"]*`)

// redacted hides credentials in err's text but keeps its chain for errors.Is.
type redacted struct{ err error }

func (r redacted) Error() string {
	return credentialInURL.ReplaceAllString(r.err.Error(), "$1=REDACTED")
}

func (r redacted) Unwrap() error { return r.err }

// refused reports a recipient that WeCom accepted the call for but will not
// deliver to; code names the answer field that listed it.
func refused(api, code, to string) error {
	return &channels.SendError{
		Kind: channels.Permanent,
		Code: code,
		Err:  fmt.Errorf("%w: %s listed %q in %s", ErrRecipientRefused, api, to, code),
	}
}

// invalid reports a message the sender will not even try to send.
func invalid(sentinel error, format string, args ...any) error {
	return &channels.SendError{Kind: channels.Permanent, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}
