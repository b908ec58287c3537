package sms

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	dysms "github.com/alibabacloud-go/dysmsapi-20170525/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/journeygate/gateway/channels"
)

var (
	// ErrSenderConfig means NewSender was given keys, a sign name, an
	// endpoint or a timeout it cannot work with; the process should not start.
	ErrSenderConfig = errors.New("SMS sender misconfigured")
	// ErrNotSMS means a message of another channel or kind reached the SMS
	// sender, which points at routing upstream.
	ErrNotSMS = errors.New("not an SMS message")
	// ErrNoTemplate means the message has no Aliyun template code; Aliyun
	// sends only approved templates.
	ErrNoTemplate = errors.New("SMS template code missing")
	// ErrRefused means Aliyun answered and did not take the message; the
	// SendError's Code holds Aliyun's code and its Kind says what to do.
	ErrRefused = errors.New("Aliyun refused the SMS")
	// ErrOutcomeUnknown means the request may have reached Aliyun but no
	// usable answer came back (timeout, dropped connection, cancelled ctx,
	// HTTP 5xx, unreadable body). The message may have been sent; SendSms is
	// not idempotent, so whoever retries risks a duplicate.
	ErrOutcomeUnknown = fmt.Errorf("SMS %w", channels.ErrOutcomeUnknown)
	// ErrUnreachable means no connection to Aliyun was made, so nothing was
	// sent and a retry cannot duplicate the message.
	ErrUnreachable = errors.New("Aliyun SMS API unreachable")
)

type codeRule struct {
	kind channels.ErrorKind
	fix  string // what the operator can do, shown on the timeline
}

// codeRules is the one place that decides what each Aliyun code means for
// the pipeline. A key without a dot also covers its dotted family
// (Throttling covers Throttling.User and Throttling.Api). Codes arrive either
// as the Code of an HTTP 200 answer (isv.* and isp.* business results) or in
// the JSON of an HTTP 4xx/5xx (gateway codes such as SignatureDoesNotMatch).
// An HTTP 5xx is transient whatever code it carries.
//
// There is no NoConsent row: SendSms reports no recipient opt-out at call
// time. isv.BLACK_KEY_CONTROL_LIMIT sounds like one but is documented as
// blacklisted content in the template params; treating it as an opt-out
// would withdraw the consent of every recipient of a bad template. Numbers
// that unsubscribed or complained surface later as failed delivery reports.
var codeRules = map[string]codeRule{
	// The same message can go out later.
	"isv.BUSINESS_LIMIT_CONTROL": {channels.Transient, "per-number flow control; it clears within minutes to a day, or raise the limits in the SMS console"},
	"isv.DAY_LIMIT_CONTROL":      {channels.Transient, "the daily total set in the SMS console is used up; it resets at midnight Beijing time, or raise it"},
	"isp.SYSTEM_ERROR":           {channels.Transient, "Aliyun system error; retry later"},
	"isp.GATEWAY_ERROR":          {channels.Transient, "Aliyun gateway error; retry later"},
	"Throttling":                 {channels.Transient, "the API rate limit was hit; retry later"},
	"ServiceUnavailable":         {channels.Transient, "Aliyun is briefly unavailable; retry later"},
	"InternalError":              {channels.Transient, "Aliyun internal error; retry later"},
	"SignatureNonceUsed":         {channels.Transient, "a signature nonce repeated; the next attempt signs with a fresh one"},

	// This message cannot go out over SMS as it is; fall back to another channel.
	"isv.MOBILE_NUMBER_ILLEGAL":         {channels.Permanent, "Aliyun rejects this phone number; correct the contact's number"},
	"isv.MOBILE_COUNT_OVER_LIMIT":       {channels.Permanent, "too many numbers in one call; the sender sends one, so PhoneNumbers was garbled"},
	"isv.DOMESTIC_NUMBER_NOT_SUPPORTED": {channels.Permanent, "an international template cannot go to a mainland number; use a mainland template"},
	"isv.SMS_TEMPLATE_ILLEGAL":          {channels.Permanent, "the template code is unknown, unapproved or another account's; use an approved code from the SMS console"},
	"isv.TEMPLATE_MISSING_PARAMETERS":   {channels.Permanent, "the template has variables without values; give every ${name} in it a param"},
	"isv.TEMPLATE_PARAMS_ILLEGAL":       {channels.Permanent, "a param holds forbidden words; change the param values"},
	"isv.INVALID_JSON_PARAM":            {channels.Permanent, "TemplateParam must be a JSON object of strings"},
	"isv.INVALID_PARAMETERS":            {channels.Permanent, "Aliyun rejects a parameter; check the sign name, template code and params"},
	"isv.PARAM_LENGTH_LIMIT":            {channels.Permanent, "a param value is too long for the template; shorten it"},
	"isv.PARAM_NOT_SUPPORT_URL":         {channels.Permanent, "params may not carry URLs; put the link into the approved template"},
	"isv.BLACK_KEY_CONTROL_LIMIT":       {channels.Permanent, "a param holds blacklisted content (keywords or a URL); change the params"},
	"isv.SMS_CONTENT_ILLEGAL":           {channels.Permanent, "the text holds forbidden content; change the template"},
	"isv.SMS_SIGNATURE_ILLEGAL":         {channels.Permanent, "the signature is unknown or unapproved; set ALIYUN_SMS_SIGN_NAME exactly as the SMS console shows it"},
	"isv.SMS_SIGN_ILLEGAL":              {channels.Permanent, "the signature is barred; apply for a compliant signature"},
	"isv.SIGN_STATE_ILLEGAL":            {channels.Permanent, "the signature is unavailable; fix it in the SMS console"},
	"isv.SMS_SIGNATURE_SCENE_ILLEGAL":   {channels.Permanent, "a verification-code signature cannot send notices or marketing; use a general-purpose signature"},
	// Account problems last until an operator acts, often for days, longer
	// than a retry schedule; failing this message now lets the pipeline
	// deliver it over another channel, and the next message tries SMS again.
	"isv.AMOUNT_NOT_ENOUGH":    {channels.Permanent, "the account balance is too low; top it up"},
	"isv.OUT_OF_SERVICE":       {channels.Permanent, "the account is suspended for lack of balance; top it up"},
	"isv.MONTH_LIMIT_CONTROL":  {channels.Permanent, "the monthly total set in the SMS console is used up; raise it"},
	"isv.PRODUCT_UN_SUBSCRIPT": {channels.Permanent, "SMS is not activated for this account; activate it in the console"},
	"isv.PRODUCT_UNSUBSCRIBE":  {channels.Permanent, "SMS is not activated for this account; activate it in the console"},
	"isv.ACCOUNT_NOT_EXISTS":   {channels.Permanent, "the account behind the AccessKey does not exist; check ALIYUN_ACCESS_KEY_ID"},
	"isv.ACCOUNT_ABNORMAL":     {channels.Permanent, "the account is abnormal; contact Aliyun"},
	"isv.DENY_IP_RANGE":        {channels.Permanent, "mainland SMS must be sent from a mainland IP address"},
	"isp.RAM_PERMISSION_DENY":  {channels.Permanent, "the RAM user may not call SendSms; grant it AliyunDysmsFullAccess or a policy with dysms:SendSms"},
	"InvalidAccessKeyId":       {channels.Permanent, "the AccessKey is unknown or disabled; check ALIYUN_ACCESS_KEY_ID in the RAM console"},
	"SignatureDoesNotMatch":    {channels.Permanent, "ALIYUN_ACCESS_KEY_SECRET does not belong to ALIYUN_ACCESS_KEY_ID"},
	"InvalidTimeStamp":         {channels.Permanent, "this host's clock is off by more than 15 minutes; fix its time sync"},
	"InvalidAction.NotFound":   {channels.Permanent, "the endpoint does not serve SendSms; check ALIYUN_SMS_ENDPOINT"},
}

// ruleFor looks a code up exactly, then by its family before the first dot.
func ruleFor(code string) (codeRule, bool) {
	if r, ok := codeRules[code]; ok {
		return r, true
	}
	if family, _, ok := strings.Cut(code, "."); ok {
		r, ok := codeRules[family]
		return r, ok
	}
	return codeRule{}, false
}

// outcome turns the SDK's answer into a receipt or a SendError.
func outcome(id string, resp *dysms.SendSmsResponse, err error) (channels.Receipt, error) {
	if err != nil {
		return channels.Receipt{}, callError(id, err)
	}
	if resp == nil || resp.Body == nil {
		return channels.Receipt{}, &channels.SendError{Kind: channels.Transient,
			Err: fmt.Errorf("%w: SMS %q: Aliyun's answer had no body", ErrOutcomeUnknown, id)}
	}
	b := resp.Body
	code := tea.StringValue(b.Code)
	switch code {
	case "OK":
		return channels.Receipt{PlatformID: tea.StringValue(b.BizId), Kind: channels.KindSMS}, nil
	case "":
		return channels.Receipt{}, &channels.SendError{Kind: channels.Transient,
			Err: fmt.Errorf("%w: SMS %q: Aliyun answered HTTP %d without a Code (request id %s)",
				ErrOutcomeUnknown, id, tea.Int32Value(resp.StatusCode), tea.StringValue(b.RequestId))}
	}
	detail := fmt.Sprintf("%s (request id %s)", tea.StringValue(b.Message), tea.StringValue(b.RequestId))
	return channels.Receipt{}, refusal(id, code, int(tea.Int32Value(resp.StatusCode)), detail)
}

// refusal classifies an answer that carries an Aliyun code.
func refusal(id, code string, status int, detail string) error {
	rule, known := ruleFor(code)
	if !known {
		// An unknown code on an answer means Aliyun looked at the message
		// and did not take it. It is permanent: retrying a refusal nobody
		// understands burns the retry budget and may repeat a rejected
		// message over and over, while falling back delivers it elsewhere
		// now. The code is kept on the SendError so it shows up in the
		// statistics and can be added to codeRules.
		rule = codeRule{channels.Permanent, "this code is not in the sender's table; look it up in Aliyun's SMS error codes"}
		if status == http.StatusTooManyRequests {
			rule.kind = channels.Transient
		}
	}
	sentinel := ErrRefused
	if status >= 500 {
		// The platform failed while handling the request, whatever code it
		// names: the message may have gone out, and a later try may work.
		rule.kind, sentinel = channels.Transient, ErrOutcomeUnknown
	}
	return &channels.SendError{Kind: rule.kind, Code: code,
		Err: fmt.Errorf("%w: SMS %q: %s, HTTP %d: %s; %s", sentinel, id, code, status, detail, rule.fix)}
}

// callError classifies an error returned by the SDK call itself.
func callError(id string, err error) error {
	var sdkErr *tea.SDKError
	if errors.As(err, &sdkErr) {
		code, msg := tea.StringValue(sdkErr.Code), tea.StringValue(sdkErr.Message)
		if sdkErr.StatusCode == nil {
			// The SDK gave up before any request was made.
			return &channels.SendError{Kind: channels.Permanent, Code: code,
				Err: fmt.Errorf("SMS %q: the Aliyun SDK could not build the SendSms call: %s", id, msg)}
		}
		status := *sdkErr.StatusCode
		// The SDK's message repeats the status: "code: 400, <Aliyun's message> request id: ...".
		return refusal(id, code, status, strings.TrimPrefix(msg, fmt.Sprintf("code: %d, ", status)))
	}
	// url.Error repeats the request URL, which carries the phone number
	// and params; keep them out of logs and timelines.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	if neverSent(err) {
		return &channels.SendError{Kind: channels.Transient,
			Err: fmt.Errorf("%w: SMS %q not sent: %v; check the network path to the endpoint", ErrUnreachable, id, err)}
	}
	what := "the connection failed"
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		what = "no answer within the timeout"
	}
	return &channels.SendError{Kind: channels.Transient,
		Err: fmt.Errorf("%w: SMS %q: %s: %v", ErrOutcomeUnknown, id, what, err)}
}

// neverSent reports errors that happen before a request can be written:
// resolving, dialling and the TLS handshake.
func neverSent(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	return (errors.As(err, &opErr) && opErr.Op == "dial") || errors.As(err, &dnsErr) ||
		errors.As(err, &certErr) || errors.As(err, &recErr)
}
