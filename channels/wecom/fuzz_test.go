package wecom

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
)

func isCallbackError(err error) bool {
	for _, s := range []error{ErrSignature, ErrStale, ErrDecrypt, ErrMalformed, ErrUnsupported} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func checkEvent(t *testing.T, ev channels.Event) {
	t.Helper()
	if ev.Source != channels.WeCom || ev.Type == "" || ev.At.Unix() <= 0 ||
		!(strings.HasPrefix(ev.ID, "wecom:msg:") || strings.HasPrefix(ev.ID, "wecom:ev:")) {
		t.Fatalf("accepted an incomplete event: %+v", ev)
	}
}

// FuzzDecode feeds whole requests to Decode. Whatever it accepts must carry
// a signature that the SDK's own Signature confirms over the Encrypt text.
func FuzzDecode(f *testing.F) {
	c := newTestCallback(f)
	for _, s := range samples() {
		body, sig := seal(f, c, s.plain)
		f.Add(sig, testTS, testNonce, body)
	}
	body, sig := seal(f, c, samples()[0].plain)
	f.Add(sig, testTS, testNonce, bytes.Replace(body, []byte("<Encrypt>"), []byte("<Encrypt>\n"), 1))
	staleBody, staleSig, err := c.Seal([]byte(samples()[0].plain), "1699990000", testNonce)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(staleSig, "1699990000", testNonce, staleBody)
	f.Add("", "", "", []byte("<xml><Encrypt></Encrypt></xml>"))

	f.Fuzz(func(t *testing.T, msgSignature, timestamp, nonce string, body []byte) {
		ev, err := c.Decode(msgSignature, timestamp, nonce, body)
		if err != nil {
			if !isCallbackError(err) {
				t.Fatalf("Decode error %v wraps none of the sentinels", err)
			}
			return
		}
		var encrypt []string
		if err := channels.ScanXML(body, func(name, value []byte) {
			if string(name) == "Encrypt" {
				encrypt = append(encrypt, string(value))
			}
		}); err != nil || len(encrypt) != 1 {
			t.Fatalf("accepted a body whose Encrypt elements are %q (scan error %v)", encrypt, err)
		}
		if want := util.Signature(testToken, timestamp, nonce, encrypt[0]); msgSignature != want {
			t.Fatalf("accepted msg_signature %q, the SDK computes %q", msgSignature, want)
		}
		checkEvent(t, ev)
	})
}

// FuzzDecodeInner feeds decrypted plaintexts to the message parser: it must
// never panic, must fail only with ErrMalformed or ErrUnsupported, and what
// it returns must not change when the input buffer is later reused.
func FuzzDecodeInner(f *testing.F) {
	for _, s := range samples() {
		f.Add([]byte(s.plain))
	}
	f.Add([]byte(`<xml><MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>x</ChangeType></xml>`))
	f.Add([]byte(`<xml><A>&#x4F60;<![CDATA[b]]></A><Content>x&amp;y</Content></xml>`))

	f.Fuzz(func(t *testing.T, doc []byte) {
		buf := bytes.Clone(doc)
		ev, err := decodeInner(buf)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("decodeInner error %v is neither ErrMalformed nor ErrUnsupported", err)
			}
			return
		}
		checkEvent(t, ev)
		for i := range buf {
			buf[i] = 'x'
		}
		again, err := decodeInner(doc)
		if err != nil {
			t.Fatalf("second decode failed: %v", err)
		}
		if diff := cmp.Diff(again, ev); diff != "" {
			t.Fatalf("event changed when its input buffer was reused (-fresh +first):\n%s", diff)
		}
	})
}
