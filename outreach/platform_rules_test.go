package outreach

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/internal/testclock"
)

// TestWeComGroupSendDailyEdge: one customer group-send per customer in any
// 24 hours, whatever the purpose; the next one fits at exactly +24h.
func TestWeComGroupSendDailyEdge(t *testing.T) {
	rdb := redistest.Client(t)
	clock := testclock.New(capT0)
	caps := newTestCaps(t, rdb, PlatformRules(), clock)
	steps := []struct {
		at  time.Duration
		msg string
	}{
		{0, "a"}, {time.Hour, "b"}, {24*time.Hour - time.Millisecond, "c"}, {24 * time.Hour, "d"}, {24*time.Hour + time.Millisecond, "e"},
	}
	var got []string
	for _, s := range steps {
		clock.Set(capT0.Add(s.at))
		_, err := caps.Reserve(t.Context(), CapRequest{ContactID: "c1", MessageID: s.msg, Channel: "wecom", Kind: channels.KindWeComGroupTask, Purpose: "marketing"})
		got = append(got, s.msg+": "+capOutcome(err))
	}
	want := []string{
		"a: ok",
		"b: capped by wecom-groupsend-daily until +24h0m0s",
		"c: capped by wecom-groupsend-daily until +24h0m0s",
		"d: ok",
		"e: capped by wecom-groupsend-daily until +48h0m0s",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("group-send quota (-want +got):\n%s", diff)
	}
	rules := caps.Rules()
	if len(rules) != 1 || rules[0].Name != RuleWeComGroupSendDaily || rules[0].Max != 1 || rules[0].Window != 24*time.Hour {
		t.Errorf("Rules() = %+v, want the built-in group-send quota", rules)
	}
}

// oaRenderer serves official-account templates: "oa-text" has only a
// customer-service text, "oa-tpl" also a template message.
type oaRenderer struct{}

func (oaRenderer) Order(_ context.Context, id string) ([]channels.Channel, error) {
	switch id {
	case "oa-text", "oa-tpl":
		return []channels.Channel{channels.OfficialAccount}, nil
	}
	return nil, fmt.Errorf("%w: %s", errNoTemplate, id)
}

func (oaRenderer) Render(_ context.Context, id string, _ channels.Channel, _ map[string]any) (Content, error) {
	c := Content{Version: 1, Text: "双十一会员日"}
	if id == "oa-tpl" {
		c.TemplateID, c.Fields = "TPL-1", map[string]string{"first": "双十一会员日"}
	}
	return c, nil
}

// oaRecorder records what reached the official-account sender.
type oaRecorder struct {
	script []error
	sent   []string
}

func (r *oaRecorder) Channel() channels.Channel { return channels.OfficialAccount }

func (r *oaRecorder) Send(_ context.Context, m *channels.Outbound) (channels.Receipt, error) {
	if len(r.script) > 0 {
		err := r.script[0]
		r.script = r.script[1:]
		if err != nil {
			return channels.Receipt{}, err
		}
	}
	r.sent = append(r.sent, m.ID+" "+m.Kind+" template_id="+m.TemplateID)
	return channels.Receipt{Kind: m.Kind}, nil
}

// runSend runs a message's send task as a worker would.
func runSend(t *testing.T, p *Pipeline, id string) {
	t.Helper()
	payload, _ := json.Marshal(taskPayload{ID: id})
	if err := p.handleSend(t.Context(), asynq.NewTask(taskSend, payload)); err != nil {
		t.Fatalf("send %s: %v", id, err)
	}
}

// TestOAServiceWindow: a customer-service message goes only before the
// follower's last inbound + 48 h; at the edge and after, a template without
// a template message is capped by oa-service-window (named in the message
// and in the campaign statistics), and one with a template message goes to
// the sender, which sends it as a template message.
func TestOAServiceWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 11, 20, 0, 0, 0, time.UTC)
	clock := testclock.New(t0)
	rdb := redistest.Client(t)
	store, err := contacts.NewStore(rdb, contacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	oa := &oaRecorder{}
	p, err := New(rdb, store, oaRenderer{}, []Sender{oa}, Options{Now: clock.Now, MaxRetry: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	follower := contacts.Identity{Kind: contacts.KindOpenID, Value: "oFollower1"}
	_, err = store.Apply(t.Context(), contacts.Change{EventID: "in-1", Identities: []contacts.Identity{follower}, At: t0, Touch: true, Channel: "officialaccount"})
	if err != nil {
		t.Fatal(err)
	}
	stranger := contacts.Identity{Kind: contacts.KindOpenID, Value: "oNeverWrote"}
	if _, err := store.Apply(t.Context(), contacts.Change{EventID: "in-2", Identities: []contacts.Identity{stranger}, At: t0}); err != nil {
		t.Fatal(err)
	}

	type outcome struct {
		Status  Status
		Reason  string
		Kind    string
		Channel channels.Channel
	}
	tests := []struct {
		name     string
		at       time.Duration
		contact  contacts.Identity
		template string
		script   []error
		want     outcome
	}{
		{"just inside the window", 48*time.Hour - time.Millisecond, follower, "oa-text", nil, outcome{StatusSent, "", "text", "officialaccount"}},
		{"at the edge", 48 * time.Hour, follower, "oa-text", nil, outcome{StatusCapped, RuleOAServiceWindow, "", ""}},
		{"never wrote", 0, stranger, "oa-text", nil, outcome{StatusCapped, RuleOAServiceWindow, "", ""}},
		{"template message instead", 72 * time.Hour, follower, "oa-tpl", nil, outcome{StatusSent, "", "text", "officialaccount"}},
		{"WeChat says closed", time.Hour, follower, "oa-text",
			[]error{&channels.SendError{Kind: channels.OutsideWindow, Code: "45015", Err: fmt.Errorf("response out of time limit")}},
			outcome{StatusCapped, RuleOAServiceWindow, "", ""}},
	}
	for i, tt := range tests {
		clock.Set(t0.Add(tt.at))
		oa.script = tt.script
		id := fmt.Sprintf("oa-%d", i)
		if _, err := p.SubmitBatch(t.Context(), Batch{Purpose: channels.Marketing, Campaign: "nov11",
			Items: []BatchItem{{ID: id, ContactID: contactOf(t, store, tt.contact), Template: tt.template, Variant: "main"}}}); err != nil {
			t.Fatal(err)
		}
		runSend(t, p, id)
		m, err := p.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		got := outcome{m.Status, m.Reason, m.Kind, m.Channel}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s\nerror: %s", tt.name, diff, m.Error)
		}
		if tt.want.Status == StatusCapped && tt.script == nil && !strings.Contains(m.Error, "capped by oa-service-window") {
			t.Errorf("%s: error %q does not name the rule", tt.name, m.Error)
		}
	}
	gotSent := oa.sent
	wantSent := []string{"oa-0 text template_id=", "oa-3 text template_id=TPL-1"}
	if diff := cmp.Diff(wantSent, gotSent); diff != "" {
		t.Errorf("reached the sender (-want +got):\n%s", diff)
	}
	stats, err := (&Campaigns{rdb: rdb}).Stats(t.Context(), "nov11")
	if err != nil {
		t.Fatal(err)
	}
	wantTotals := map[string]int64{"queued": 5, "sent": 2, "capped": 3, "capped:oa-service-window": 3}
	if diff := cmp.Diff(wantTotals, stats.Totals); diff != "" {
		t.Errorf("campaign totals (-want +got):\n%s", diff)
	}
}

func contactOf(t *testing.T, store *contacts.Store, id contacts.Identity) string {
	t.Helper()
	cid, err := store.Lookup(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return cid
}
