package email

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func TestClaimEvent(t *testing.T) {
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	contact := []channels.Identity{{Kind: channels.EmailAddress, Value: "a@example.com"}}
	click := Claim{Kind: KindClick, MessageID: "m1", Address: "a@example.com", URL: "https://example.com/pricing"}
	tests := []struct {
		name string
		c    Claim
		want channels.Event
	}{
		{"open", Claim{Kind: KindOpen, MessageID: "m1", ContactID: "c9", Address: "a@example.com", Campaign: "spring"},
			channels.Event{ID: "email:open:m1", Source: channels.Email, Type: channels.TypeEmailOpen, At: at, Contact: contact,
				Props: map[string]string{"message_id": "m1", "contact_id": "c9", "campaign": "spring"}}},
		{"click", click,
			channels.Event{ID: "email:click:m1:" + linkHash(click.URL), Source: channels.Email, Type: channels.TypeEmailClick, At: at, Contact: contact,
				Props: map[string]string{"message_id": "m1", "url": "https://example.com/pricing"}}},
		{"unsubscribe", Claim{Kind: KindUnsubscribe, MessageID: "m1", Address: "a@example.com"},
			channels.Event{ID: "email:unsub:m1", Source: channels.Email, Type: channels.TypeEmailUnsubscribe, At: at, Contact: contact,
				Props: map[string]string{"message_id": "m1"}}},
		{"unknown kind", Claim{Kind: 'z', MessageID: "m1", Address: "a@example.com"}, channels.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.c.Event(at)); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClickIDsDifferPerLink(t *testing.T) {
	a := Claim{Kind: KindClick, MessageID: "m1", Address: "a@example.com", URL: "https://example.com/a"}
	b := a
	b.URL = "https://example.com/b"
	if ida, idb := a.Event(time.Time{}).ID, b.Event(time.Time{}).ID; ida == idb {
		t.Errorf("two links in one message share the event id %q", ida)
	}
	if got := len(linkHash(a.URL)); got != 12 {
		t.Errorf("link hash is %d characters, want 12", got)
	}
}
