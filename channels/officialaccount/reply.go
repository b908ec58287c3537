package officialaccount

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/silenceper/wechat/v2/util"
)

// Reply builds the passive text reply to in. A reply to an encrypted request
// is encrypted and signed with that request's timestamp and nonce, as WeChat
// expects in safe mode.
// Call it only when there is something to say: the HTTP layer answers
// "success" otherwise, since an encrypted empty reply shows the follower an
// error ("该公众号暂时无法提供服务").
func (c *Callback) Reply(in *Inbound, text string) ([]byte, error) {
	if in == nil || in.OpenID == "" || in.Account == "" {
		return nil, fmt.Errorf("%w: reply needs the Inbound that Decode returned", ErrBadReply)
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%w: reply text is empty: answer \"success\" instead of replying", ErrBadReply)
	}
	if !validXMLText(text) {
		return nil, fmt.Errorf("%w: reply text is not valid UTF-8 or holds control characters: remove them", ErrBadReply)
	}
	now := c.now().Unix()
	msg := make([]byte, 0, 160+len(in.OpenID)+len(in.Account)+len(text))
	msg = append(msg, "<xml>"...)
	msg = appendElement(msg, "ToUserName", in.OpenID)
	msg = appendElement(msg, "FromUserName", in.Account)
	msg = appendRaw(msg, "CreateTime", strconv.FormatInt(now, 10))
	msg = appendElement(msg, "MsgType", "text")
	msg = appendElement(msg, "Content", text)
	msg = append(msg, "</xml>"...)
	if !in.Safe {
		return msg, nil
	}
	ts, nonce := in.timestamp, in.nonce
	if _, ok := parseDigits(ts); !ok {
		ts = strconv.FormatInt(now, 10)
	}
	if nonce == "" {
		nonce = randomNonce()
	}
	return c.seal(msg, ts, nonce)
}

// seal encrypts msg for this account and wraps it the way WeChat expects a
// safe-mode reply: Encrypt, MsgSignature, TimeStamp, Nonce.
func (c *Callback) seal(msg []byte, ts, nonce string) ([]byte, error) {
	encrypted, err := c.encrypt(msg)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(encrypted)+160+len(nonce))
	out = append(out, "<xml>"...)
	out = appendElement(out, "Encrypt", encrypted)
	out = appendElement(out, "MsgSignature", signatureString(c.token, ts, nonce, encrypted))
	out = appendRaw(out, "TimeStamp", ts)
	out = appendElement(out, "Nonce", nonce)
	return append(out, "</xml>"...), nil
}

// encrypt returns base64(AES-CBC(random | length | msg | AppID)).
func (c *Callback) encrypt(msg []byte) (string, error) {
	if c.key == nil {
		return "", fmt.Errorf("%w: safe mode needs an EncodingAESKey", ErrConfig)
	}
	var random [16]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", fmt.Errorf("read random bytes for the AES message header: %w", err)
	}
	return base64.StdEncoding.EncodeToString(util.AESEncryptMsg(random[:], msg, c.appID, c.key)), nil
}

func randomNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return strconv.FormatUint(binary.BigEndian.Uint64(b[:]), 10)
}
