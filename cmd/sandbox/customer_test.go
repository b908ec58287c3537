package main

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2/util"
)

func TestDecodePassiveReply(t *testing.T) {
	key, _ := decodeAESKey(oaAESKey)
	textReply := `<xml><ToUserName><![CDATA[o1]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content></xml>`
	enc, _ := util.EncryptMsg([]byte("0123456789abcdef"), []byte(textReply), "wx_app", oaAESKey)
	sig := util.Signature("tok", "1700000000", "n1", string(enc))
	safe := `<xml><Encrypt><![CDATA[` + string(enc) + `]]></Encrypt><MsgSignature><![CDATA[` + sig + `]]></MsgSignature><TimeStamp>1700000000</TimeStamp><Nonce><![CDATA[n1]]></Nonce></xml>`
	emptyEnc, _ := util.EncryptMsg([]byte("0123456789abcdef"), nil, "wx_app", oaAESKey)
	emptySafe := `<xml><Encrypt><![CDATA[` + string(emptyEnc) + `]]></Encrypt><MsgSignature>` + util.Signature("tok", "1", "n", string(emptyEnc)) +
		`</MsgSignature><TimeStamp>1</TimeStamp><Nonce>n</Nonce></xml>`
	tests := []struct {
		name    string
		body    string
		key     []byte
		token   string
		receive string
		want    *passiveReply
		err     error
	}{
		{"success", "success", key, "tok", "wx_app", nil, nil},
		{"empty", "  ", nil, "tok", "wx_app", nil, nil},
		{"plain text", textReply, nil, "tok", "wx_app", &passiveReply{ToUserName: "o1", FromUserName: "gh", CreateTime: 1, MsgType: "text", Content: "你好"}, nil},
		{"safe text", safe, key, "tok", "wx_app", &passiveReply{ToUserName: "o1", FromUserName: "gh", CreateTime: 1, MsgType: "text", Content: "你好"}, nil},
		{"safe but plain", textReply, key, "tok", "wx_app", nil, ErrGateway},
		{"wrong token", safe, key, "other", "wx_app", nil, ErrSignature},
		{"wrong app", safe, key, "tok", "wx_other", nil, ErrReceiverID},
		{"encrypted empty", emptySafe, key, "tok", "wx_app", nil, ErrGateway},
		{"not xml", "<<<", nil, "tok", "wx_app", nil, ErrGateway},
		{"unknown type", `<xml><MsgType>dance</MsgType></xml>`, nil, "tok", "wx_app", nil, ErrGateway},
		{"empty text", `<xml><MsgType>text</MsgType></xml>`, nil, "tok", "wx_app", nil, ErrGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePassiveReply([]byte(tt.body), tt.key, tt.token, tt.receive)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestXMLDocEscapesCDATA(t *testing.T) {
	got := xmlDoc([2]string{"Content", "a]]>b"}, [2]string{"CreateTime", "12"}, [2]string{"Content", "7"})
	want := "<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content><CreateTime>12</CreateTime><Content><![CDATA[7]]></Content></xml>"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("xmlDoc (-want +got):\n%s", diff)
	}
	if m := flatXML([]byte(got)); m["Content"] != "a]]>b7" {
		t.Errorf("round trip Content = %q", m["Content"])
	}
}

func FuzzDecodePassiveReply(f *testing.F) {
	key, _ := decodeAESKey(oaAESKey)
	f.Add([]byte("success"), true)
	f.Add([]byte(`<xml><ToUserName>o</ToUserName><MsgType>text</MsgType><Content>x</Content></xml>`), false)
	f.Add([]byte(`<xml><Encrypt>AAAA</Encrypt><MsgSignature>x</MsgSignature></xml>`), true)
	f.Fuzz(func(t *testing.T, body []byte, safe bool) {
		k := key
		if !safe {
			k = nil
		}
		r, err := decodePassiveReply(body, k, "tok", "wx_app")
		if err == nil && r != nil && !passiveTypes[r.MsgType] {
			t.Fatalf("accepted reply type %q", r.MsgType)
		}
		if err != nil && !errors.Is(err, ErrGateway) {
			t.Fatalf("error %v is not ErrGateway", err)
		}
	})
}
