package outreach

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
)

// flakyNotifier fails its first calls, as a Redis hiccup would, then hands
// over to the real notifier.
type flakyNotifier struct {
	fail int
	next OwnerNotifier
}

func (f *flakyNotifier) CampaignPaused(ctx context.Context, n GuardrailNotice) error {
	if f.fail > 0 {
		f.fail--
		return errors.New("redis: connection reset")
	}
	return f.next.CampaignPaused(ctx, n)
}

// TestGuardrailNoticeOncePerTrip: a trip queues one textcard to the owner
// (else the team lead) with the KPI and figures and the console link,
// however often dispatch runs again, and also when the step that paused
// the campaign failed before it could queue the card.
func TestGuardrailNoticeOncePerTrip(t *testing.T) {
	tests := []struct {
		name     string
		owner    string
		failures int
		stats    map[string]int64 // counted before dispatch
		guard    Guardrail
		want     channelsCard
	}{
		{
			name: "low open rate to the owner", owner: "zhangsan",
			stats: map[string]int64{"sent": 4, "opened": 1}, guard: Guardrail{MinSends: 4, MinOpenRate: 0.5},
			want: channelsCard{To: "zhangsan", Title: "活动已自动暂停：Double 11",
				Description: "触发指标：打开率 25.0%（4 次发送，1 次打开），低于阈值 50.0%\n请检查内容和受众，然后在控制台恢复或取消活动。",
				URL:         "https://gw.example.com/console/#/campaigns/g0"},
		},
		{
			name: "unsubscribes to the lead, after a failed hand-over", failures: 1,
			stats: map[string]int64{"sent": 50, "opened": 40, "unsubscribed": 3}, guard: Guardrail{MinSends: 10, MinOpenRate: 0.1, MaxUnsubscribeRate: 0.02},
			want: channelsCard{To: "lead.wang", Title: "活动已自动暂停：Double 11",
				Description: "触发指标：退订率 6.0%（50 次发送，3 人退订），高于阈值 2.0%\n请检查内容和受众，然后在控制台恢复或取消活动。",
				URL:         "https://gw.example.com/console/#/campaigns/g1"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCampaignFixture(t)
			cards := &captureSender{}
			n := NewRepNotifier(f.rdb, cards, nil, "https://gw.example.com/", nil)
			n.SetPolicy(HandoffPolicy{Lead: "lead.wang"})
			t.Cleanup(func() { _ = n.Close() })
			f.cs.opt.Notifier = &flakyNotifier{fail: tt.failures, next: n}
			f.seed(t, 10, "vip")
			id := []string{"g0", "g1"}[i]
			c := abCampaign(id)
			c.Owner, c.Guardrail = tt.owner, &tt.guard
			if _, err := f.cs.Create(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			for stat, k := range tt.stats {
				for range k {
					if err := f.pipe.CountCampaign(t.Context(), id, "a", "email", stat); err != nil {
						t.Fatal(err)
					}
				}
			}
			for run := 0; run < 3; run++ {
				payload := []byte(`{"id":"` + id + `"}`)
				err := f.cs.handleDispatch(t.Context(), asynq.NewTask(taskDispatch, payload))
				if run < tt.failures {
					if err == nil {
						t.Fatalf("run %d: the failed hand-over must fail the step so asynq runs it again", run)
					}
					continue
				}
				if err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
			}
			if got := f.get(t, id); got.Status != CampaignPaused || got.Dispatched != 3 {
				t.Fatalf("campaign %s dispatched %d, want paused after the first batch of 3", got.Status, got.Dispatched)
			}
			// A step whose mark of the hand-over was lost hands it over again:
			// the task id refuses the duplicate.
			if err := f.rdb.HDel(t.Context(), campaignKey(id), "owner_notified").Err(); err != nil {
				t.Fatal(err)
			}
			f.dispatch(t, id)
			pending, err := f.pipe.inspect.ListPendingTasks(QueueCritical)
			if err != nil {
				t.Fatal(err)
			}
			if len(pending) != 1 {
				t.Fatalf("%d notices queued, want exactly 1", len(pending))
			}
			srv := asynq.NewServerFromRedisClient(f.rdb, asynq.Config{Queues: map[string]int{QueueCritical: 1}, LogLevel: asynq.ErrorLevel})
			mux := asynq.NewServeMux()
			n.Register(mux)
			if err := srv.Start(mux); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Shutdown)
			deadline := time.Now().Add(10 * time.Second)
			for len(cards.sent()) == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			var got []channelsCard
			for _, m := range cards.sent() {
				got = append(got, channelsCard{To: m.To, Title: m.Title, Description: m.Description, URL: m.URL, Kind: m.Kind})
			}
			tt.want.Kind = "textcard"
			if diff := cmp.Diff([]channelsCard{tt.want}, got); diff != "" {
				t.Errorf("cards (-want +got):\n%s", diff)
			}
		})
	}
}

type channelsCard struct {
	To, Title, Description, URL, Kind string
}
