package main

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2/util"
)

// Tencent's published vector for the WeCom URL check.
func TestTencentVector(t *testing.T) {
	const echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	if !wxSignatureOK("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "QDG6eK", "1409659589", "263014780", echostr) {
		t.Fatalf("signature of the published vector does not verify: got %s", wxSignature("QDG6eK", "1409659589", "263014780", echostr))
	}
	key, err := decodeAESKey(tencentAESKey)
	if err != nil {
		t.Fatal(err)
	}
	msg, rid, err := decryptMsg(key, echostr)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1616140317555161061", "wx5823bf96d3bd56c7"}, []string{string(msg), rid}); diff != "" {
		t.Errorf("decrypt (-want +got):\n%s", diff)
	}
}

// The SDK's util must read what the sandbox encrypts and the other way round.
func TestCryptoMatchesSDK(t *testing.T) {
	key, _ := decodeAESKey(oaAESKey)
	random := []byte("0123456789abcdef")
	for _, msg := range []string{"", "a", "<xml><Content><![CDATA[你好]]></Content></xml>", string(make([]byte, 31)), string(make([]byte, 32))} {
		ours, err := encryptMsg(key, "wx_app", []byte(msg), random)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := util.EncryptMsg(random, []byte(msg), "wx_app", oaAESKey)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(theirs), ours); diff != "" {
			t.Errorf("ciphertext of %q (-sdk +ours):\n%s", msg, diff)
		}
		_, plain, err := util.DecryptMsg("wx_app", ours, oaAESKey)
		if err != nil || string(plain) != msg {
			t.Errorf("SDK decrypt of ours = %q, %v; want %q", plain, err, msg)
		}
	}
	if diff := cmp.Diff(util.Signature("a", "c", "b"), wxSignature("a", "c", "b")); diff != "" {
		t.Errorf("signature (-sdk +ours):\n%s", diff)
	}
}

func TestDecryptRejects(t *testing.T) {
	key, _ := decodeAESKey(oaAESKey)
	otherKey, _ := decodeAESKey(tencentAESKey)
	good, _ := encryptMsg(key, "wx_app", []byte("hello"), nil)
	tests := []struct {
		name, in string
		key      []byte
		want     error
	}{
		{"not base64", "%%%", key, ErrCiphertext},
		{"too short", "AAAA", key, ErrCiphertext},
		{"not a block multiple", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", key, ErrCiphertext},
		{"wrong key", good, otherKey, ErrCiphertext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decryptMsg(tt.key, tt.in)
			if !errors.Is(err, tt.want) {
				t.Errorf("decryptMsg error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeAESKey(t *testing.T) {
	for _, k := range []string{"", "short", tencentAESKey + "A", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"} {
		if _, err := decodeAESKey(k); !errors.Is(err, ErrAESKey) {
			t.Errorf("decodeAESKey(%q) error = %v, want ErrAESKey", k, err)
		}
	}
}

func FuzzDecryptMsg(f *testing.F) {
	key, _ := decodeAESKey(oaAESKey)
	good, _ := encryptMsg(key, "wx_app", []byte("<xml/>"), []byte("0123456789abcdef"))
	f.Add(good)
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Fuzz(func(t *testing.T, in string) {
		msg, rid, err := decryptMsg(key, in)
		if err != nil {
			return
		}
		again, err := encryptMsg(key, rid, msg, []byte("0123456789abcdef"))
		if err != nil {
			t.Fatalf("re-encrypt: %v", err)
		}
		msg2, rid2, err := decryptMsg(key, again)
		if err != nil || string(msg2) != string(msg) || rid2 != rid {
			t.Fatalf("round trip changed the message: %q %q %v", msg2, rid2, err)
		}
	})
}
