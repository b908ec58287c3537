package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseACS3Authorization(t *testing.T) {
	tests := []struct {
		in   string
		want acs3Auth
		err  error
	}{
		{"ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;x-acs-date,Signature=abc",
			acs3Auth{"ACS3-HMAC-SHA256", "AK", []string{"host", "x-acs-date"}, "abc"}, nil},
		{"", acs3Auth{}, ErrSignature},
		{"ACS3-HMAC-SHA256", acs3Auth{}, ErrSignature},
		{"ACS3-HMAC-SHA256 Credential=AK,Signature=abc", acs3Auth{}, ErrSignature},
		{"ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=x-acs-date;host,Signature=abc", acs3Auth{}, ErrSignature},
		{"ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=Host,Signature=abc", acs3Auth{}, ErrSignature},
		{"ACS3-HMAC-SHA256 Credential=AK,Credential=B,SignedHeaders=host,Signature=abc", acs3Auth{}, ErrSignature},
		{"ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host,Signature=abc,Extra=1", acs3Auth{}, ErrSignature},
	}
	for _, tt := range tests {
		got, err := parseACS3Authorization(tt.in)
		if !errors.Is(err, tt.err) {
			t.Errorf("parse(%q) error = %v, want %v", tt.in, err, tt.err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parse(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// The canonical query must encode like RFC 3986: space as %20, * as %2A, ~ kept.
func TestCanonicalQuery(t *testing.T) {
	q := url.Values{"b": {"x y*~"}, "a": {"2", "1"}, "TemplateParam": {`{"name":"张"}`}}
	want := "TemplateParam=%7B%22name%22%3A%22%E5%BC%A0%22%7D&a=1&a=2&b=x%20y%2A~"
	if diff := cmp.Diff(want, canonicalQuery(q)); diff != "" {
		t.Errorf("canonical query (-want +got):\n%s", diff)
	}
}

// signedRequest signs a SendSms with the sandbox's own code, for fuzzing the verifier.
func signedRequest(now time.Time, query, nonce string) *http.Request {
	r, err := http.NewRequest("POST", "http://sms.local/?"+query, nil)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(nil)
	r.Header.Set("x-acs-action", "SendSms")
	r.Header.Set("x-acs-version", smsAPIVersion)
	r.Header.Set("x-acs-date", now.UTC().Format(acsDateFormat))
	r.Header.Set("x-acs-signature-nonce", nonce)
	r.Header.Set("x-acs-content-sha256", hex.EncodeToString(sum[:]))
	signed := []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
	_, toSign := acs3StringToSign(r, signed, hex.EncodeToString(sum[:]))
	r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential=LTAI_test,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="+
		acs3Sign("aliyun-secret", toSign))
	return r
}

func FuzzVerifyACS3(f *testing.F) {
	clock := &fakeClock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	sb, err := newSandbox(testConfig(clock))
	if err != nil {
		f.Fatal(err)
	}
	defer sb.Close()
	f.Add("PhoneNumbers=13800138000&SignName=%E6%B5%8B", "ACS3-HMAC-SHA256 Credential=LTAI_test,SignedHeaders=host,Signature=00", "n1")
	f.Add("a=%zz", "", "")
	f.Add("", "x y", "n2")
	var seq int
	f.Fuzz(func(t *testing.T, query, auth, nonce string) {
		seq++
		r := signedRequest(clock.Now(), query, "fuzz-"+nonce+"-"+string(rune('a'+seq%26))+hex.EncodeToString([]byte{byte(seq), byte(seq >> 8), byte(seq >> 16)}))
		if r == nil || r.URL.RawQuery != query {
			return
		}
		good := sb.verifyACS3(r, nil)
		if good != nil && good.Code != "SignatureNonceUsed" {
			t.Fatalf("a request signed by the spec was refused: %+v", good)
		}
		r.Header.Set("Authorization", auth)
		r.Header.Set("x-acs-signature-nonce", "other-"+nonce)
		if e := sb.verifyACS3(r, nil); e == nil {
			t.Fatalf("Authorization %q was accepted for a request it did not sign", auth)
		}
	})
}

func FuzzParseACS3Authorization(f *testing.F) {
	f.Add("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;x-acs-date,Signature=abc")
	f.Add("ACS3-HMAC-SHA256 ,,,=")
	f.Fuzz(func(t *testing.T, in string) {
		a, err := parseACS3Authorization(in)
		if err != nil {
			return
		}
		if a.AccessKeyID == "" || a.Signature == "" || len(a.SignedHeaders) == 0 {
			t.Fatalf("accepted %q without a required part: %+v", in, a)
		}
	})
}
