package outreach

import (
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
)

func TestHandoffIsChasedUntilFollowedUp(t *testing.T) {
	rdb := redistest.Client(t)
	cs := &captureSender{}
	n := NewRepNotifier(rdb, cs, nil, "https://gw.example.com", nil)
	n.SetPolicy(HandoffPolicy{SLA: time.Second, Lead: "lead.wang"})
	t.Cleanup(func() { _ = n.Close() })
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Queues: Queues, LogLevel: asynq.ErrorLevel, DelayedTaskCheckInterval: 100 * time.Millisecond})
	mux := asynq.NewServeMux()
	n.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)

	chased := &contacts.Contact{ID: "c-chased", Name: "王伟"}
	done := &contacts.Contact{ID: "c-done", Name: "李娜"}
	for _, c := range []*contacts.Contact{chased, done} {
		if err := n.Opened(t.Context(), c, "rep.li", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.FollowedUp(t.Context(), "c-done", time.Now()); err != nil {
		t.Fatal(err)
	}
	if latest, _ := n.LatestOpen(t.Context(), "rep.li"); latest != "c-done" {
		t.Errorf("LatestOpen = %q, want the last hand-off", latest)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(cs.sent()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // nothing else may follow
	var got []string
	for _, m := range cs.sent() {
		got = append(got, m.To+": "+m.Title)
	}
	want := []string{"rep.li: 跟进提醒：王伟", "lead.wang: 线索超时未跟进：王伟"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("cards = %q, want %q (the followed-up lead is not chased)", got, want)
	}
	if err := n.FollowedUp(t.Context(), "c-unknown", time.Now()); !errors.Is(err, ErrNoOpenHandoff) {
		t.Errorf("FollowedUp without a hand-off: %v", err)
	}
}
