package outreach

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
)

// heard records what an observer is told, as one line per call.
type heard struct {
	mu    sync.Mutex
	lines []string
}

func (h *heard) add(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, s)
}

func (h *heard) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lines...)
}

func (h *heard) ObserveMessage(_ context.Context, e MessageEvent) error {
	h.add(e.MessageID + " " + e.ContactID + " " + e.Campaign + " " + e.Channel + " " + e.Stat)
	return nil
}

func (h *heard) HandoffOpened(_ context.Context, rep, contactID string, at time.Time) error {
	h.add("opened " + rep + " " + contactID)
	return nil
}

func (h *heard) HandoffFollowedUp(_ context.Context, rep, contactID string, opened, at time.Time) error {
	h.add("followed_up " + rep + " " + contactID + " after " + at.Sub(opened).String())
	return nil
}

func (h *heard) HandoffBreached(_ context.Context, rep, contactID string, at time.Time) error {
	h.add("breached " + rep + " " + contactID)
	return nil
}

func TestObserverHearsMessageOutcomes(t *testing.T) {
	obs := &heard{}
	wecom := newRecorder(channels.WeCom, &channels.SendError{Kind: channels.Permanent, Code: "84061", Err: errors.New("no relationship")})
	sms := newRecorder(channels.SMS)
	f := newFixtureWith(t, func(o *Options, _ *redis.Client) { o.Observer = obs }, wecom, sms)
	f.startWorkers(t, 1)
	ext := contacts.Identity{Kind: contacts.KindExternalUserID, Value: "wmX"}
	f.contactWith(t, contacts.Change{Identities: []contacts.Identity{ext, phoneA}, Owner: "rep.li"})
	for _, id := range []string{"w1", "w2"} {
		if _, _, err := f.pipe.Submit(t.Context(), Intent{ID: id, Contact: []contacts.Identity{ext}, Template: "welcome", Vars: map[string]any{"name": "李"}, Purpose: channels.Service, Campaign: "spring"}); err != nil {
			t.Fatal(err)
		}
		f.waitFor(t, id, StatusSent)
	}
	if err := f.pipe.MarkDelivered(t.Context(), "w1"); err != nil {
		t.Fatal(err)
	}
	if err := f.pipe.MarkUndelivered(t.Context(), "w2", "MOBILE_NUMBER_ILLEGAL"); err != nil {
		t.Fatal(err)
	}
	if err := f.pipe.MarkDelivered(t.Context(), "w1"); err != nil { // a repeated receipt
		t.Fatal(err)
	}
	c := contacts.IDFor(ext)
	want := []string{
		"w1 " + c + " spring wecom failed", "w1 " + c + " spring sms sent",
		"w2 " + c + " spring wecom sent", // wecom's scripted failure was used up
		"w1 " + c + " spring sms delivered", "w2 " + c + " spring wecom failed",
	}
	if diff := cmp.Diff(want, obs.all()); diff != "" {
		t.Errorf("observed (-want +got)\n%s", diff)
	}
}

func TestObserverHearsHandoffs(t *testing.T) {
	rdb := redistest.Client(t)
	obs := &heard{}
	n := NewRepNotifier(rdb, &captureSender{}, nil, "https://gw.example.com", nil)
	n.SetPolicy(HandoffPolicy{SLA: time.Second})
	n.SetObserver(obs)
	t.Cleanup(func() { _ = n.Close() })
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Queues: Queues, LogLevel: asynq.ErrorLevel, DelayedTaskCheckInterval: 100 * time.Millisecond})
	mux := asynq.NewServeMux()
	n.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)

	opened := time.UnixMilli(time.Now().UnixMilli()) // hand-offs keep milliseconds
	for _, id := range []string{"c-late", "c-done"} {
		if err := n.Opened(t.Context(), &contacts.Contact{ID: id}, "rep.li", opened); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.FollowedUp(t.Context(), "c-done", opened.Add(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := n.FollowedUp(t.Context(), "c-done", opened.Add(2*time.Hour)); !errors.Is(err, ErrNoOpenHandoff) {
		t.Errorf("second follow-up: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(obs.all()) < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	want := []string{"opened rep.li c-late", "opened rep.li c-done", "followed_up rep.li c-done after 1h30m0s", "breached rep.li c-late"}
	if diff := cmp.Diff(want, obs.all()); diff != "" {
		t.Errorf("observed (-want +got)\n%s", diff)
	}
}
