package gateway

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/outreach"
)

func TestDialogActionsCountARepeatedStepOnce(t *testing.T) {
	h, pipe, _ := dialogHarness(t, expoScript)
	fan := contacts.Identity{Kind: contacts.KindOpenID, Value: "oFan"}
	res, err := h.store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{fan}, Touch: true, Channel: string(channels.OfficialAccount)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewDialogActions(h.store, pipe, outreach.NewCoupons(h.rdb, h.clock.Now), nil, h.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	target := func(key string) dialogs.Target {
		return dialogs.Target{ContactID: res.ContactID, Channel: channels.OfficialAccount, Script: "expo_welcome@1", Step: "act", Key: key}
	}
	ctx := t.Context()
	for range 2 { // the same step run twice, as after a crash
		for _, err := range []error{
			a.Tag(ctx, target("k1"), "vip"),
			a.Score(ctx, target("k2"), 15),
			a.SetStage(ctx, target("k3"), "mql"),
			a.Send(ctx, target("k4"), dialogs.Reply{Text: "您好", Key: "k4"}),
			a.ScheduleReminder(ctx, target("k5"), dialogs.Reminder{Text: "别忘了", At: h.clock.Now().Add(2 * time.Hour)}),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	p, err := a.Profile(ctx, res.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dialogs.Profile{Tags: []string{"vip"}, Score: 15, Stage: "mql"}, p); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
	reminder, err := pipe.Get(ctx, dialogMessageID("k5"))
	if err != nil {
		t.Fatal(err)
	}
	if !reminder.SendAt.Equal(h.clock.Now().Add(2*time.Hour)) || reminder.Text != "别忘了" || reminder.ForcedChannel != channels.OfficialAccount {
		t.Errorf("reminder = %+v, want the text on officialaccount in 2h", reminder)
	}
	if got := queuedTexts(t, h, pipe, res.ContactID); len(got) != 2 {
		t.Errorf("queued %q, want one reply and one reminder", got)
	}

	if err := a.Unsubscribe(ctx, target("k6")); err != nil {
		t.Fatal(err)
	}
	ct, err := h.store.Get(ctx, res.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if ct.Consent[string(channels.OfficialAccount)] != contacts.ConsentOptedOut || ct.Consent[string(channels.SMS)] == contacts.ConsentOptedOut {
		t.Errorf("consent after unsubscribe = %v, want only officialaccount opted out", ct.Consent)
	}
}
