package officialaccount

import (
	"fmt"
	"net/url"

	"github.com/journeygate/gateway/channels"
)

// Seal turns plaintext message XML into the safe-mode request WeChat would
// send: the body (<ToUserName>, <Encrypt>) and the query (timestamp, nonce,
// signature, msg_signature, encrypt_type=aes, openid). Tests, benchmarks and
// the gateway's self-checks use it to exercise the real decode path. plain
// need not be valid XML, so malformed messages can be sealed too.
func (c *Callback) Seal(plain []byte, timestamp, nonce string) (body []byte, q url.Values, err error) {
	if c.key == nil {
		return nil, nil, fmt.Errorf("%w: Seal needs an EncodingAESKey", ErrConfig)
	}
	var account, openID string
	_ = channels.ScanXML(plain, func(name, value []byte) {
		switch string(name) {
		case "ToUserName":
			account = string(value)
		case "FromUserName":
			openID = string(value)
		}
	})
	encrypted, err := c.encrypt(plain)
	if err != nil {
		return nil, nil, err
	}
	body = append(body, "<xml>"...)
	body = appendElement(body, "ToUserName", account)
	body = appendElement(body, "Encrypt", encrypted)
	body = append(body, "</xml>"...)
	q = url.Values{
		"timestamp":     {timestamp},
		"nonce":         {nonce},
		"signature":     {signatureString(c.token, timestamp, nonce)},
		"msg_signature": {signatureString(c.token, timestamp, nonce, encrypted)},
		"encrypt_type":  {"aes"},
	}
	if openID != "" {
		q.Set("openid", openID)
	}
	return body, q, nil
}
