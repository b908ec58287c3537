package wecom

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2/util"
)

func TestNewCallbackValidates(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*CallbackConfig)
		wantMsg string // empty: accepted
	}{
		{"valid", func(*CallbackConfig) {}, ""},
		{"empty token", func(c *CallbackConfig) { c.Token = "" }, "Token is empty"},
		{"empty corp id", func(c *CallbackConfig) { c.CorpID = "" }, "CorpID is empty"},
		{"key too short", func(c *CallbackConfig) { c.EncodingAESKey = testAESKey[:42] }, "has 42 characters"},
		{"key with padding", func(c *CallbackConfig) { c.EncodingAESKey = testAESKey[:42] + "=" }, "32-byte key"},
		{"key not base64", func(c *CallbackConfig) { c.EncodingAESKey = "*" + testAESKey[1:] }, "32-byte key"},
		{"negative skew", func(c *CallbackConfig) { c.MaxSkew = -time.Second }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := CallbackConfig{Token: testToken, EncodingAESKey: testAESKey, CorpID: testCorpID}
			tt.edit(&cfg)
			c, err := NewCallback(cfg)
			if tt.wantMsg == "" {
				if err != nil || c == nil {
					t.Fatalf("NewCallback = %v, %v; want a callback", c, err)
				}
				if c.maxSkew != defaultMaxSkew || c.now == nil {
					t.Errorf("defaults: maxSkew %s, now set %v; want %s and a clock", c.maxSkew, c.now != nil, defaultMaxSkew)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("NewCallback error = %v; want ErrConfig mentioning %q", err, tt.wantMsg)
			}
		})
	}
}

// Tencent's published URL-check vector, end to end.
func TestVerifyURLTencentVector(t *testing.T) {
	const (
		sig     = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
		ts      = "1409659589"
		nonce   = "263014780"
		echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	)
	at2014 := func(c *CallbackConfig) { c.Now = func() time.Time { return time.Unix(1409659589+30, 0) } }
	c := newTestCallback(t, at2014)
	got, err := c.VerifyURL(sig, ts, nonce, echostr)
	if err != nil {
		t.Fatalf("VerifyURL: %v", err)
	}
	if diff := cmp.Diff("1616140317555161061", string(got)); diff != "" {
		t.Errorf("echo (-want +got):\n%s", diff)
	}

	rejects := []struct {
		name               string
		c                  *Callback
		sig, ts, nonce, es string
		want               error
	}{
		{"forged signature", c, "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4", ts, nonce, echostr, ErrSignature},
		{"other nonce", c, sig, ts, "263014781", echostr, ErrSignature},
		{"today's clock", newTestCallback(t), sig, ts, nonce, echostr, ErrStale},
		{"other corp", newTestCallback(t, at2014, func(c *CallbackConfig) { c.CorpID = "ww0000000000000000" }), sig, ts, nonce, echostr, ErrDecrypt},
	}
	for _, tt := range rejects {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.c.VerifyURL(tt.sig, tt.ts, tt.nonce, tt.es); !errors.Is(err, tt.want) {
				t.Errorf("VerifyURL error = %v, want %v", err, tt.want)
			}
		})
	}
}

// cbcSeal encrypts a hand-built plaintext block sequence, for ciphertexts
// that AESEncryptMsg would never produce.
func cbcSeal(t *testing.T, plaintext []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(testAESKey + "=")
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(plaintext))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plaintext)
	return base64.StdEncoding.EncodeToString(out)
}

// layout builds random | length | msg | receiveID | padding with the given
// length field and padding byte.
func layout(length uint32, msg, receiveID string, pad byte) []byte {
	b := make([]byte, 16, 64)
	b = binary.BigEndian.AppendUint32(b, length)
	b = append(b, msg...)
	b = append(b, receiveID...)
	n := 32 - len(b)%32
	for i := 0; i < n; i++ {
		b = append(b, pad)
	}
	return b
}

func TestDecodeRejects(t *testing.T) {
	c := newTestCallback(t)
	const plain = `<xml><FromUserName>lisi</FromUserName><CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>`
	body, sig := seal(t, c, plain)
	encrypt := string(body[len("<xml><Encrypt><![CDATA["):strings.Index(string(body), "]]></Encrypt>")])

	type request struct {
		sig, ts, nonce string
		body           []byte
	}
	signed := func(encrypt string) request {
		b, s := envelope(encrypt)
		return request{s, testTS, testNonce, b}
	}
	otherCorp := newTestCallback(t, func(c *CallbackConfig) { c.CorpID = "ww0000000000000000" })
	otherBody, otherSig := seal(t, otherCorp, plain)
	forged := []byte(sig)
	forged[0] ^= 1

	tests := []struct {
		name string
		req  request
		want error
	}{
		{"forged signature", request{string(forged), testTS, testNonce, body}, ErrSignature},
		{"missing signature", request{"", testTS, testNonce, body}, ErrSignature},
		{"short signature", request{sig[:39], testTS, testNonce, body}, ErrSignature},
		{"upper-case signature", request{strings.ToUpper(sig), testTS, testNonce, body}, ErrSignature},
		{"signature of another timestamp", request{sig, "1700000001", testNonce, body}, ErrSignature},
		{"altered ciphertext", func() request {
			altered := []byte(encrypt)
			if altered[20] == 'A' {
				altered[20] = 'B'
			} else {
				altered[20] = 'A'
			}
			r := signed(string(altered))
			r.sig = sig
			return r
		}(), ErrSignature},
		{"stale timestamp", func() request {
			b, s, _ := c.Seal([]byte(plain), "1699999699", testNonce)
			return request{s, "1699999699", testNonce, b}
		}(), ErrStale},
		{"future timestamp", func() request {
			b, s, _ := c.Seal([]byte(plain), "1700000301", testNonce)
			return request{s, "1700000301", testNonce, b}
		}(), ErrStale},
		{"missing timestamp", func() request {
			b, _ := envelope(encrypt)
			return request{util.Signature(testToken, "", testNonce, encrypt), "", testNonce, b}
		}(), ErrStale},
		{"non-numeric timestamp", func() request {
			b, _ := envelope(encrypt)
			return request{util.Signature(testToken, "17e8", testNonce, encrypt), "17e8", testNonce, b}
		}(), ErrStale},
		{"wrong corp id", request{otherSig, testTS, testNonce, otherBody}, ErrDecrypt},
		{"truncated ciphertext", signed(encrypt[:len(encrypt)-8]), ErrDecrypt},
		{"bad base64", signed("!!" + encrypt[2:]), ErrDecrypt},
		{"one block short", signed(base64.StdEncoding.EncodeToString(make([]byte, 16))), ErrDecrypt},
		{"length field swallows ReceiveId", signed(cbcSeal(t, layout(uint32(len(plain)+len(testCorpID)), plain, testCorpID, 2))), ErrDecrypt},
		{"length field too small", signed(cbcSeal(t, layout(uint32(len(plain)-1), plain, testCorpID, 2))), ErrDecrypt},
		{"padding zero", signed(cbcSeal(t, layout(uint32(len(plain)), plain, testCorpID, 0))), ErrDecrypt},
		{"padding above block", signed(cbcSeal(t, layout(uint32(len(plain)), plain, testCorpID, 33))), ErrDecrypt},
		{"length field past the end", signed(cbcSeal(t, layout(1<<20, plain, testCorpID, 0))), ErrDecrypt},
		{"body not XML", request{sig, testTS, testNonce, []byte("Encrypt=" + encrypt)}, ErrMalformed},
		{"body without Encrypt", request{sig, testTS, testNonce, []byte("<xml><ToUserName>ww1</ToUserName></xml>")}, ErrMalformed},
		{"two Encrypt elements", func() request {
			b, s := envelope(encrypt)
			return request{s, testTS, testNonce, []byte(strings.Replace(string(b), "<AgentID>", "<Encrypt>x</Encrypt><AgentID>", 1))}
		}(), ErrMalformed},
		{"malformed inner XML", func() request {
			b, s := seal(t, c, "<xml><MsgType>text</MsgType>")
			return request{s, testTS, testNonce, b}
		}(), ErrMalformed},
		{"unsupported type", func() request {
			b, s := seal(t, c, "<xml><CreateTime>1700000000</CreateTime><MsgType>event</MsgType><Event>change_contact</Event></xml>")
			return request{s, testTS, testNonce, b}
		}(), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Decode(tt.req.sig, tt.req.ts, tt.req.nonce, tt.req.body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
		})
	}
}

// The entity-escaped Encrypt text is what WeCom signed once unescaped; the
// decoder must verify and open the unescaped form.
func TestDecodeEscapedEnvelope(t *testing.T) {
	c := newTestCallback(t)
	const plain = `<xml><FromUserName>lisi</FromUserName><CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>7</MsgId></xml>`
	body, sig := seal(t, c, plain)
	s := string(body)
	encrypt := s[len("<xml><Encrypt><![CDATA["):strings.Index(s, "]]></Encrypt>")]
	escape := strings.NewReplacer("+", "&#43;", "/", "&#x2F;").Replace
	mixed := []byte("<xml><Encrypt>" + escape(encrypt[:40]) + "<![CDATA[" + encrypt[40:] + "]]></Encrypt><AgentID>1&amp;2</AgentID></xml>")
	ev, err := c.Decode(sig, testTS, testNonce, mixed)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if diff := cmp.Diff("wecom:msg:7", ev.ID); diff != "" {
		t.Errorf("ID (-want +got):\n%s", diff)
	}
}

// Seal must produce what the SDK (and so WeCom) can open and verify.
func TestSealInteroperatesWithSDK(t *testing.T) {
	c := newTestCallback(t)
	const plain = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content></xml>"
	body, sig := seal(t, c, plain)
	s := string(body)
	encrypt := s[len("<xml><Encrypt><![CDATA["):strings.Index(s, "]]></Encrypt>")]
	if want := util.Signature(testToken, testTS, testNonce, encrypt); sig != want {
		t.Errorf("signature = %s, want %s", sig, want)
	}
	_, got, err := util.DecryptMsg(testCorpID, encrypt, testAESKey)
	if err != nil {
		t.Fatalf("util.DecryptMsg: %v", err)
	}
	if diff := cmp.Diff(plain, string(got)); diff != "" {
		t.Errorf("plaintext (-want +got):\n%s", diff)
	}
	wantTail := "]]></Encrypt><MsgSignature><![CDATA[" + sig + "]]></MsgSignature><TimeStamp>" + testTS +
		"</TimeStamp><Nonce><![CDATA[" + testNonce + "]]></Nonce></xml>"
	if !strings.HasSuffix(s, wantTail) {
		t.Errorf("body = %s, want the passive-reply envelope ending %s", s, wantTail)
	}
}

func TestSealRejectsUnsafeInput(t *testing.T) {
	c := newTestCallback(t)
	for _, tt := range []struct{ ts, nonce string }{
		{"", testNonce}, {"17e8", testNonce}, {testTS, ""}, {testTS, "a]]>b"}, {testTS, "a b"},
	} {
		if _, _, err := c.Seal([]byte("<xml/>"), tt.ts, tt.nonce); err == nil {
			t.Errorf("Seal(ts %q, nonce %q) succeeded, want an error", tt.ts, tt.nonce)
		}
	}
}

func TestSignatureMatchesSDK(t *testing.T) {
	c := newTestCallback(t)
	tests := []struct{ ts, nonce, encrypt string }{
		{testTS, testNonce, "AAAA"},
		{"", "", ""},
		{"QDG6eK", "QDG6eK", "QDG6eK"},
		{"zzz", "0", "Q"},
		{"1409659589", "263014780", "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="},
		{"a", "QDG6eKa", "QDG6e"},
		{strings.Repeat("9", 100), strings.Repeat("x", 3000), strings.Repeat("/", 70000)},
	}
	sp := c.getScratch()
	for _, tt := range tests {
		got := c.signature(tt.ts, tt.nonce, []byte(tt.encrypt), sp)
		if want := util.Signature(testToken, tt.ts, tt.nonce, tt.encrypt); string(got[:]) != want {
			t.Errorf("signature(%.20q, %.20q, %.20q) = %s, want %s", tt.ts, tt.nonce, tt.encrypt, got, want)
		}
	}
}
