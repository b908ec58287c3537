package outreach

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/testclock"
)

func TestWeComRouteByWelcomeCodeAndKFSession(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	kfContact := func(lastAt time.Time, owner string) *contacts.Contact {
		return &contacts.Contact{Owner: owner, Identities: map[string][]string{contacts.KindExternalUserID: {"wmKf1"}},
			Fields: map[string]string{KFAccountField: "wk1", KFLastAtField: strconv.FormatInt(lastAt.Unix(), 10)}}
	}
	repContact := &contacts.Contact{Owner: "rep.li", Identities: map[string][]string{contacts.KindExternalUserID: {"wmRep1"}}}
	stranger := &contacts.Contact{Identities: map[string][]string{contacts.KindExternalUserID: {"wmNone"}}}
	type got struct {
		Kind, To, Why, OpenKFID string
	}
	tests := []struct {
		name        string
		c           *contacts.Contact
		welcome, kf string
		want        got
	}{
		{"a kf customer who wrote an hour ago: into the session, no rep needed", kfContact(now.Add(-time.Hour), ""), "", "",
			got{channels.KindWeComKF, "wmKf1", "", "wk1"}},
		{"the session's last hour still counts", kfContact(now.Add(-KFWindow), ""), "", "",
			got{channels.KindWeComKF, "wmKf1", "", "wk1"}},
		{"a closed session with a rep: a group task", kfContact(now.Add(-KFWindow-time.Second), "rep.li"), "", "",
			got{channels.KindWeComGroupTask, "wmKf1", "", ""}},
		{"a closed session and no rep: unreachable", kfContact(now.Add(-KFWindow-time.Second), ""), "", "",
			got{"", "", "no WeCom rep to send through", ""}},
		{"a rep's contact: a group task", repContact, "", "", got{channels.KindWeComGroupTask, "wmRep1", "", ""}},
		{"a contact welcome wins over an open session", kfContact(now, ""), "WC1", "",
			got{channels.KindWeComWelcome, "wmKf1", "", ""}},
		{"a kf welcome names its account", stranger, "WC2", "wk9", got{channels.KindWeComKF, "wmNone", "", "wk9"}},
		{"a message naming its account needs no field", stranger, "", "wk9", got{channels.KindWeComKF, "wmNone", "", "wk9"}},
		{"a garbled time is no session", &contacts.Contact{Identities: stranger.Identities,
			Fields: map[string]string{KFAccountField: "wk1", KFLastAtField: "yesterday"}}, "", "",
			got{"", "", "no WeCom rep to send through", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wecomRouteFor(tt.c, tt.welcome, tt.kf, now)
			to, why := recipientFor(tt.c, channels.WeCom, r)
			have := got{To: to, Why: why}
			if why == "" {
				have.Kind, have.OpenKFID = outboundKind(channels.WeCom, r), r.openKFID
			}
			if diff := cmp.Diff(tt.want, have); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTextReplyToAKFCustomerGoesIntoTheSession(t *testing.T) {
	wc := &outboxSender{channel: channels.WeCom}
	clock := testclock.New(time.Now())
	f := newFixtureWith(t, func(o *Options, _ *redis.Client) { o.Now = clock.Now }, wc)
	f.startWorkers(t, 1)
	customer := contacts.Identity{Kind: contacts.KindExternalUserID, Value: "wmKfCustomer"}
	f.contactWith(t, contacts.Change{Identities: []contacts.Identity{customer}, Touch: true, Channel: string(channels.WeCom),
		Fields: map[string]string{KFAccountField: "wkShop", KFLastAtField: strconv.FormatInt(clock.Now().Unix(), 10)}})

	reply := Intent{ID: "dlg-kf1", Contact: []contacts.Identity{customer}, Text: "研讨会周四 14:00 开始", Channel: channels.WeCom, Purpose: channels.Service}
	if _, _, err := f.pipe.Submit(t.Context(), reply); err != nil {
		t.Fatal(err)
	}
	if m := f.waitFor(t, reply.ID, StatusSent); m.Kind != channels.KindWeComKF {
		t.Errorf("record kind %q, want kf", m.Kind)
	}
	welcome := Intent{ID: "kfwelcome-1", Contact: []contacts.Identity{customer}, Text: "欢迎咨询", Channel: channels.WeCom,
		Purpose: channels.Service, WelcomeCode: "WC-1", OpenKFID: "wkShop"}
	if _, _, err := f.pipe.Submit(t.Context(), welcome); err != nil {
		t.Fatal(err)
	}
	f.waitFor(t, welcome.ID, StatusSent)

	// Two days later the session is closed and the customer has no rep.
	clock.Advance(KFWindow + time.Minute)
	late := Intent{ID: "dlg-kf2", Contact: []contacts.Identity{customer}, Text: "还在吗？", Channel: channels.WeCom, Purpose: channels.Service}
	if _, _, err := f.pipe.Submit(t.Context(), late); err == nil {
		t.Errorf("a reply after the session closed was accepted; want unreachable")
	}

	type sent struct{ Kind, To, OpenKFID, WelcomeCode, Text string }
	var have []sent
	for _, o := range wc.sent() {
		have = append(have, sent{o.Kind, o.To, o.OpenKFID, o.WelcomeCode, o.Text})
	}
	want := []sent{
		{channels.KindWeComKF, "wmKfCustomer", "wkShop", "", reply.Text},
		{channels.KindWeComKF, "wmKfCustomer", "wkShop", "WC-1", welcome.Text},
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}
