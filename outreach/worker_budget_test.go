package outreach

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/templates"
)

// serverCommands sums the calls in INFO commandstats: what Redis executed,
// scripts' inner commands included.
func serverCommands(t *testing.T, rdb redis.UniversalClient) int64 {
	t.Helper()
	info, err := rdb.Info(t.Context(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(info, "\r\n") {
		_, stats, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(stats, "calls="), ",")
		c, _ := strconv.ParseInt(calls, 10, 64)
		n += c
	}
	return n
}

// TestWorkerRoundTripBudget holds one campaign message's trip through the
// worker (task handler to recorded outcome, asynq's own bookkeeping left
// out) to its budget of round trips and of commands Redis runs, for a sent
// SMS and for a message the daily cap refuses, with the real contact and
// template stores. A change that reads something twice or adds a call per
// message fails here before it shows in the campaign benchmark.
func TestWorkerRoundTripBudget(t *testing.T) {
	ctx := t.Context()
	rdb := redistest.Client(t)
	store, err := contacts.NewStore(rdb, contacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tpls, err := templates.NewStore(rdb, templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rend, err := templates.NewRenderer(templates.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpls.Save(ctx, templates.Template{ID: "promo", Name: "promo", Purpose: channels.Marketing,
		Channels: templates.Channels{SMS: &templates.SMSBody{TemplateCode: "SMS_1", Params: map[string]string{"name": "{{.name}}"}}}}, "ops"); err != nil {
		t.Fatal(err)
	}
	caps, err := NewCaps(rdb, contractRules, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	sms := newRecorder(channels.SMS)
	obs := &pipeObserver{rdb: rdb}
	p, err := New(rdb, store, TemplateRenderer{Store: tpls, Renderer: rend}, []Sender{sms}, Options{Caps: caps, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })

	for _, phone := range []string{"+8613900000001", "+8613900000002"} {
		if _, err := store.Apply(ctx, contacts.Change{Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: phone}},
			Name: "李", Consent: []contacts.ConsentChange{{Channel: "sms", Status: contacts.ConsentOptedIn, Source: "form"}}}); err != nil {
			t.Fatal(err)
		}
	}
	submit := func(id, phone string) *asynq.Task {
		t.Helper()
		if _, _, err := p.Submit(ctx, Intent{ID: id, Contact: []contacts.Identity{{Kind: contacts.KindPhone, Value: phone}}, Template: "promo",
			Vars: map[string]any{"name": "会员"}, Purpose: channels.Marketing, Campaign: "double12"}); err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(taskPayload{ID: id})
		return asynq.NewTask(taskSend, payload)
	}
	hook := &roundTrips{}
	rdb.AddHook(hook)
	run := func(task *asynq.Task) (trips, cmds int64) {
		t.Helper()
		before := serverCommands(t, rdb)
		hook.take()
		if err := p.handleSend(context.Background(), task); err != nil {
			t.Fatal(err)
		}
		got := hook.take()
		after := serverCommands(t, rdb)
		return int64(got.singles + got.batches), after - before - 1 // the second INFO counts itself
	}

	// The first message loads every script, so it is not measured.
	run(submit("warm", "+8613900000001"))

	type cost struct{ Status Status }
	sentTask := submit("m-sent", "+8613900000002")
	cappedTask := submit("m-capped", "+8613900000002")
	sentTrips, sentCmds := run(sentTask)
	cappedTrips, cappedCmds := run(cappedTask)
	var got []cost
	for _, id := range []string{"m-sent", "m-capped"} {
		m, err := p.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, cost{m.Status})
	}
	if diff := cmp.Diff([]cost{{StatusSent}, {StatusCapped}}, got); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
	// The sends reached the observer inside the worker's pipeline.
	heard, err := rdb.HGetAll(ctx, "observed").Result()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"sms|sent": "2"}, heard); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
	stats, err := rdb.HGetAll(ctx, campaignStatsKey("double12")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"|sms|sent": "2", "|none|capped": "1", "|none|capped:sms-daily": "1"}, stats); diff != "" {
		t.Errorf("campaign statistics (-want +got):\n%s", diff)
	}
	t.Logf("sent SMS: %d round trips, %d Redis commands; capped: %d round trips, %d Redis commands", sentTrips, sentCmds, cappedTrips, cappedCmds)
	// Measured: 6 and 43 (sent), 6 and 40 (capped). The command budgets
	// leave two for the contact store's activity index, which it writes
	// behind the change and so now and then inside the measured span.
	budgets := []struct {
		name        string
		trips, cmds int64
		maxTrips    int64
		maxCmds     int64
	}{
		{"sent SMS", sentTrips, sentCmds, 6, 45},
		{"capped", cappedTrips, cappedCmds, 6, 42},
	}
	for _, b := range budgets {
		if b.trips > b.maxTrips || b.cmds > b.maxCmds {
			t.Errorf("%s: %d round trips and %d Redis commands, budget %d and %d", b.name, b.trips, b.cmds, b.maxTrips, b.maxCmds)
		}
	}
}

// pipeObserver counts outcomes per channel in Redis, as the reports do
// (outcomes before a channel was picked count nowhere): in the worker's
// pipeline when offered one, else with a call of its own.
type pipeObserver struct{ rdb redis.UniversalClient }

func (o *pipeObserver) ObserveMessage(ctx context.Context, e MessageEvent) error {
	if e.Channel == "" || e.Channel == noChannel {
		return nil
	}
	return o.rdb.HIncrBy(ctx, "observed", e.Channel+"|"+e.Stat, 1).Err()
}

func (o *pipeObserver) QueueMessage(ctx context.Context, pipe redis.Pipeliner, e MessageEvent) {
	if e.Channel != "" && e.Channel != noChannel {
		pipe.HIncrBy(ctx, "observed", e.Channel+"|"+e.Stat, 1)
	}
}
