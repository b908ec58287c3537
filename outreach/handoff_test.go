package outreach

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
)

type captureSender struct {
	mu  sync.Mutex
	out []channels.Outbound
}

func (c *captureSender) Channel() channels.Channel { return channels.WeCom }

func (c *captureSender) Send(_ context.Context, m *channels.Outbound) (channels.Receipt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out = append(c.out, *m)
	return channels.Receipt{PlatformID: "1"}, nil
}

func (c *captureSender) sent() []channels.Outbound {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]channels.Outbound(nil), c.out...)
}

func TestRepNotifierPicksTheRepAndSendsACard(t *testing.T) {
	rdb := redistest.Client(t)
	cs := &captureSender{}
	n := NewRepNotifier(rdb, cs, []string{"duty.a", "duty.b"}, "https://gw.example.com/", nil)
	t.Cleanup(func() { _ = n.Close() })

	owned := &contacts.Contact{ID: "c1", Name: "王伟", Owner: "rep.li", Score: 85, Stage: "sql", Tags: []string{"vip", "webinar-nov"}}
	var picked []string
	for _, c := range []*contacts.Contact{owned, {ID: "c2"}, {ID: "c3"}, {ID: "c4"}} {
		rep, err := n.PickRep(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		picked = append(picked, rep)
	}
	if diff := cmp.Diff([]string{"rep.li", "duty.a", "duty.b", "duty.a"}, picked); diff != "" {
		t.Errorf("reps: the owner, else the duty list in turn (-want +got):\n%s", diff)
	}

	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Queues: Queues, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	n.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	if err := n.Notify(t.Context(), "rep.li", owned, "分数达到 85，转为 SQL", "能发一份报价吗？"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(cs.sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := cs.sent()
	if len(got) != 1 {
		t.Fatalf("sent %d cards, want 1", len(got))
	}
	card := got[0]
	if card.Kind != channels.KindWeComTextCard || card.To != "rep.li" || card.Title != "线索待跟进：王伟" || card.URL != "https://gw.example.com/console/#/contacts/c1" {
		t.Errorf("card = %+v", card)
	}
	for _, want := range []string{"分数达到 85", "分数：85", "vip、webinar-nov", "能发一份报价吗？"} {
		if !strings.Contains(card.Description, want) {
			t.Errorf("card description lacks %q:\n%s", want, card.Description)
		}
	}
}
