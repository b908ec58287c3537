package wecom

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func TestDecodeEvents(t *testing.T) {
	c := newTestCallback(t)
	for _, tt := range samples() {
		t.Run(tt.name, func(t *testing.T) {
			body, sig := seal(t, c, tt.plain)
			got, err := c.Decode(sig, testTS, testNonce, body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeInnerRejects(t *testing.T) {
	const head = `<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>1700000000</CreateTime>`
	contact := func(fields string) string {
		return head + `<MsgType>event</MsgType><Event>change_external_contact</Event>` + fields + `</xml>`
	}
	tests := []struct {
		name    string
		plain   string
		wantErr error
		wantMsg string
	}{
		{"not XML", `MsgType=text`, ErrMalformed, "not XML"},
		{"truncated XML", head + `<MsgType>text</MsgType><Content>hi`, ErrMalformed, "not XML"},
		{"missing MsgType", head + `<Content>hi</Content></xml>`, ErrMalformed, "MsgType is missing"},
		{"missing Event", head + `<MsgType>event</MsgType></xml>`, ErrMalformed, "Event is missing"},
		{"missing ChangeType", contact(`<UserID>u</UserID><ExternalUserID>wm1</ExternalUserID>`), ErrMalformed, "without ChangeType"},
		{"missing ExternalUserID", contact(`<ChangeType>add_external_contact</ChangeType><UserID>u</UserID>`), ErrMalformed, "needs ExternalUserID"},
		{"missing UserID", contact(`<ChangeType>del_follow_user</ChangeType><ExternalUserID>wm1</ExternalUserID>`), ErrMalformed, "needs UserID"},
		{"bad CreateTime", `<xml><CreateTime>yesterday</CreateTime><MsgType>event</MsgType><Event>change_external_contact</Event>` +
			`<ChangeType>edit_external_contact</ChangeType><UserID>u</UserID><ExternalUserID>wm1</ExternalUserID></xml>`, ErrMalformed, `CreateTime "yesterday"`},
		{"missing CreateTime", `<xml><MsgType>event</MsgType><Event>kf_msg_or_event</Event><Token>t</Token><OpenKfId>wk</OpenKfId></xml>`, ErrMalformed, "needs CreateTime"},
		{"message without MsgId", head + `<MsgType>text</MsgType><Content>hi</Content></xml>`, ErrMalformed, "needs MsgId"},
		{"tag without Id", head + `<MsgType>event</MsgType><Event>change_external_tag</Event><ChangeType>delete</ChangeType></xml>`, ErrMalformed, "needs Id"},
		{"kf without Token", head + `<MsgType>event</MsgType><Event>kf_msg_or_event</Event><OpenKfId>wk</OpenKfId></xml>`, ErrMalformed, "needs Token"},
		{"duplicate field", contact(`<ChangeType>edit_external_contact</ChangeType><UserID>u</UserID><UserID>v</UserID><ExternalUserID>wm1</ExternalUserID>`), ErrMalformed, "UserID appears more than once"},
		{"unsupported MsgType", head + `<MsgType>file</MsgType><MsgId>1</MsgId></xml>`, ErrUnsupported, `MsgType "file"`},
		{"unsupported Event", head + `<MsgType>event</MsgType><Event>enter_agent</Event></xml>`, ErrUnsupported, `Event "enter_agent"`},
		{"unsupported ChangeType", contact(`<ChangeType>msg_audit_approved</ChangeType>`), ErrUnsupported, `ChangeType "msg_audit_approved"`},
		{"unsupported tag ChangeType", head + `<MsgType>event</MsgType><Event>change_external_tag</Event><ChangeType>merge</ChangeType></xml>`, ErrUnsupported, `ChangeType "merge"`},
	}
	c := newTestCallback(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, sig := seal(t, c, tt.plain)
			_, err := c.Decode(sig, testTS, testNonce, body)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Decode error = %q, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

// A platform retry carries the same plaintext under a new nonce and
// ciphertext; it must map to the same ID. Two customers added in the same
// second must not.
func TestEventIDs(t *testing.T) {
	c := newTestCallback(t)
	decode := func(plain string) string {
		t.Helper()
		body, sig := seal(t, c, plain)
		ev, err := c.Decode(sig, testTS, testNonce, body)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		return ev.ID
	}
	added := func(external string) string {
		return `<xml><FromUserName>sys</FromUserName><CreateTime>1700000000</CreateTime><MsgType>event</MsgType>` +
			`<Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType><UserID>zhangsan</UserID>` +
			`<ExternalUserID>` + external + `</ExternalUserID></xml>`
	}
	got := []string{decode(added("wmA")), decode(added("wmA")), decode(added("wmB"))}
	want := []string{
		"wecom:ev:sys|1700000000|change_external_contact|add_external_contact|zhangsan|wmA||",
		"wecom:ev:sys|1700000000|change_external_contact|add_external_contact|zhangsan|wmA||",
		"wecom:ev:sys|1700000000|change_external_contact|add_external_contact|zhangsan|wmB||",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
}

func TestFieldNamesRoundTrip(t *testing.T) {
	for f := field(0); f < numFields; f++ {
		got, ok := fieldOf([]byte(f.String()))
		if !ok || got != f {
			t.Errorf("fieldOf(%q) = %v, %v; want %v", f.String(), got, ok, f)
		}
	}
}

// One Callback serves all requests; its pooled buffers must not leak between
// concurrent decodes (run with -race).
func TestDecodeConcurrent(t *testing.T) {
	c := newTestCallback(t)
	type sealed struct {
		body []byte
		sig  string
		want channels.Event
	}
	var all []sealed
	for _, s := range samples() {
		body, sig := seal(t, c, s.plain)
		all = append(all, sealed{body, sig, s.want})
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				s := all[(g+i)%len(all)]
				got, err := c.Decode(s.sig, testTS, testNonce, s.body)
				if err != nil {
					t.Errorf("Decode: %v", err)
					return
				}
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Errorf("event (-want +got):\n%s", diff)
					return
				}
			}
		})
	}
	wg.Wait()
}
