package officialaccount

import (
	"net/url"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// Tencent's published callback test account.
const (
	testAppID  = "wx5823bf96d3bd56c7"
	testToken  = "QDG6eK"
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	testTS     = "1700000000"
	testNonce  = "263014780"
)

var testNow = time.Unix(1700000000, 0)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// newTestCallback builds a Callback on the test account; aesKey "" means
// plain mode only. It accepts both modes, so tests can compare them;
// TestSafeModeAccountRefusesPlainRequests covers the default.
func newTestCallback(t testing.TB, aesKey string) *Callback {
	t.Helper()
	c, err := NewCallback(CallbackConfig{AppID: testAppID, Token: testToken, EncodingAESKey: aesKey, Now: fixedClock(testNow), AllowPlain: true})
	if err != nil {
		t.Fatalf("NewCallback: %v", err)
	}
	return c
}

// plainQuery signs a plain-mode request with the SDK's signature function,
// an implementation independent of the one under test.
func plainQuery(token, ts, nonce string) url.Values {
	return url.Values{
		"timestamp": {ts},
		"nonce":     {nonce},
		"signature": {util.Signature(token, ts, nonce)},
		"openid":    {"oUser"},
	}
}

// sealWithSDK builds a safe-mode request with the SDK alone, so Decode is not
// only tested against its own Seal.
func sealWithSDK(t testing.TB, appID, token, aesKey, ts, nonce string, plain []byte) ([]byte, url.Values) {
	t.Helper()
	encrypted, err := util.EncryptMsg([]byte("0123456789abcdef"), plain, appID, aesKey)
	if err != nil {
		t.Fatalf("EncryptMsg: %v", err)
	}
	body := []byte("<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[" + string(encrypted) + "]]></Encrypt></xml>")
	q := url.Values{
		"timestamp":     {ts},
		"nonce":         {nonce},
		"signature":     {util.Signature(token, ts, nonce)},
		"msg_signature": {util.Signature(token, ts, nonce, string(encrypted))},
		"encrypt_type":  {"aes"},
	}
	return body, q
}
