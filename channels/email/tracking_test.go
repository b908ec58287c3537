package email

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/google/go-cmp/cmp"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef")
	testNow    = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
)

// clock is a settable time source for tests.
func newTestTokens(t testing.TB, c *testclock.Clock) *Tokens {
	t.Helper()
	tok, err := NewTokens(testSecret, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// typicalOpen is the size of claim the length budget is measured against: a
// ULID-sized message id, a short contact id and campaign, a common address.
var typicalOpen = Claim{Kind: KindOpen, MessageID: "01JBQ7Z3W9F7K2M4N5P6", ContactID: "c_48213377",
	Address: "zhang.wei@example.com", Campaign: "webinar-2611", Expires: testNow.Add(90 * 24 * time.Hour)}

func TestNewTokensRejects(t *testing.T) {
	if _, err := NewTokens([]byte("short"), time.Now); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("NewTokens with a 5-byte secret = %v, want an error asking for 16 bytes", err)
	}
	if _, err := NewTokens(testSecret, nil); err == nil {
		t.Error("NewTokens without a clock succeeded")
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	tok := newTestTokens(t, testclock.New(testNow))
	tests := []struct {
		name string
		in   Claim
		want Claim
	}{
		{"open", typicalOpen, typicalOpen},
		{"click keeps the link exactly, lowercases the address, drops sub-second expiry",
			Claim{Kind: KindClick, MessageID: "m1", Address: "Li.Wei@Example.COM", URL: "HTTPS://example.com/p?q=1&r=%E4%BD%A0#x",
				Expires: testNow.Add(time.Hour + 500*time.Millisecond)},
			Claim{Kind: KindClick, MessageID: "m1", Address: "li.wei@example.com", URL: "HTTPS://example.com/p?q=1&r=%E4%BD%A0#x",
				Expires: testNow.Add(time.Hour)}},
		{"unsubscribe without expiry", Claim{Kind: KindUnsubscribe, MessageID: "m2", Address: "a@b.cn", Campaign: "双十一"},
			Claim{Kind: KindUnsubscribe, MessageID: "m2", Address: "a@b.cn", Campaign: "双十一"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := tok.Sign(tt.in)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			got, err := tok.Verify(token, tt.in.Kind)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("claim (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenIsShortAndURLSafe(t *testing.T) {
	tok := newTestTokens(t, testclock.New(testNow))
	token, err := tok.Sign(typicalOpen)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("typical open token: %d characters", len(token))
	if len(token) > 116 {
		t.Errorf("typical open token is %d characters, want at most 116: %s", len(token), token)
	}
	if strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("token %q has characters outside base64url", token)
	}
}

func TestVerifyRejects(t *testing.T) {
	clk := testclock.New(testNow)
	tok := newTestTokens(t, clk)
	open, err := tok.Sign(typicalOpen)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewTokens([]byte("another secret of enough length"), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Sign(typicalOpen)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name, token string
		kind        byte
		wantMsg     string
	}{
		{"empty", "", KindOpen, "too short"},
		{"garbage", "not a token!", KindOpen, "not base64url"},
		{"padding", open + "=", KindOpen, "not base64url"},
		{"line break inside", open[:10] + "\n" + open[10:], KindOpen, "not base64url"},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(open) + "+", KindOpen, "not base64url"},
		{"first byte changed", flip(open, 0), KindOpen, "signature does not match"},
		{"middle byte changed", flip(open, len(open)/2), KindOpen, "signature does not match"},
		{"signature changed", flip(open, len(open)-2), KindOpen, "signature does not match"},
		{"truncated", open[:len(open)-len(open)%4-4], KindOpen, "signature does not match"},
		{"truncated mid-character", open[:len(open)-1], KindOpen, "invalid tracking token"},
		{"other secret", foreign, KindOpen, "signature does not match"},
		{"wrong kind", open, KindClick, "the token is for open, not click"},
		{"wrong kind unsubscribe", open, KindUnsubscribe, "the token is for open, not unsubscribe"},
		{"very long", strings.Repeat("A", maxTokenLen+1), KindOpen, "longer than any token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tok.Verify(tt.token, tt.kind)
			if !errors.Is(err, ErrBadToken) {
				t.Fatalf("Verify = %v, want ErrBadToken", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if diff := cmp.Diff(Claim{}, got); diff != "" {
				t.Errorf("claim returned with ErrBadToken (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyExpiry(t *testing.T) {
	clk := testclock.New(testNow)
	tok := newTestTokens(t, clk)
	c := Claim{Kind: KindUnsubscribe, MessageID: "m", Address: "a@example.com", Expires: testNow.Add(24 * time.Hour)}
	token, err := tok.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(c.Expires)
	if _, err := tok.Verify(token, KindUnsubscribe); err != nil {
		t.Errorf("Verify at the expiry instant: %v, want it still valid", err)
	}
	clk.Set(c.Expires.Add(time.Second))
	got, err := tok.Verify(token, KindUnsubscribe)
	if !errors.Is(err, ErrExpired) || errors.Is(err, ErrBadToken) {
		t.Fatalf("Verify after expiry = %v, want ErrExpired only", err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("an expired token should still return its claim (-want +got):\n%s", diff)
	}
}

func TestSignRejects(t *testing.T) {
	tok := newTestTokens(t, testclock.New(testNow))
	ok := Claim{Kind: KindClick, MessageID: "m", Address: "a@example.com", URL: "https://example.com/"}
	with := func(f func(*Claim)) Claim { c := ok; f(&c); return c }
	tests := []struct {
		name    string
		c       Claim
		wantMsg string
	}{
		{"unknown kind", with(func(c *Claim) { c.Kind = 'x' }), "kind 'x'"},
		{"no message id", with(func(c *Claim) { c.MessageID = "" }), "MessageID is empty"},
		{"long contact id", with(func(c *Claim) { c.ContactID = strings.Repeat("c", 129) }), "ContactID must be"},
		{"invalid UTF-8 campaign", with(func(c *Claim) { c.Campaign = "\xff" }), "Campaign must be"},
		{"no address", with(func(c *Claim) { c.Address = "" }), "Address: the address is empty"},
		{"display name", with(func(c *Claim) { c.Address = "Li Wei <a@example.com>" }), "not a plain email address"},
		{"javascript link", with(func(c *Claim) { c.URL = "javascript:alert(1)" }), "must be an absolute http"},
		{"relative link", with(func(c *Claim) { c.URL = "/pricing" }), "must be an absolute http"},
		{"no link", with(func(c *Claim) { c.URL = "" }), "URL is empty"},
		{"huge link", with(func(c *Claim) { c.URL = "https://example.com/" + strings.Repeat("a", maxURLLen) }), "at most 2048"},
		{"link on an open", with(func(c *Claim) { c.Kind = KindOpen }), "only click claims carry a link"},
		{"past expiry", with(func(c *Claim) { c.Expires = testNow }), "already past"},
		{"expiry before 1970", with(func(c *Claim) { c.Expires = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }), "outside 1970-2106"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := tok.Sign(tt.c)
			if !errors.Is(err, ErrBadClaim) || token != "" {
				t.Fatalf("Sign = %q, %v; want ErrBadClaim", token, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestTokensAreConcurrencySafe(t *testing.T) {
	tok := newTestTokens(t, testclock.New(testNow))
	done := make(chan error, 8)
	for range 8 {
		go func() {
			for range 100 {
				s, err := tok.Sign(typicalOpen)
				if err == nil {
					_, err = tok.Verify(s, KindOpen)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
