package officialaccount

import (
	"encoding/xml"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2/util"
)

type textReply struct {
	ToUserName, FromUserName string
	CreateTime               int64
	MsgType, Content         string
}

type safeReply struct {
	Encrypt, MsgSignature, TimeStamp, Nonce string
}

func decodeText(t *testing.T, c *Callback, q map[string][]string, body []byte) *Inbound {
	t.Helper()
	in, err := c.Decode(q, body)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return in
}

var replyTexts = []string{"您好，资料已发送 <见附件> & 谢谢", "a ]]> b ]]]]> c", "line1\nline2\t✓"}

func TestReplyPlain(t *testing.T) {
	c := newTestCallback(t, "")
	in := decodeText(t, c, plainQuery(testToken, testTS, testNonce), []byte(msgHead+`<MsgType>text</MsgType><Content>资料</Content><MsgId>1</MsgId></xml>`))
	for _, text := range replyTexts {
		out, err := c.Reply(in, text)
		if err != nil {
			t.Fatalf("Reply(%q): %v", text, err)
		}
		var got textReply
		if err := xml.Unmarshal(out, &got); err != nil {
			t.Fatalf("reply %s is not XML: %v", out, err)
		}
		want := textReply{ToUserName: "oUser", FromUserName: "gh_account", CreateTime: testNow.Unix(), MsgType: "text", Content: text}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("reply (-want +got):\n%s", diff)
		}
	}
}

func TestReplySafe(t *testing.T) {
	c := newTestCallback(t, testAESKey)
	body, q := sealWithSDK(t, testAppID, testToken, testAESKey, testTS, "nonce]]>x", []byte(msgHead+`<MsgType>text</MsgType><Content>资料</Content><MsgId>1</MsgId></xml>`))
	in := decodeText(t, c, q, body)
	for _, text := range replyTexts {
		out, err := c.Reply(in, text)
		if err != nil {
			t.Fatalf("Reply(%q): %v", text, err)
		}
		var outer safeReply
		if err := xml.Unmarshal(out, &outer); err != nil {
			t.Fatalf("reply %s is not XML: %v", out, err)
		}
		if diff := cmp.Diff(safeReply{Encrypt: outer.Encrypt, MsgSignature: util.Signature(testToken, testTS, "nonce]]>x", outer.Encrypt), TimeStamp: testTS, Nonce: "nonce]]>x"}, outer); diff != "" {
			t.Errorf("envelope (-want +got):\n%s", diff)
		}
		_, plain, err := util.DecryptMsg(testAppID, outer.Encrypt, testAESKey)
		if err != nil {
			t.Fatalf("SDK cannot decrypt the reply: %v", err)
		}
		var got textReply
		if err := xml.Unmarshal(plain, &got); err != nil {
			t.Fatalf("decrypted reply %s is not XML: %v", plain, err)
		}
		want := textReply{ToUserName: "oUser", FromUserName: "gh_account", CreateTime: testNow.Unix(), MsgType: "text", Content: text}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("decrypted reply (-want +got):\n%s", diff)
		}
	}
}

// TestReplyRefusesEmpty guards the SDK pitfall: an encrypted empty reply
// makes WeChat show the follower an error, so there must be no way to build one.
func TestReplyRefusesEmpty(t *testing.T) {
	c := newTestCallback(t, testAESKey)
	plainIn := decodeText(t, c, plainQuery(testToken, testTS, testNonce), []byte(msgHead+`<MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>`))
	body, q := sealWithSDK(t, testAppID, testToken, testAESKey, testTS, testNonce, []byte(msgHead+`<MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>`))
	safeIn := decodeText(t, c, q, body)
	for _, in := range []*Inbound{plainIn, safeIn} {
		for _, text := range []string{"", " \n\t", "bad \xff utf-8", "nul \x00", "bell \a"} {
			out, err := c.Reply(in, text)
			if !errors.Is(err, ErrBadReply) || out != nil {
				t.Errorf("Reply(safe=%v, %q) = %q, %v; want nil, ErrBadReply", in.Safe, text, out, err)
			}
		}
	}
	if out, err := c.Reply(nil, "hi"); !errors.Is(err, ErrBadReply) || out != nil {
		t.Errorf("Reply(nil) = %q, %v; want ErrBadReply", out, err)
	}
}
