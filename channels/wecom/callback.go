// Package wecom connects the gateway to WeCom (企业微信). Inbound, it checks and
// opens the encrypted callbacks WeCom posts for app messages, customer-contact
// changes and 微信客服, and turns each into one channels.Event.
package wecom

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
)

const defaultMaxSkew = 5 * time.Minute

// CallbackConfig holds what the app's API receive (接收消息) settings in the
// WeCom admin console show, plus the replay window.
type CallbackConfig struct {
	// Token signs every request; EncodingAESKey encrypts it; CorpID is the
	// ReceiveId WeCom seals into each message, so a callback meant for another
	// corp is refused even when it shares a key.
	Token, EncodingAESKey, CorpID string
	// MaxSkew bounds how far a request's timestamp may be from Now, so a
	// captured request cannot be replayed later. Zero means 5 minutes.
	MaxSkew time.Duration
	// Now is the clock; nil means time.Now. Tests move it instead of sleeping.
	Now func() time.Time
}

// Callback verifies, opens and decodes WeCom callbacks. Apart from a buffer
// pool its state never changes after NewCallback, so one value serves every
// request concurrently.
type Callback struct {
	token   string
	corpID  string
	key     []byte // the 32-byte AES key, decoded once instead of per request
	maxSkew time.Duration
	now     func() time.Time
	scratch sync.Pool // *[]byte, for the signature input and the ciphertext
}

// NewCallback checks the settings up front, so a typo in the key fails at
// start instead of on the first customer's callback.
func NewCallback(cfg CallbackConfig) (*Callback, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: Token is empty", ErrConfig)
	}
	if cfg.CorpID == "" {
		return nil, fmt.Errorf("%w: CorpID is empty; it is the corp id (ww...) under My Company (我的企业)", ErrConfig)
	}
	key, err := decodeAESKey(cfg.EncodingAESKey)
	if err != nil {
		return nil, err
	}
	if cfg.MaxSkew < 0 {
		return nil, fmt.Errorf("%w: MaxSkew %s is negative; use zero for the 5m default", ErrConfig, cfg.MaxSkew)
	}
	c := &Callback{token: cfg.Token, corpID: cfg.CorpID, key: key, maxSkew: cfg.MaxSkew, now: cfg.Now}
	if c.maxSkew == 0 {
		c.maxSkew = defaultMaxSkew
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func decodeAESKey(s string) ([]byte, error) {
	if len(s) != 43 {
		return nil, fmt.Errorf("%w: EncodingAESKey has %d characters, want 43", ErrConfig, len(s))
	}
	key, err := base64.StdEncoding.DecodeString(s + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: EncodingAESKey is not 43 base64 characters encoding a 32-byte key", ErrConfig)
	}
	return key, nil
}

// VerifyURL answers the GET WeCom sends when an admin saves the callback URL:
// the reply must be the decrypted echostr, which proves we hold the key. It
// applies the same signature, clock and ReceiveId checks as Decode, so the
// URL check cannot serve as a decryption oracle.
func (c *Callback) VerifyURL(msgSignature, timestamp, nonce, echostr string) ([]byte, error) {
	return c.open(msgSignature, timestamp, nonce, []byte(echostr))
}

// Decode turns one POSTed callback into an Event. The signature is checked
// over the Encrypt text before anything is decrypted, so unsigned input never
// reaches the cipher or the parser.
func (c *Callback) Decode(msgSignature, timestamp, nonce string, body []byte) (channels.Event, error) {
	encrypt, err := envelopeEncrypt(body)
	if err != nil {
		return channels.Event{}, err
	}
	plain, err := c.open(msgSignature, timestamp, nonce, encrypt)
	if err != nil {
		return channels.Event{}, err
	}
	return decodeInner(plain)
}

// Seal encrypts and signs plain the way WeCom does and returns WeCom's
// passive-reply envelope, which Decode also accepts. The gateway uses it for
// passive replies; tests, benchmarks and load drivers use it to build real
// callbacks. timestamp must be decimal unix seconds and nonce letters and
// digits, as WeCom's own are.
func (c *Callback) Seal(plain []byte, timestamp, nonce string) (body []byte, msgSignature string, err error) {
	if !isDigits(timestamp) {
		return nil, "", fmt.Errorf("seal: timestamp %q must be unix seconds in decimal digits", clip(timestamp))
	}
	if !isAlnum(nonce) {
		return nil, "", fmt.Errorf("seal: nonce %q must be letters and digits", clip(nonce))
	}
	var random [16]byte
	_, _ = rand.Read(random[:]) // never fails since Go 1.24
	ciphertext := util.AESEncryptMsg(random[:], plain, c.corpID, c.key)
	encrypt := base64.StdEncoding.EncodeToString(ciphertext)
	msgSignature = util.Signature(c.token, timestamp, nonce, encrypt)

	body = make([]byte, 0, len(encrypt)+len(msgSignature)+len(timestamp)+len(nonce)+128)
	body = append(body, "<xml><Encrypt><![CDATA["...)
	body = append(body, encrypt...)
	body = append(body, "]]></Encrypt><MsgSignature><![CDATA["...)
	body = append(body, msgSignature...)
	body = append(body, "]]></MsgSignature><TimeStamp>"...)
	body = append(body, timestamp...)
	body = append(body, "</TimeStamp><Nonce><![CDATA["...)
	body = append(body, nonce...)
	body = append(body, "]]></Nonce></xml>"...)
	return body, msgSignature, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// clip shortens outside input before it goes into an error message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
