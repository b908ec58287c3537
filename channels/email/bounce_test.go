package email

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func addrContact(a string) []channels.Identity {
	return []channels.Identity{{Kind: channels.EmailAddress, Value: a}}
}

func TestDecodeBounces(t *testing.T) {
	now := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		body string
		want []channels.Event
	}{
		{"hard, soft and complaint",
			`[{"id":"ev-1","type":"hard","email":"Li.Wei@Example.com","message_id":"m-42","reason":"550 5.1.1 no such user","at":"2026-11-01T10:00:00+08:00"},
			  {"id":"ev-2","type":"SOFT","email":" a@example.com ","reason":"","at":null},
			  {"id":"ev-3","type":"complaint","email":"b@example.com","extra":{"feedback":"abuse"}}]`,
			[]channels.Event{
				{ID: "email:bounce:ev-1", Source: channels.Email, Type: channels.TypeEmailBounce,
					At: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC), Contact: addrContact("li.wei@example.com"),
					Props: map[string]string{"bounce": "hard", "reason": "550 5.1.1 no such user", "message_id": "m-42"}},
				{ID: "email:bounce:ev-2", Source: channels.Email, Type: channels.TypeEmailBounce, At: now,
					Contact: addrContact("a@example.com"), Props: map[string]string{"bounce": "soft"}},
				{ID: "email:bounce:ev-3", Source: channels.Email, Type: channels.TypeEmailComplaint, At: now,
					Contact: addrContact("b@example.com"), Props: map[string]string{}},
			}},
		{"single object", `{"id":"x","type":"soft","email":"a@example.com"}`,
			[]channels.Event{{ID: "email:bounce:x", Source: channels.Email, Type: channels.TypeEmailBounce, At: now,
				Contact: addrContact("a@example.com"), Props: map[string]string{"bounce": "soft"}}}},
		{"long reason is cut at a character boundary",
			`{"id":"x","type":"hard","email":"a@example.com","reason":"` + strings.Repeat("退", 400) + `"}`,
			[]channels.Event{{ID: "email:bounce:x", Source: channels.Email, Type: channels.TypeEmailBounce, At: now,
				Contact: addrContact("a@example.com"), Props: map[string]string{"bounce": "hard", "reason": strings.Repeat("退", 333)}}}},
		{"empty array", `[]`, []channels.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBounces([]byte(tt.body), now)
			if err != nil {
				t.Fatalf("DecodeBounces: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeBouncesRejects(t *testing.T) {
	const ok = `{"id":"ev-1","type":"hard","email":"a@example.com"}`
	tests := []struct{ name, body, wantMsg string }{
		{"empty", ``, "the body is empty"},
		{"not JSON", `id=1`, "must be a JSON array"},
		{"broken array", `[` + ok, "not a valid JSON array"},
		{"number item", `[` + ok + `,7]`, "item 1: expected a JSON object"},
		{"missing id", `[` + ok + `,{"type":"hard","email":"a@example.com"}]`, "item 1: id is missing"},
		{"numeric id", `[{"id":1,"type":"hard","email":"a@example.com"}]`, "item 0: id must be a JSON string"},
		{"long id", `[{"id":"` + strings.Repeat("i", 129) + `","type":"hard","email":"a@example.com"}]`, "item 0: id is 129 bytes long"},
		{"missing type", `[{"id":"1","email":"a@example.com"}]`, "item 0: type is missing"},
		{"unknown type", `[{"id":"1","type":"transient","email":"a@example.com"}]`, `item 0: type "transient" is not`},
		{"missing email", `[{"id":"1","type":"hard"}]`, "item 0: email is missing"},
		{"bad email", `[{"id":"1","type":"hard","email":"not an address"}]`, "item 0: email: \"not an address\" is not a plain email address"},
		{"email with a name", `[{"id":"1","type":"hard","email":"Li <a@example.com>"}]`, "is not a plain email address"},
		{"bad time", `[{"id":"1","type":"hard","email":"a@example.com","at":"2026-11-01 10:00:00"}]`, "item 0: at \"2026-11-01 10:00:00\" is not an RFC 3339 time"},
		{"long message id", `[{"id":"1","type":"hard","email":"a@example.com","message_id":"` + strings.Repeat("m", 129) + `"}]`, "message_id is 129 bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBounces([]byte(tt.body), time.Now())
			if !errors.Is(err, ErrMalformed) || got != nil {
				t.Fatalf("DecodeBounces = %d events, %v; want none and ErrMalformed", len(got), err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}
