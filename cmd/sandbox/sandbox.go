// Command sandbox is a local stand-in for the WeCom API, the WeChat official
// account API, Alibaba Cloud SMS and an SMTP relay. It checks what the real
// platforms check (access tokens, ACS3 signatures, the 48-hour window, single
// use welcome codes) and can play a customer by sending signed, encrypted
// callbacks to the gateway. It shares no code with the gateway on purpose, so
// a mistake made there is caught here instead of being repeated.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"sync"
	"time"
)

// Sentinel errors, wrapped with context where they occur, so callers can tell
// a configuration problem from a misbehaving gateway with errors.Is.
var (
	// ErrConfig means a setting cannot work; the message names the setting.
	ErrConfig = errors.New("invalid sandbox configuration")
	// ErrAESKey means an EncodingAESKey is not 43 base64 characters decoding to 32 bytes.
	ErrAESKey = errors.New("invalid EncodingAESKey")
	// ErrCiphertext means an encrypted message is not valid base64, AES-CBC or PKCS#7 data.
	ErrCiphertext = errors.New("malformed ciphertext")
	// ErrReceiverID means a message decrypted but was meant for another corp or app.
	ErrReceiverID = errors.New("receiver id mismatch")
	// ErrSignature means a msg_signature or ACS3 signature does not match.
	ErrSignature = errors.New("signature mismatch")
	// ErrGateway means the gateway answered a played callback in a way the platform would not accept.
	ErrGateway = errors.New("gateway answered the callback wrongly")
	// ErrBadRequest means a control API request is malformed.
	ErrBadRequest = errors.New("bad control request")
)

// Channel names as the gateway's contract spells them.
const (
	chWeCom   = "wecom"
	chOA      = "officialaccount"
	chSMS     = "sms"
	chEmail   = "email"
	tokenLife = 7200 * time.Second
)

var channelNames = []string{chWeCom, chOA, chSMS, chEmail}

// config holds everything the sandbox needs. main fills it from flags and the
// gateway's own environment variables; tests fill it directly.
type config struct {
	GatewayURL string // base URL the played callbacks and SMS reports go to

	WeComCorpID, WeComAgentID, WeComSecret, WeComToken, WeComAESKey string
	WeChatAppID, WeChatAppSecret, WeChatToken, WeChatAESKey         string
	WeChatOriginalID                                                string // the account's gh_ id, ToUserName of played messages

	AliyunAccessKeyID, AliyunAccessKeySecret, AliyunSignName string
	SMSTemplates                                             map[string][]string // approved code -> its parameter names
	SMSPerMinute                                             int                 // sends per number per minute before isv.BUSINESS_LIMIT_CONTROL

	SMTPUsername, SMTPPassword string // AUTH PLAIN is required when the username is set

	ReportDelay     time.Duration // wait before pushing SmsReport and template-finished events
	Keep            int           // received messages kept per channel
	CallbackTimeout time.Duration // how long a played callback waits, 5 s like the platforms

	Now    func() time.Time
	Client *http.Client // for callbacks to the gateway
	Logf   func(format string, args ...any)
}

// sandbox is the shared state behind every stand-in. One mutex guards the
// platform state; the message store has its own so the SMTP hot path never
// waits on API calls.
type sandbox struct {
	cfg       config
	now       func() time.Time
	store     *store
	faults    *faults
	wecomKey  []byte
	wechatKey []byte // nil: the official account runs in plain mode
	logf      func(format string, args ...any)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	state platformState
}

// newSandbox checks cfg and fills defaults. Close must be called to stop the
// background deliveries (SMS reports, template events).
func newSandbox(cfg config) (*sandbox, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 10000
	}
	if cfg.SMSPerMinute <= 0 {
		cfg.SMSPerMinute = 5
	}
	if cfg.ReportDelay < 0 {
		return nil, fmt.Errorf("%w: -report-delay %v is negative; use 0 or more", ErrConfig, cfg.ReportDelay)
	}
	if cfg.CallbackTimeout <= 0 {
		cfg.CallbackTimeout = 5 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	if cfg.WeChatOriginalID == "" {
		cfg.WeChatOriginalID = "gh_sandbox00001"
	}
	required := []struct{ name, value string }{
		{"WECOM_CORP_ID", cfg.WeComCorpID}, {"WECOM_AGENT_ID", cfg.WeComAgentID},
		{"WECOM_SECRET", cfg.WeComSecret}, {"WECOM_TOKEN", cfg.WeComToken},
		{"WECHAT_APP_ID", cfg.WeChatAppID}, {"WECHAT_APP_SECRET", cfg.WeChatAppSecret},
		{"WECHAT_TOKEN", cfg.WeChatToken},
		{"ALIYUN_ACCESS_KEY_ID", cfg.AliyunAccessKeyID}, {"ALIYUN_ACCESS_KEY_SECRET", cfg.AliyunAccessKeySecret},
		{"ALIYUN_SMS_SIGN_NAME", cfg.AliyunSignName},
	}
	for _, r := range required {
		if r.value == "" {
			return nil, fmt.Errorf("%w: %s is empty; set it to the value the gateway uses", ErrConfig, r.name)
		}
	}
	s := &sandbox{cfg: cfg, now: cfg.Now, logf: cfg.Logf, store: newStore(cfg.Keep), faults: newFaults()}
	var err error
	if s.wecomKey, err = decodeAESKey(cfg.WeComAESKey); err != nil {
		return nil, fmt.Errorf("%w: WECOM_AES_KEY: %w", ErrConfig, err)
	}
	if cfg.WeChatAESKey != "" {
		if s.wechatKey, err = decodeAESKey(cfg.WeChatAESKey); err != nil {
			return nil, fmt.Errorf("%w: WECHAT_AES_KEY: %w", ErrConfig, err)
		}
	}
	if len(cfg.SMSTemplates) == 0 {
		return nil, fmt.Errorf("%w: no SMS templates; set SANDBOX_SMS_TEMPLATES like \"SMS_123456:name,date\"", ErrConfig)
	}
	s.state = newPlatformState()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close stops background deliveries and waits for them, so tests end clean.
func (s *sandbox) Close() {
	s.cancel()
	s.wg.Wait()
}

// goBackground runs f unless the sandbox is closing; f must return soon after s.ctx is done.
func (s *sandbox) goBackground(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// sleepCtx waits d or until the sandbox closes; false means it is closing.
func (s *sandbox) sleepCtx(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}
