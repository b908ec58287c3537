package outreach

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
)

// outboxSender keeps every outbound it was given.
type outboxSender struct {
	channel channels.Channel
	mu      sync.Mutex
	out     []channels.Outbound
}

func (s *outboxSender) Channel() channels.Channel { return s.channel }

func (s *outboxSender) Send(_ context.Context, m *channels.Outbound) (channels.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = append(s.out, *m)
	return channels.Receipt{PlatformID: "p-" + m.ID}, nil
}

func (s *outboxSender) sent() []channels.Outbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]channels.Outbound(nil), s.out...)
}

func TestTextReplyGoesOutOnTheOfficialAccountWithoutATemplate(t *testing.T) {
	oa := &outboxSender{channel: channels.OfficialAccount}
	f := newFixture(t, oa)
	f.startWorkers(t, 1)
	follower := contacts.Identity{Kind: contacts.KindOpenID, Value: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"}
	f.contactWith(t, contacts.Change{Identities: []contacts.Identity{follower}, Touch: true, Channel: string(channels.OfficialAccount)})
	in := Intent{ID: "dlg-abc123", Contact: []contacts.Identity{follower}, Text: "您好，欢迎关注！", Channel: channels.OfficialAccount, Purpose: channels.Service}
	m, created, err := f.pipe.Submit(t.Context(), in)
	if err != nil || !created {
		t.Fatalf("Submit = %+v, %v, %v", m, created, err)
	}
	got := f.waitFor(t, in.ID, StatusSent)
	if got.Text != in.Text || got.Template != "" || got.Channel != channels.OfficialAccount {
		t.Errorf("record = text %q template %q channel %q, want the text on officialaccount", got.Text, got.Template, got.Channel)
	}
	type sent struct {
		Channel channels.Channel
		Kind    string
		To      string
		Text    string
	}
	var have []sent
	for _, o := range oa.sent() {
		have = append(have, sent{o.Channel, o.Kind, o.To, o.Text})
	}
	want := []sent{{channels.OfficialAccount, channels.KindOAText, follower.Value, in.Text}}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	// A retry of the same id changes nothing and sends nothing more.
	if _, created, err := f.pipe.Submit(t.Context(), in); err != nil || created {
		t.Errorf("resubmit: created %v, err %v", created, err)
	}
}
