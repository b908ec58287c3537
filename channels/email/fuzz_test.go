package email

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

// seedClaims are signed at fuzz start with the test secret; the same tokens
// are checked in under testdata, so mutations of real tokens are explored.
var seedClaims = []Claim{
	typicalOpen,
	{Kind: KindClick, MessageID: "m1", Address: "li.wei@example.com", URL: "https://example.com/p?q=1", Expires: testNow.Add(time.Hour)},
	{Kind: KindUnsubscribe, MessageID: "m2", ContactID: "c2", Address: "a@b.cn", Campaign: "双十一"},
}

// FuzzVerify holds that only tokens we signed verify: any token Verify
// accepts (even as expired) must be exactly what Sign makes for its claim,
// so a token cannot be forged or re-spelled.
func FuzzVerify(f *testing.F) {
	tok := newTestTokens(f, testclock.New(testNow))
	for _, c := range seedClaims {
		token, err := tok.Sign(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(token, c.Kind)
		f.Add(token, KindOpen)
	}
	// An expired token, signed by a clock two days behind.
	earlier := newTestTokens(f, testclock.New(testNow.Add(-48*time.Hour)))
	expired, err := earlier.Sign(Claim{Kind: KindOpen, MessageID: "m0", Address: "a@example.com", Expires: testNow.Add(-24 * time.Hour)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(expired, KindOpen)
	f.Add("", KindClick)
	f.Add("AQ", KindUnsubscribe)
	f.Fuzz(func(t *testing.T, token string, kind byte) {
		c, err := tok.Verify(token, kind)
		switch {
		case err == nil, errors.Is(err, ErrExpired):
			if c.Kind != kind {
				t.Fatalf("Verify(%q, %q) returned a %q claim", token, kind, c.Kind)
			}
			var exp uint32
			if !c.Expires.IsZero() {
				exp = uint32(c.Expires.Unix())
			}
			if again := tok.encode(c, exp); again != token {
				t.Fatalf("Verify accepted %q, but its claim signs as %q", token, again)
			}
		case errors.Is(err, ErrBadToken):
			if diff := cmp.Diff(Claim{}, c); diff != "" {
				t.Fatalf("claim returned with ErrBadToken (-want +got):\n%s", diff)
			}
		default:
			t.Fatalf("Verify error %v is neither ErrBadToken nor ErrExpired", err)
		}
	})
}

// FuzzSignVerify holds that whatever Sign accepts verifies to the same claim.
func FuzzSignVerify(f *testing.F) {
	for _, c := range seedClaims {
		f.Add(c.Kind, c.MessageID, c.ContactID, c.Address, c.URL, c.Campaign, c.Expires.Unix())
	}
	tok := newTestTokens(f, testclock.New(testNow))
	f.Fuzz(func(t *testing.T, kind byte, messageID, contactID, address, link, campaign string, exp int64) {
		in := Claim{Kind: kind, MessageID: messageID, ContactID: contactID, Address: address, URL: link, Campaign: campaign}
		if exp > 0 {
			in.Expires = time.Unix(exp, 0).UTC()
		}
		token, err := tok.Sign(in)
		if err != nil {
			if !errors.Is(err, ErrBadClaim) {
				t.Fatalf("Sign error %v is not ErrBadClaim", err)
			}
			return
		}
		got, err := tok.Verify(token, kind)
		if err != nil {
			t.Fatalf("Verify(Sign(%+v)): %v", in, err)
		}
		in.Address = strings.ToLower(strings.TrimSpace(in.Address))
		if diff := cmp.Diff(in, got); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		if ev := got.Event(testNow); ev.ID == "" || ev.Type == "" {
			t.Fatalf("signed claim %+v gives an empty event", got)
		}
	})
}

func FuzzDecodeBounces(f *testing.F) {
	f.Add([]byte(`[{"id":"ev-1","type":"hard","email":"Li.Wei@Example.com","message_id":"m-42","reason":"550 5.1.1 no such user","at":"2026-11-01T10:00:00+08:00"}]`))
	f.Add([]byte(`{"id":"ev-3","type":"complaint","email":"b@example.com"}`))
	f.Add([]byte(`[{"id":"x","type":"soft","email":"\"q\"@example.com","at":null}]`))
	now := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := DecodeBounces(body, now)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || events != nil {
				t.Fatalf("DecodeBounces = %d events, %v; want none and ErrMalformed", len(events), err)
			}
			return
		}
		for i, ev := range events {
			if ev.Source != channels.Email || !strings.HasPrefix(ev.ID, "email:bounce:") || len(ev.ID) == len("email:bounce:") || ev.At.IsZero() {
				t.Fatalf("event %d: bad id, source or time: %+v", i, ev)
			}
			switch ev.Type {
			case channels.TypeEmailBounce:
				if b := ev.Props["bounce"]; b != "hard" && b != "soft" {
					t.Fatalf("event %d: bounce prop %q", i, b)
				}
			case channels.TypeEmailComplaint:
			default:
				t.Fatalf("event %d: type %q", i, ev.Type)
			}
			if len(ev.Contact) != 1 || ev.Contact[0].Kind != channels.EmailAddress {
				t.Fatalf("event %d: contact %+v", i, ev.Contact)
			}
			if a, err := normalizeAddress(ev.Contact[0].Value); err != nil || a != ev.Contact[0].Value {
				t.Fatalf("event %d: address %q is not normalized (%q, %v)", i, ev.Contact[0].Value, a, err)
			}
			for k, v := range ev.Props {
				if v == "" {
					t.Fatalf("event %d: empty prop %q", i, k)
				}
			}
		}
	})
}
