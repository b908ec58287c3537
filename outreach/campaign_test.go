package outreach

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
)

type campaignFixture struct {
	*fixture
	cs    *Campaigns
	clock *testclock.Clock
}

func newCampaignFixture(t *testing.T, senders ...Sender) *campaignFixture {
	t.Helper()
	clk := testclock.New(time.Now().UTC().Truncate(time.Second))
	f := newFixtureWith(t, func(o *Options, _ *redis.Client) { o.Now = clk.Now }, senders...)
	cs, err := NewCampaigns(f.rdb, f.pipe, f.contacts, CampaignOptions{BatchSize: 3, PhaseWait: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &campaignFixture{fixture: f, cs: cs, clock: clk}
}

// seed makes n email contacts tagged tag and returns their ids.
func (f *campaignFixture) seed(t *testing.T, n int, tag string) []string {
	t.Helper()
	var ids []string
	for i := range n {
		res, err := f.contacts.Apply(t.Context(), contacts.Change{EventID: fmt.Sprintf("seed-%s-%d", tag, i), Name: "Li",
			Identities: []contacts.Identity{{Kind: contacts.KindEmail, Value: fmt.Sprintf("u%d-%s@example.com", i, tag)}}, AddTags: []string{tag}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ContactID)
	}
	return ids
}

// dispatch runs one dispatch step as the asynq worker would.
func (f *campaignFixture) dispatch(t *testing.T, id string) {
	t.Helper()
	payload, _ := json.Marshal(taskPayload{ID: id})
	if err := f.cs.handleDispatch(t.Context(), asynq.NewTask(taskDispatch, payload)); err != nil {
		t.Fatal(err)
	}
}

func (f *campaignFixture) get(t *testing.T, id string) *Campaign {
	t.Helper()
	c, err := f.cs.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func abCampaign(id string) Campaign {
	return Campaign{ID: id, Name: "Double 11", Audience: "tag:vip", Purpose: channels.Marketing, Owner: "zhangsan",
		Variants: []Variant{{Name: "a", Template: "welcome", Weight: 1}, {Name: "b", Template: "welcome", Weight: 1}}}
}

func TestCreateCampaignRefuses(t *testing.T) {
	f := newCampaignFixture(t)
	tests := []struct {
		name string
		edit func(*Campaign)
		want error
		msg  string
	}{
		{"bad id", func(c *Campaign) { c.ID = "a b" }, ErrCampaignInvalid, "id"},
		{"bad owner", func(c *Campaign) { c.Owner = "zhang san" }, ErrCampaignInvalid, "owner"},
		{"no variants", func(c *Campaign) { c.Variants = nil }, ErrCampaignInvalid, "variants"},
		{"twin variants", func(c *Campaign) { c.Variants[1].Name = "a" }, ErrCampaignInvalid, "used twice"},
		{"pilot share", func(c *Campaign) { c.PilotShare = 1.5 }, ErrCampaignInvalid, "pilot_share"},
		{"test without variants", func(c *Campaign) { c.Variants = c.Variants[:1]; c.TestShare = 0.2 }, ErrCampaignInvalid, "two variants"},
		{"not marketing", func(c *Campaign) { c.Purpose = channels.Service }, ErrCampaignInvalid, "marketing"},
		{"guardrail", func(c *Campaign) { c.Guardrail = &Guardrail{} }, ErrCampaignInvalid, "min_sends"},
		{"audience", func(c *Campaign) { c.Audience = "tag:vip AND" }, ErrAudience, "expected a term"},
		{"template", func(c *Campaign) { c.Variants[0].Template = "nope" }, errNoTemplate, "nope"},
		{"channel body", func(c *Campaign) { c.Variants[0].Template = "receipt"; c.Channel = channels.Email }, ErrCampaignInvalid, "no email body"},
	}
	for _, tt := range tests {
		c := abCampaign("c1")
		tt.edit(&c)
		_, err := f.cs.Create(t.Context(), c)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err %v, want %v mentioning %q", tt.name, err, tt.want, tt.msg)
		}
	}
	if _, err := f.cs.Create(t.Context(), abCampaign("c1")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cs.Create(t.Context(), abCampaign("c1")); !errors.Is(err, ErrCampaignExists) {
		t.Errorf("second create: %v, want ErrCampaignExists", err)
	}
}

// TestCampaignSends runs a campaign end to end through real workers: every
// contact gets exactly one message with a deterministic variant, and the
// statistics count queued and sent per variant and channel.
func TestCampaignSends(t *testing.T) {
	mail := newRecorder(channels.Email)
	f := newCampaignFixture(t, mail)
	ids := f.seed(t, 7, "vip")
	f.seed(t, 2, "other")
	if _, err := f.cs.Create(t.Context(), abCampaign("d11")); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t, "d11")
	if c := f.get(t, "d11"); c.Status != CampaignDone || c.Dispatched != 7 || c.AudienceSize != 7 {
		t.Fatalf("campaign after dispatch: %+v", c)
	}
	f.startWorkers(t, 1)
	wantStats := map[string]int64{}
	for _, id := range ids {
		m := f.waitFor(t, "d11-"+id, StatusSent)
		want := assignVariant(f.get(t, "d11"), id).Name
		if m.Variant != want || m.Campaign != "d11" {
			t.Errorf("message %s: variant %q campaign %q, want %q d11", m.ID, m.Variant, m.Campaign, want)
		}
		wantStats[want+"|none|queued"]++
		wantStats[want+"|email|sent"]++
	}
	// A crashed dispatch run again queues nothing new.
	if err := f.rdb.HSet(t.Context(), campaignKey("d11"), "status", "running", "dispatched", 0).Err(); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t, "d11")
	time.Sleep(300 * time.Millisecond)
	for _, id := range ids {
		if n := mail.count("d11-" + id); n != 1 {
			t.Errorf("contact %s got %d messages, want 1", id, n)
		}
	}
	got := map[string]int64{}
	h := f.rdb.HGetAll(t.Context(), campaignStatsKey("d11")).Val()
	for k, v := range h {
		var n int64
		fmt.Sscan(v, &n)
		got[k] = n
	}
	if diff := cmp.Diff(wantStats, got); diff != "" {
		t.Errorf("statistics (-want +got):\n%s", diff)
	}
	stats, err := f.cs.Stats(t.Context(), "d11")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"queued": 7, "sent": 7}, stats.Totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
}

// TestCampaignPilotAndGuardrail: the pilot goes first, the rest waits a
// phase; poor results pause the campaign with a notice; resuming overrides
// the guardrail and sends the rest.
func TestCampaignPilotAndGuardrail(t *testing.T) {
	f := newCampaignFixture(t)
	f.seed(t, 10, "vip")
	c := abCampaign("pilot")
	c.PilotShare = 0.2
	c.Guardrail = &Guardrail{MinSends: 2, MinOpenRate: 0.5}
	if _, err := f.cs.Create(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t, "pilot")
	if got := f.get(t, "pilot"); got.Dispatched != 2 || got.Status != CampaignRunning {
		t.Fatalf("after the pilot: dispatched %d status %s, want 2 running", got.Dispatched, got.Status)
	}
	f.clock.Advance(30 * time.Minute)
	f.dispatch(t, "pilot") // too early: still waiting
	if got := f.get(t, "pilot"); got.Dispatched != 2 {
		t.Fatalf("before the phase wait: dispatched %d, want 2", got.Dispatched)
	}
	for range 2 {
		if err := f.pipe.CountCampaign(t.Context(), "pilot", "a", "email", "sent"); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(31 * time.Minute)
	f.dispatch(t, "pilot")
	got := f.get(t, "pilot")
	if got.Status != CampaignPaused || got.Dispatched != 2 || !strings.Contains(got.Notice, "open rate 0.0% after 2 sends is below 50.0%") {
		t.Fatalf("after a poor pilot: %+v, want paused at 2 with a notice", got)
	}
	if _, err := f.cs.Resume(t.Context(), "pilot"); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t, "pilot")
	if got := f.get(t, "pilot"); got.Status != CampaignDone || got.Dispatched != 10 || got.Notice != "" {
		t.Fatalf("after resume: %+v, want done at 10", got)
	}
}

// TestCampaignWinner: the test share gets both variants; after the phase
// wait and enough opens, the rest gets the better variant.
func TestCampaignWinner(t *testing.T) {
	f := newCampaignFixture(t)
	ids := f.seed(t, 12, "vip")
	c := abCampaign("ab")
	c.TestShare = 0.5
	c.WinnerOpens = 2
	if _, err := f.cs.Create(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t, "ab")
	if got := f.get(t, "ab"); got.Dispatched != 6 {
		t.Fatalf("after the test share: dispatched %d, want 6", got.Dispatched)
	}
	count := func(variant, stat string, n int) {
		for range n {
			if err := f.pipe.CountCampaign(t.Context(), "ab", variant, "email", stat); err != nil {
				t.Fatal(err)
			}
		}
	}
	count("a", "sent", 3)
	count("b", "sent", 3)
	count("b", "opened", 1)
	f.clock.Advance(time.Hour)
	f.dispatch(t, "ab") // one open is not enough yet
	if got := f.get(t, "ab"); got.Dispatched != 6 || got.Winner != "" {
		t.Fatalf("with one open: %+v", got)
	}
	count("a", "opened", 1)
	count("b", "opened", 1)
	f.clock.Advance(time.Hour)
	f.dispatch(t, "ab")
	got := f.get(t, "ab")
	if got.Winner != "b" || got.Status != CampaignDone {
		t.Fatalf("after enough opens: winner %q status %s, want b done", got.Winner, got.Status)
	}
	order := f.rdb.LRange(t.Context(), campaignAudienceKey("ab"), 0, -1).Val()
	if len(order) != len(ids) {
		t.Fatalf("audience has %d contacts, want %d", len(order), len(ids))
	}
	for i, id := range order[6:] {
		m, err := f.pipe.Get(t.Context(), "ab-"+id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Variant != "b" {
			t.Errorf("rest #%d %s: variant %q, want the winner b", i, id, m.Variant)
		}
	}
}

// TestCampaignCancel withdraws queued messages and stops dispatch.
func TestCampaignCancel(t *testing.T) {
	f := newCampaignFixture(t)
	ids := f.seed(t, 5, "vip")
	c := abCampaign("stop")
	c.PilotShare = 0.4
	if _, err := f.cs.Create(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t, "stop")
	if _, err := f.cs.Pause(t.Context(), "stop"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cs.Cancel(t.Context(), "stop"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	f.dispatch(t, "stop")
	statuses := map[Status]int{}
	for _, id := range ids {
		m, err := f.pipe.Get(t.Context(), "stop-"+id)
		if errors.Is(err, ErrNotFound) {
			statuses["none"]++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		statuses[m.Status]++
	}
	if diff := cmp.Diff(map[Status]int{StatusCancelled: 2, "none": 3}, statuses); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if _, err := f.cs.Resume(t.Context(), "stop"); !errors.Is(err, ErrCampaignState) {
		t.Errorf("resume after cancel: %v, want ErrCampaignState", err)
	}
	if _, err := f.cs.Pause(t.Context(), "nope"); !errors.Is(err, ErrCampaignNotFound) {
		t.Errorf("pause unknown: %v, want ErrCampaignNotFound", err)
	}
}
