package outreach

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/testclock"
)

// capsCampaignFixture is a campaign fixture whose pipeline has the
// contract's caps (and quiet, when given) and an SMS sender.
func capsCampaignFixture(t *testing.T, quiet *QuietHours, sms *recorder) (*campaignFixture, *Caps) {
	t.Helper()
	clk := testclock.New(time.Now().UTC().Truncate(time.Second))
	var caps *Caps
	f := newFixtureWith(t, func(o *Options, rdb *redis.Client) {
		var err error
		if caps, err = NewCaps(rdb, contractRules, clk.Now); err != nil {
			t.Fatal(err)
		}
		o.Now, o.Caps, o.Quiet = clk.Now, caps, quiet
	}, sms)
	cs, err := NewCampaigns(f.rdb, f.pipe, f.contacts, CampaignOptions{BatchSize: 4, PhaseWait: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &campaignFixture{fixture: f, cs: cs, clock: clk}, caps
}

// seedSMS makes n contacts tagged tag with a phone; optedIn says which
// ones consent to SMS marketing.
func (f *campaignFixture) seedSMS(t *testing.T, tag string, base int, optedIn ...bool) []string {
	t.Helper()
	ids := make([]string, len(optedIn))
	for i, ok := range optedIn {
		ch := contacts.Change{EventID: fmt.Sprintf("seed-%s-%d", tag, i), Name: "Li", AddTags: []string{tag},
			Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: fmt.Sprintf("+86139%08d", base+i)}}}
		if ok {
			ch.Consent = []contacts.ConsentChange{{Channel: "sms", Status: contacts.ConsentOptedIn, Source: "form"}}
		}
		res, err := f.contacts.Apply(t.Context(), ch)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = res.ContactID
	}
	return ids
}

func smsCampaign(id, tag string) Campaign {
	return Campaign{ID: id, Name: "SMS promo", Audience: "tag:" + tag, Purpose: channels.Marketing, Owner: "zhangsan", Channel: channels.SMS,
		Vars: map[string]any{"name": "Li"}, Variants: []Variant{{Name: "a", Template: "receipt", Weight: 1}}}
}

// window lists the members of one cap's window for a contact.
func (f *campaignFixture) window(t *testing.T, contact, rule string) []string {
	t.Helper()
	m, err := f.rdb.ZRange(t.Context(), capKey(capKeyPrefix(contact), rule, ""), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *campaignFixture) hasTask(t *testing.T, id string) bool {
	t.Helper()
	_, err := f.pipe.inspect.GetTaskInfo(QueueDefault, id)
	switch {
	case err == nil:
		return true
	case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
		return false
	}
	t.Fatal(err)
	return false
}

// TestCampaignBatchDecidesCapsAtDispatch: a fixed-channel SMS batch has
// its caps decided when it is dispatched. Contacts at their cap are
// recorded capped with the rule and get no task; the others hold their
// place in the record, and the worker sends under it without reserving
// again; a contact without consent is left to the worker, as before.
func TestCampaignBatchDecidesCapsAtDispatch(t *testing.T) {
	sms := newRecorder(channels.SMS)
	f, caps := capsCampaignFixture(t, nil, sms)
	ids := f.seedSMS(t, "vip", 0, true, true, true, true, true, false)
	for _, id := range ids[:2] { // sms-daily is 1 a day: these two are full
		if _, err := caps.Reserve(t.Context(), CapRequest{ContactID: id, MessageID: "earlier-" + id, Channel: "sms", Purpose: "marketing"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.cs.Create(t.Context(), smsCampaign("promo", "vip")); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t, "promo")

	type row struct {
		Status        Status
		Reason, Error string
		Keys          int
		Task          bool
		Window        []string
	}
	got := map[string]row{}
	want := map[string]row{}
	for i, id := range ids {
		mid := "promo-" + id
		m, err := f.pipe.Get(t.Context(), mid)
		if err != nil {
			t.Fatal(err)
		}
		got[id] = row{m.Status, m.Reason, m.Error, len(m.CapKeys), f.hasTask(t, mid), f.window(t, id, "sms-daily")}
		switch {
		case i < 2:
			want[id] = row{StatusCapped, "sms-daily", "sms: capped by sms-daily", 0, false, []string{"earlier-" + id}}
		case i < 5:
			want[id] = row{StatusScheduled, "", "", 2, true, []string{mid}}
		default:
			want[id] = row{StatusScheduled, "", "", 0, true, []string{}}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages after dispatch (-want +got):\n%s", diff)
	}
	stats, err := f.cs.Stats(t.Context(), "promo")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"queued": 6, "capped": 2, "capped:sms-daily": 2}, stats.Totals); diff != "" {
		t.Errorf("totals after dispatch (-want +got):\n%s", diff)
	}

	// The worker must not reserve again: caps that would refuse every
	// message now (a new rule, full for everyone) do not stop the sends
	// reserved at dispatch.
	strict, err := NewCaps(f.rdb, append([]CapRule{{Name: "sms-hourly", Purpose: "marketing", Channel: "sms", Max: 1, Window: time.Hour}}, contractRules...), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := strict.Reserve(t.Context(), CapRequest{ContactID: id, MessageID: "x", Channel: "sms", Purpose: "marketing", Kind: "x"}); err != nil && !errors.Is(err, ErrCapped) {
			t.Fatal(err)
		}
		f.rdb.ZAdd(t.Context(), capKey(capKeyPrefix(id), "sms-hourly", ""), redis.Z{Score: float64(f.clock.Now().UnixMilli()), Member: "filler-" + id})
	}
	f.pipe.opt.Caps = strict
	f.startWorkers(t, 1)
	for i, id := range ids {
		switch {
		case i < 2:
		case i < 5:
			f.waitFor(t, "promo-"+id, StatusSent)
			if diff := cmp.Diff([]string{"promo-" + id}, f.window(t, id, "sms-daily")); diff != "" {
				t.Errorf("sms-daily window of %s after the send (-want +got):\n%s", id, diff)
			}
		default:
			f.waitFor(t, "promo-"+id, StatusSuppressed)
		}
	}
	time.Sleep(200 * time.Millisecond)
	for i, id := range ids {
		if n, want := sms.count("promo-"+id), map[bool]int{true: 1, false: 0}[i >= 2 && i < 5]; n != want {
			t.Errorf("contact %d got %d SMS, want %d", i, n, want)
		}
	}
}

// TestHeldPlaceGoesBackWhenTheMessageDoesNotGo: a place reserved at
// dispatch is given back, and forgotten by the record, when the send
// fails for good or the message is cancelled; a transient failure gives
// it back and the retry reserves at send time, as any message does.
func TestHeldPlaceGoesBackWhenTheMessageDoesNotGo(t *testing.T) {
	sms := newRecorder(channels.SMS,
		&channels.SendError{Kind: channels.Permanent, Code: "isv.MOBILE_NUMBER_ILLEGAL", Err: errors.New("bad number")})
	f, _ := capsCampaignFixture(t, nil, sms)
	ids := f.seedSMS(t, "one", 0, true)
	if _, err := f.cs.Create(t.Context(), smsCampaign("fail", "one")); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t, "fail")
	if diff := cmp.Diff([]string{"fail-" + ids[0]}, f.window(t, ids[0], "sms-daily")); diff != "" {
		t.Fatalf("window after dispatch (-want +got):\n%s", diff)
	}
	f.startWorkers(t, 1)
	m := f.waitFor(t, "fail-"+ids[0], StatusFailed)
	if diff := cmp.Diff([]string{}, f.window(t, ids[0], "sms-daily")); diff != "" {
		t.Errorf("window after a permanent failure (-want +got):\n%s", diff)
	}
	if len(m.CapKeys) != 0 {
		t.Errorf("failed record still holds %v", m.CapKeys)
	}

}

// TestCancelGivesHeldPlaceBack: cancelling a message reserved at dispatch
// frees its place at once.
func TestCancelGivesHeldPlaceBack(t *testing.T) {
	f, _ := capsCampaignFixture(t, nil, newRecorder(channels.SMS))
	ids := f.seedSMS(t, "vip", 0, true)
	if _, err := f.cs.Create(t.Context(), smsCampaign("stop", "vip")); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t, "stop")
	if diff := cmp.Diff([]string{"stop-" + ids[0]}, f.window(t, ids[0], "sms-daily")); diff != "" {
		t.Fatalf("window after dispatch (-want +got):\n%s", diff)
	}
	m, err := f.pipe.Cancel(t.Context(), "stop-"+ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusCancelled {
		t.Errorf("status %s, want cancelled", m.Status)
	}
	if diff := cmp.Diff([]string{}, f.window(t, ids[0], "sms-daily")); diff != "" {
		t.Errorf("window after cancel (-want +got):\n%s", diff)
	}
}

// TestQuietBatchKeepsTheWorkersPath: a batch that quiet hours hold now is
// not decided at dispatch: the worker defers it, and nothing is reserved.
func TestQuietBatchKeepsTheWorkersPath(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(shanghai)
	q, err := NewQuietHours([]QuietRule{{Channels: []string{"sms"}, Start: now.Add(-time.Hour).Format("15:04"),
		End: now.Add(2 * time.Hour).Truncate(time.Minute).Format("15:04"), Zone: shanghai}})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := capsCampaignFixture(t, q, newRecorder(channels.SMS))
	ids := f.seedSMS(t, "vip", 0, true, true)
	if _, err := f.cs.Create(t.Context(), smsCampaign("night", "vip")); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t, "night")
	f.startWorkers(t, 1)
	for _, id := range ids {
		m := f.waitFor(t, "night-"+id, StatusDeferred)
		if len(m.CapKeys) != 0 {
			t.Errorf("deferred message holds %v", m.CapKeys)
		}
		if diff := cmp.Diff([]string{}, f.window(t, id, "sms-daily")); diff != "" {
			t.Errorf("window of a deferred message (-want +got):\n%s", diff)
		}
	}
}

// TestCapKeysFieldRoundTrip: the record's short form of a reservation's
// keys reads back as the same keys, also when the reservation was made
// under another contact id (a contact merged into another).
func TestCapKeysFieldRoundTrip(t *testing.T) {
	own, other := capKeyPrefix("aaaaaaaaaaaaaaaa"), capKeyPrefix("bbbbbbbbbbbbbbbb")
	tests := []struct {
		name  string
		keys  []string
		field string
	}{
		{"none", nil, ""},
		{"own contact", []string{own + "marketing-weekly", own + "sms-daily", own + "per-campaign:promo"}, "marketing-weekly sms-daily per-campaign:promo"},
		{"merged contact", []string{other + "sms-daily"}, other + "sms-daily"},
	}
	for _, tt := range tests {
		field := capKeysField("aaaaaaaaaaaaaaaa", tt.keys)
		if field != tt.field {
			t.Errorf("%s: field %q, want %q", tt.name, field, tt.field)
		}
		if diff := cmp.Diff(tt.keys, parseCapKeys("aaaaaaaaaaaaaaaa", field)); diff != "" {
			t.Errorf("%s: keys read back (-want +got):\n%s", tt.name, diff)
		}
	}
}
