package officialaccount

import (
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
)

const msgHead = `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1699999990</CreateTime>`

var at = time.Unix(1699999990, 0).UTC()

func contact() []channels.Identity {
	return []channels.Identity{{Kind: channels.OpenID, Value: "oUser"}}
}

func TestDecodeMapping(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		want channels.Event
	}{
		{"text", msgHead + `<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[我想了解价格]]></Content><MsgId>24037693947853543</MsgId></xml>`,
			channels.Event{ID: "oa:msg:24037693947853543", Type: channels.TypeMessage, Text: "我想了解价格",
				Props: map[string]string{"msg_type": "text", "msg_id": "24037693947853543"}}},
		{"text with entities", msgHead + `<MsgType>text</MsgType><Content>a &lt;b&gt; &amp; ]]&gt;</Content><MsgId>1</MsgId></xml>`,
			channels.Event{ID: "oa:msg:1", Type: channels.TypeMessage, Text: "a <b> & ]]>",
				Props: map[string]string{"msg_type": "text", "msg_id": "1"}}},
		{"image", msgHead + `<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz.qpic.cn/x.jpg]]></PicUrl><MediaId><![CDATA[media_1]]></MediaId><MsgId>2</MsgId></xml>`,
			channels.Event{ID: "oa:msg:2", Type: channels.TypeMessage,
				Props: map[string]string{"msg_type": "image", "msg_id": "2", "pic_url": "http://mmbiz.qpic.cn/x.jpg", "media_id": "media_1"}}},
		{"voice with recognition", msgHead + `<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[media_2]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[报名研讨会]]></Recognition><MsgId>3</MsgId></xml>`,
			channels.Event{ID: "oa:msg:3", Type: channels.TypeMessage, Text: "报名研讨会",
				Props: map[string]string{"msg_type": "voice", "msg_id": "3", "media_id": "media_2", "format": "amr"}}},
		{"voice without recognition", msgHead + `<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[media_3]]></MediaId><Format><![CDATA[speex]]></Format><Recognition><![CDATA[]]></Recognition><MsgId>4</MsgId></xml>`,
			channels.Event{ID: "oa:msg:4", Type: channels.TypeMessage,
				Props: map[string]string{"msg_type": "voice", "msg_id": "4", "media_id": "media_3", "format": "speex"}}},
		{"video", msgHead + `<MsgType><![CDATA[video]]></MsgType><MediaId><![CDATA[media_4]]></MediaId><ThumbMediaId><![CDATA[thumb_4]]></ThumbMediaId><MsgId>5</MsgId></xml>`,
			channels.Event{ID: "oa:msg:5", Type: channels.TypeMessage,
				Props: map[string]string{"msg_type": "video", "msg_id": "5", "media_id": "media_4", "thumb_media_id": "thumb_4"}}},
		{"shortvideo", msgHead + `<MsgType><![CDATA[shortvideo]]></MsgType><MediaId><![CDATA[media_5]]></MediaId><ThumbMediaId><![CDATA[thumb_5]]></ThumbMediaId><MsgId>6</MsgId></xml>`,
			channels.Event{ID: "oa:msg:6", Type: channels.TypeMessage,
				Props: map[string]string{"msg_type": "shortvideo", "msg_id": "6", "media_id": "media_5", "thumb_media_id": "thumb_5"}}},
		{"location", msgHead + `<MsgType><![CDATA[location]]></MsgType><Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[广州市天河区]]></Label><MsgId>7</MsgId></xml>`,
			channels.Event{ID: "oa:msg:7", Type: channels.TypeMessage, Text: "广州市天河区",
				Props: map[string]string{"msg_type": "location", "msg_id": "7", "location_x": "23.134521", "location_y": "113.358803", "scale": "20", "label": "广州市天河区"}}},
		{"link", msgHead + `<MsgType><![CDATA[link]]></MsgType><Title><![CDATA[白皮书]]></Title><Description><![CDATA[2026 趋势]]></Description><Url><![CDATA[https://example.com/wp]]></Url><MsgId>8</MsgId></xml>`,
			channels.Event{ID: "oa:msg:8", Type: channels.TypeMessage, Text: "白皮书",
				Props: map[string]string{"msg_type": "link", "msg_id": "8", "title": "白皮书", "description": "2026 趋势", "url": "https://example.com/wp"}}},
		{"subscribe from search", msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>`,
			channels.Event{ID: "oa:ev:oUser:1699999990:subscribe", Type: channels.TypeSubscribe, Props: map[string]string{}}},
		{"subscribe from QR code", msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_expo2026]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>`,
			channels.Event{ID: "oa:ev:oUser:1699999990:subscribe", Type: channels.TypeSubscribe,
				Props: map[string]string{"scene": "expo2026", "ticket": "TICKET"}}},
		{"unsubscribe", msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>`,
			channels.Event{ID: "oa:ev:oUser:1699999990:unsubscribe", Type: channels.TypeUnsubscribe, Props: map[string]string{}}},
		{"scan by a follower", msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[expo2026]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>`,
			channels.Event{ID: "oa:ev:oUser:1699999990:SCAN", Type: channels.TypeScan,
				Props: map[string]string{"scene": "expo2026", "ticket": "TICKET"}}},
		{"menu click", msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[V1001_PRICING]]></EventKey></xml>`,
			channels.Event{ID: "oa:ev:oUser:1699999990:CLICK", Type: channels.TypeMenuClick, Props: map[string]string{"key": "V1001_PRICING"}}},
		{"menu view", msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[https://example.com/?a=1&b=2]]></EventKey><MenuId>42</MenuId></xml>`,
			channels.Event{ID: "oa:ev:oUser:1699999990:VIEW", Type: channels.TypeMenuView, Props: map[string]string{"url": "https://example.com/?a=1&b=2"}}},
		{"template send finished", msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200163836</MsgID><Status><![CDATA[failed:user block]]></Status></xml>`,
			channels.Event{ID: "oa:tpl:200163836", Type: channels.TypeTemplateSendFinished,
				Props: map[string]string{"msg_id": "200163836", "status": "failed:user block"}}},
		{"location report", msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[LOCATION]]></Event><Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision></xml>`,
			channels.Event{ID: "oa:ev:oUser:1699999990:LOCATION", Type: channels.TypeMessage,
				Props: map[string]string{"msg_type": "location_report", "latitude": "23.137466", "longitude": "113.352425", "precision": "119.385040"}}},
	}
	plainOnly := newTestCallback(t, "")
	withKey := newTestCallback(t, testAESKey)
	for _, tt := range tests {
		want := &Inbound{Event: tt.want, Account: "gh_account", OpenID: "oUser", timestamp: testTS, nonce: testNonce}
		want.Event.Source = channels.OfficialAccount
		want.Event.At = at
		want.Event.Contact = contact()
		t.Run(tt.name+"/plain", func(t *testing.T) {
			// Plain mode needs no key, and a configured key must not change it.
			for _, c := range []*Callback{plainOnly, withKey} {
				got, err := c.Decode(plainQuery(testToken, testTS, testNonce), []byte(tt.xml))
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(Inbound{})); diff != "" {
					t.Errorf("Decode (-want +got):\n%s", diff)
				}
			}
		})
		t.Run(tt.name+"/safe", func(t *testing.T) {
			safeWant := *want
			safeWant.Safe = true
			body, q := sealWithSDK(t, testAppID, testToken, testAESKey, testTS, testNonce, []byte(tt.xml))
			got, err := withKey.Decode(q, body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(&safeWant, got, cmp.AllowUnexported(Inbound{})); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	text := msgHead + `<MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>`
	c := newTestCallback(t, testAESKey)
	seal := func(plain string) ([]byte, url.Values) {
		return sealWithSDK(t, testAppID, testToken, testAESKey, testTS, testNonce, []byte(plain))
	}
	with := func(q url.Values, key, value string) url.Values {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		if value == "" {
			q2.Del(key)
		} else {
			q2.Set(key, value)
		}
		return q2
	}
	safeBody, safeQ := seal(text)
	otherAppBody, otherAppQ := sealWithSDK(t, "wx0000000000000000", testToken, testAESKey, testTS, testNonce, []byte(text))
	otherKeyBody, otherKeyQ := sealWithSDK(t, testAppID, testToken, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", testTS, testNonce, []byte(text))
	staleQ := plainQuery(testToken, "1699999000", testNonce)
	futureQ := plainQuery(testToken, "1700000400", testNonce)
	staleSafeBody, staleSafeQ := sealWithSDK(t, testAppID, testToken, testAESKey, "1699999000", testNonce, []byte(text))
	junkEncrypt := "bm90IHJlYWxseSBhIGNpcGhlcnRleHQgYnV0IGJhc2U2NCAhISEh"
	notBase64 := "@@@not-base64@@@"

	tests := []struct {
		name string
		c    *Callback
		q    url.Values
		body string
		want error
	}{
		{"forged plain signature", c, with(plainQuery(testToken, testTS, testNonce), "signature", strings.Repeat("0", 40)), text, ErrSignature},
		{"plain signature by another token", c, plainQuery("otherToken", testTS, testNonce), text, ErrSignature},
		{"no signature", c, with(plainQuery(testToken, testTS, testNonce), "signature", ""), text, ErrSignature},
		{"signature over another nonce", c, with(plainQuery(testToken, testTS, testNonce), "nonce", "1"), text, ErrSignature},
		{"stale plain timestamp", c, staleQ, text, ErrStale},
		{"future plain timestamp", c, futureQ, text, ErrStale},
		{"timestamp not a number", c, plainQuery(testToken, "17e8", testNonce), text, ErrMalformed},
		{"forged msg_signature", c, with(safeQ, "msg_signature", strings.Repeat("a", 40)), string(safeBody), ErrSignature},
		{"no msg_signature", c, with(safeQ, "msg_signature", ""), string(safeBody), ErrSignature},
		{"plain signature does not stand in for msg_signature", c, with(safeQ, "msg_signature", safeQ.Get("signature")), string(safeBody), ErrSignature},
		{"stale safe timestamp", c, staleSafeQ, string(staleSafeBody), ErrStale},
		{"wrong AppID", c, otherAppQ, string(otherAppBody), ErrDecrypt},
		{"wrong AES key", c, otherKeyQ, string(otherKeyBody), ErrDecrypt},
		{"safe request without AES key", newTestCallback(t, ""), safeQ, string(safeBody), ErrDecrypt},
		{"signed Encrypt that is not base64", c,
			url.Values{"timestamp": {testTS}, "nonce": {testNonce}, "encrypt_type": {"aes"}, "msg_signature": {util.Signature(testToken, testTS, testNonce, notBase64)}},
			"<xml><Encrypt>" + notBase64 + "</Encrypt></xml>", ErrDecrypt},
		{"signed Encrypt that is not a ciphertext", c,
			url.Values{"timestamp": {testTS}, "nonce": {testNonce}, "encrypt_type": {"aes"}, "msg_signature": {util.Signature(testToken, testTS, testNonce, junkEncrypt)}},
			"<xml><Encrypt>" + junkEncrypt + "</Encrypt></xml>", ErrDecrypt},
		{"safe body without Encrypt", c, safeQ, "<xml><ToUserName>gh</ToUserName></xml>", ErrMalformed},
		{"safe body not XML", c, safeQ, "Encrypt=abc", ErrMalformed},
		{"unknown encrypt_type", c, with(plainQuery(testToken, testTS, testNonce), "encrypt_type", "sm4"), text, ErrMalformed},
		{"malformed plain XML", c, plainQuery(testToken, testTS, testNonce), `<xml><MsgType>text</xml>`, ErrMalformed},
		{"empty plain body", c, plainQuery(testToken, testTS, testNonce), ``, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.Decode(tt.q, []byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %+v, %v; want %v", got, err, tt.want)
			}
			if got != nil {
				t.Errorf("Decode returned %+v with its error", got)
			}
		})
	}
}

// TestDecodeRejectsContent feeds correctly signed requests whose message is
// wrong, in both modes: the signature is no licence for bad content.
func TestDecodeRejectsContent(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		want error
	}{
		{"not XML", `text=hi`, ErrMalformed},
		{"unterminated", msgHead + `<MsgType>text`, ErrMalformed},
		{"empty", ``, ErrMalformed},
		{"no FromUserName", `<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>`, ErrMalformed},
		{"no ToUserName", `<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>`, ErrMalformed},
		{"no MsgType", msgHead + `<Content>hi</Content><MsgId>1</MsgId></xml>`, ErrMalformed},
		{"no CreateTime", `<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><MsgType>text</MsgType><MsgId>1</MsgId></xml>`, ErrMalformed},
		{"CreateTime not a number", `<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>-1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>`, ErrMalformed},
		{"message without MsgId", msgHead + `<MsgType>text</MsgType><Content>hi</Content></xml>`, ErrMalformed},
		{"MsgId not a number", msgHead + `<MsgType>text</MsgType><Content>hi</Content><MsgId>1:2</MsgId></xml>`, ErrMalformed},
		{"event without Event", msgHead + `<MsgType>event</MsgType></xml>`, ErrMalformed},
		{"template result without MsgID", msgHead + `<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgId>5</MsgId><Status>success</Status></xml>`, ErrMalformed},
		{"unsupported message type", msgHead + `<MsgType>miniprogrampage</MsgType><Title>x</Title><MsgId>1</MsgId></xml>`, ErrUnsupported},
		{"unsupported event", msgHead + `<MsgType>event</MsgType><Event>scancode_push</Event><EventKey>k</EventKey><ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>1</ScanResult></ScanCodeInfo></xml>`, ErrUnsupported},
		{"event names are case-sensitive", msgHead + `<MsgType>event</MsgType><Event>Subscribe</Event></xml>`, ErrUnsupported},
	}
	c := newTestCallback(t, testAESKey)
	for _, tt := range tests {
		t.Run(tt.name+"/plain", func(t *testing.T) {
			got, err := c.Decode(plainQuery(testToken, testTS, testNonce), []byte(tt.xml))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %+v, %v; want %v", got, err, tt.want)
			}
		})
		t.Run(tt.name+"/safe", func(t *testing.T) {
			body, q := sealWithSDK(t, testAppID, testToken, testAESKey, testTS, testNonce, []byte(tt.xml))
			got, err := c.Decode(q, body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %+v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestDecodeTencentVector runs Tencent's published encrypted sample through
// the safe-mode path: its signature and ciphertext must pass, and only the
// payload (a bare number, not a message) is refused.
func TestDecodeTencentVector(t *testing.T) {
	c, err := NewCallback(CallbackConfig{AppID: testAppID, Token: testToken, EncodingAESKey: testAESKey, Now: fixedClock(time.Unix(1409659589, 0))})
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"msg_signature": {"5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"}, "timestamp": {"1409659589"}, "nonce": {"263014780"}, "encrypt_type": {"aes"}}
	body := "<xml><Encrypt><![CDATA[P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==]]></Encrypt></xml>"
	_, err = c.Decode(q, []byte(body))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "malformed XML") {
		t.Fatalf("Decode = %v, want the decrypted payload refused as malformed XML", err)
	}
	plain, err := c.open(q, "1409659589", "263014780", []byte(body))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if diff := cmp.Diff("1616140317555161061", string(plain)); diff != "" {
		t.Errorf("decrypted (-want +got):\n%s", diff)
	}
}

// TestDecodeCompatibleMode covers 兼容模式, where the body carries the message
// both in clear and encrypted: only the signed, encrypted copy counts.
func TestDecodeCompatibleMode(t *testing.T) {
	c := newTestCallback(t, testAESKey)
	genuine := msgHead + `<MsgType>text</MsgType><Content>real</Content><MsgId>1</MsgId></xml>`
	body, q := sealWithSDK(t, testAppID, testToken, testAESKey, testTS, testNonce, []byte(genuine))
	inClear := `<FromUserName>oForged</FromUserName><CreateTime>1699999990</CreateTime><MsgType>text</MsgType><Content>forged</Content><MsgId>2</MsgId>`
	compat := strings.Replace(string(body), "<Encrypt>", inClear+"<Encrypt>", 1)
	got, err := c.Decode(q, []byte(compat))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if diff := cmp.Diff([]string{"oUser", "real", "oa:msg:1"}, []string{got.OpenID, got.Event.Text, got.Event.ID}); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

func TestVerifyURL(t *testing.T) {
	c := newTestCallback(t, "")
	ok := plainQuery(testToken, testTS, testNonce)
	ok.Set("echostr", "8391029385123")
	stale := plainQuery(testToken, "1690000000", testNonce)
	stale.Set("echostr", "1")
	tests := []struct {
		name    string
		q       url.Values
		want    string
		wantErr error
	}{
		{"valid", ok, "8391029385123", nil},
		{"forged", url.Values{"timestamp": {testTS}, "nonce": {testNonce}, "signature": {util.Signature("guess", testTS, testNonce)}, "echostr": {"1"}}, "", ErrSignature},
		{"no signature", url.Values{"timestamp": {testTS}, "nonce": {testNonce}, "echostr": {"1"}}, "", ErrSignature},
		{"stale", stale, "", ErrStale},
		{"no echostr", plainQuery(testToken, testTS, testNonce), "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.VerifyURL(tt.q)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr != nil) != (err != nil) {
				t.Fatalf("VerifyURL error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("echostr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaxSkew(t *testing.T) {
	c, err := NewCallback(CallbackConfig{AppID: testAppID, Token: testToken, MaxSkew: 10 * time.Second, Now: fixedClock(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	text := []byte(msgHead + `<MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>`)
	for _, tt := range []struct {
		ts   string
		want error
	}{{"1699999990", nil}, {"1700000010", nil}, {"1699999989", ErrStale}, {"1700000011", ErrStale}} {
		_, err := c.Decode(plainQuery(testToken, tt.ts, testNonce), text)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("timestamp %s: Decode error = %v, want %v", tt.ts, err, tt.want)
		}
	}
}

func TestNewCallbackRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  CallbackConfig
	}{
		{"no AppID", CallbackConfig{Token: testToken}},
		{"no Token", CallbackConfig{AppID: testAppID}},
		{"short AES key", CallbackConfig{AppID: testAppID, Token: testToken, EncodingAESKey: "abc"}},
		{"AES key not base64", CallbackConfig{AppID: testAppID, Token: testToken, EncodingAESKey: strings.Repeat("!", 43)}},
		{"negative MaxSkew", CallbackConfig{AppID: testAppID, Token: testToken, MaxSkew: -time.Second}},
	} {
		if _, err := NewCallback(tt.cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: NewCallback error = %v, want ErrConfig", tt.name, err)
		}
	}
}

func TestSignatureMatchesSDK(t *testing.T) {
	for _, parts := range [][]string{
		{testToken, testTS, testNonce},
		{testToken, "1409659589", "263014780", "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="},
		{"", "", ""},
		{"b", "a", "c", "a"},
	} {
		want := util.Signature(append([]string(nil), parts...)...)
		if diff := cmp.Diff(want, signatureString(parts...)); diff != "" {
			t.Errorf("signature%q (-want +got):\n%s", parts, diff)
		}
	}
	if got := signatureString(testToken, "1409659589", "263014780", "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="); got != "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3" {
		t.Errorf("Tencent vector signature = %s", got)
	}
}

func TestSeal(t *testing.T) {
	c := newTestCallback(t, testAESKey)
	plain := []byte(msgHead + `<MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>`)
	body, q, err := c.Seal(plain, testTS, testNonce)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	var outer struct{ ToUserName, Encrypt string }
	if err := xml.Unmarshal(body, &outer); err != nil {
		t.Fatalf("sealed body is not XML: %v", err)
	}
	wantQ := url.Values{
		"timestamp":     {testTS},
		"nonce":         {testNonce},
		"signature":     {util.Signature(testToken, testTS, testNonce)},
		"msg_signature": {util.Signature(testToken, testTS, testNonce, outer.Encrypt)},
		"encrypt_type":  {"aes"},
		"openid":        {"oUser"},
	}
	if diff := cmp.Diff(wantQ, q); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if outer.ToUserName != "gh_account" {
		t.Errorf("ToUserName = %q, want gh_account", outer.ToUserName)
	}
	_, got, err := util.DecryptMsg(testAppID, outer.Encrypt, testAESKey)
	if err != nil {
		t.Fatalf("SDK cannot decrypt the sealed message: %v", err)
	}
	if diff := cmp.Diff(string(plain), string(got)); diff != "" {
		t.Errorf("decrypted (-want +got):\n%s", diff)
	}
	if _, err := c.Decode(q, body); err != nil {
		t.Errorf("Decode of a sealed request: %v", err)
	}
	if _, _, err := newTestCallback(t, "").Seal(plain, testTS, testNonce); !errors.Is(err, ErrConfig) {
		t.Errorf("Seal without a key: error = %v, want ErrConfig", err)
	}
}

func TestSafeModeAccountRefusesPlainRequests(t *testing.T) {
	c, err := NewCallback(CallbackConfig{AppID: testAppID, Token: testToken, EncodingAESKey: testAESKey, Now: fixedClock(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	// A correctly signed plain query: its signature covers no body, so any body could ride on it.
	msg := `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oVictim]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>`
	if _, err := c.Decode(plainQuery(testToken, testTS, testNonce), []byte(msg)); !errors.Is(err, ErrSignature) {
		t.Fatalf("plain request to a safe-mode account: %v, want ErrSignature", err)
	}
}
