// Package officialaccount connects the gateway to a WeChat official account
// (公众号): it verifies and decodes inbound callbacks, in plain and in safe
// (AES) mode, into channels.Event, and builds passive replies.
package officialaccount

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
)

// CallbackConfig holds the account's server settings (服务器配置) as entered
// in the WeChat admin console.
type CallbackConfig struct {
	AppID, Token string
	// EncodingAESKey is the 43-character 消息加解密密钥. Empty means the
	// account runs in plain mode only; a safe-mode request then fails with
	// ErrDecrypt.
	EncodingAESKey string
	// MaxSkew bounds how far a request's timestamp may be from Now, so a
	// captured request cannot be replayed later. Zero means 5 minutes.
	MaxSkew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AllowPlain accepts unencrypted requests even when EncodingAESKey is
	// set, for an account switching modes. Off, a plain request to a
	// safe-mode account is refused: its signature does not cover the body.
	AllowPlain bool
}

// DefaultMaxSkew is wide enough for WeChat's retries (three within about
// 15 s) and ordinary clock drift.
const DefaultMaxSkew = 5 * time.Minute

// Callback verifies and decodes one account's callbacks. It is safe for
// concurrent use.
type Callback struct {
	appID string
	token string
	key   []byte // decoded EncodingAESKey, nil in plain-only mode
	// allowPlain accepts plain-mode requests although a key is set.
	allowPlain bool
	maxSkew    time.Duration
	now        func() time.Time
}

// Inbound is one decoded callback together with what a passive reply needs.
type Inbound struct {
	Event channels.Event
	// Safe says the request was encrypted, so a passive reply must be too.
	Safe bool
	// Account is ToUserName, the account's original id (gh_...).
	Account string
	// OpenID is FromUserName, the follower.
	OpenID string

	// The request's timestamp and nonce sign a safe-mode reply.
	timestamp, nonce string
}

// NewCallback checks the settings once, so a wrong key fails at start-up
// rather than on the first encrypted message.
func NewCallback(cfg CallbackConfig) (*Callback, error) {
	if cfg.AppID == "" {
		return nil, fmt.Errorf("%w: AppID is empty: set it to the account's AppID (wx...)", ErrConfig)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: Token is empty: set it to the Token in the account's server configuration", ErrConfig)
	}
	if cfg.MaxSkew < 0 {
		return nil, fmt.Errorf("%w: MaxSkew is %s: use a positive duration, or zero for %s", ErrConfig, cfg.MaxSkew, DefaultMaxSkew)
	}
	c := &Callback{appID: cfg.AppID, token: cfg.Token, maxSkew: cfg.MaxSkew, now: cfg.Now, allowPlain: cfg.AllowPlain}
	if c.maxSkew == 0 {
		c.maxSkew = DefaultMaxSkew
	}
	if c.now == nil {
		c.now = time.Now
	}
	if cfg.EncodingAESKey != "" {
		key, err := decodeAESKey(cfg.EncodingAESKey)
		if err != nil {
			return nil, err
		}
		c.key = key
	}
	return c, nil
}

func decodeAESKey(s string) ([]byte, error) {
	const fix = "copy the 43-character EncodingAESKey from the account's server configuration"
	if len(s) != 43 {
		return nil, fmt.Errorf("%w: EncodingAESKey has %d characters, want 43: %s", ErrConfig, len(s), fix)
	}
	key, err := base64.StdEncoding.DecodeString(s + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: EncodingAESKey is not base64 for a 32-byte key: %s", ErrConfig, fix)
	}
	return key, nil
}

// VerifyURL answers the GET check WeChat makes when the server URL is saved:
// it returns echostr only when signature = sha1(sort(token, timestamp, nonce)).
func (c *Callback) VerifyURL(q url.Values) (string, error) {
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if err := c.checkSignature(q.Get("signature"), ts, nonce); err != nil {
		return "", err
	}
	if err := c.checkFresh(ts); err != nil {
		return "", err
	}
	echo, ok := q["echostr"]
	if !ok || len(echo) == 0 || echo[0] == "" {
		return "", fmt.Errorf("%w: the URL check has no echostr query parameter", ErrMalformed)
	}
	return echo[0], nil
}

// Decode verifies a POSTed callback and maps it to an event. Plain mode
// checks signature; safe mode (encrypt_type=aes) checks msg_signature over
// the ciphertext before decrypting anything, then requires the embedded
// ReceiveId to be this AppID.
func (c *Callback) Decode(q url.Values, body []byte) (*Inbound, error) {
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	var safe bool
	switch et := q.Get("encrypt_type"); et {
	case "", "raw":
	case "aes":
		safe = true
	default:
		return nil, fmt.Errorf("%w: encrypt_type %q: set the account's message encryption to plain (明文), compatible (兼容) or safe (安全) mode", ErrMalformed, et)
	}
	plain := body
	if safe {
		var err error
		if plain, err = c.open(q, ts, nonce, body); err != nil {
			return nil, err
		}
	} else {
		if c.key != nil && !c.allowPlain {
			// A plain-mode signature does not cover the body: with an AES key
			// configured the account runs in safe mode, and a plain request is
			// a replayed query string with a body of someone's choosing.
			return nil, fmt.Errorf("%w: plain-mode message refused: this account is configured for safe mode (WECHAT_AES_KEY); clear the key to accept plain mode", ErrSignature)
		}
		if err := c.checkSignature(q.Get("signature"), ts, nonce); err != nil {
			return nil, err
		}
		if err := c.checkFresh(ts); err != nil {
			return nil, err
		}
	}
	in, err := decodeMessage(plain)
	if err != nil {
		return nil, err
	}
	in.Safe, in.timestamp, in.nonce = safe, ts, nonce
	return in, nil
}

// open verifies and decrypts a safe-mode body and returns the inner XML.
func (c *Callback) open(q url.Values, ts, nonce string, body []byte) ([]byte, error) {
	if c.key == nil {
		return nil, fmt.Errorf("%w: the request is in safe mode but no EncodingAESKey is configured: set it, or switch the account to plain mode", ErrDecrypt)
	}
	var encrypted string
	err := channels.ScanXML(body, func(name, value []byte) {
		if string(name) == "Encrypt" {
			encrypted = string(value)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%w: safe-mode body: %w", ErrMalformed, err)
	}
	if encrypted == "" {
		return nil, fmt.Errorf("%w: safe-mode body has no Encrypt element", ErrMalformed)
	}
	msgSig := q.Get("msg_signature")
	if msgSig == "" {
		return nil, fmt.Errorf("%w: safe-mode request has no msg_signature query parameter; keep the query string intact in front of the gateway", ErrSignature)
	}
	if !signatureMatches(msgSig, c.token, ts, nonce, encrypted) {
		return nil, fmt.Errorf("%w: msg_signature is wrong: the Token must equal the one in the account's server configuration", ErrSignature)
	}
	if err := c.checkFresh(ts); err != nil {
		return nil, err
	}
	ciphertext, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, fmt.Errorf("%w: Encrypt is not base64: %w", ErrDecrypt, err)
	}
	_, plain, receiveID, err := util.AESDecryptMsg(ciphertext, c.key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: the EncodingAESKey must equal the one in the account's server configuration", ErrDecrypt, err)
	}
	if subtle.ConstantTimeCompare(receiveID, []byte(c.appID)) != 1 {
		return nil, fmt.Errorf("%w: the message is for AppID %q, not %q: configure the AppID of the account that sends to this URL", ErrDecrypt, receiveID, c.appID)
	}
	return plain, nil
}

func (c *Callback) checkSignature(sig, ts, nonce string) error {
	if sig == "" {
		return fmt.Errorf("%w: the request has no signature query parameter; keep the query string intact in front of the gateway", ErrSignature)
	}
	if !signatureMatches(sig, c.token, ts, nonce) {
		return fmt.Errorf("%w: signature is wrong: the Token must equal the one in the account's server configuration", ErrSignature)
	}
	return nil
}

// checkFresh rejects replays: WeChat signs the current time into every request.
func (c *Callback) checkFresh(ts string) error {
	sec, ok := parseDigits(ts)
	if !ok {
		return fmt.Errorf("%w: timestamp %q is not a Unix time in seconds", ErrMalformed, ts)
	}
	skew := c.now().Sub(time.Unix(sec, 0))
	if skew > c.maxSkew || skew < -c.maxSkew {
		return fmt.Errorf("%w: timestamp %s is %s away from the server clock (limit %s): sync the server clock (NTP), or the request is a replay", ErrStale, ts, skew.Round(time.Second), c.maxSkew)
	}
	return nil
}

// parseDigits reads a non-negative decimal of at most 18 digits, so it
// cannot overflow; WeChat's times and message ids fit.
func parseDigits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		d := s[i]
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}
