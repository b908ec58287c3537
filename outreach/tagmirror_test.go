package outreach

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
)

type markCall struct {
	User, External string
	Add, Remove    []string
}

type marker struct {
	mu     sync.Mutex
	calls  []markCall
	script []error
}

func (m *marker) MarkTag(_ context.Context, user, ext string, add, remove []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, markCall{user, ext, add, remove})
	if len(m.script) > 0 {
		err := m.script[0]
		m.script = m.script[1:]
		return err
	}
	return nil
}

func (m *marker) got() []markCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]markCall(nil), m.calls...)
}

func TestTagMirrorCopiesMappedTagsToWeCom(t *testing.T) {
	rdb := redistest.Client(t)
	mk := &marker{script: []error{&channels.SendError{Kind: channels.Transient, Code: "-1", Err: errors.New("system busy")}}}
	m := NewTagMirror(rdb, mk, map[string]string{"vip": "etVIP", "webinar-nov": "etWEB"}, nil)
	t.Cleanup(func() { _ = m.Close() })
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Queues: Queues, LogLevel: asynq.ErrorLevel,
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return 50 * time.Millisecond }, DelayedTaskCheckInterval: 100 * time.Millisecond})
	mux := asynq.NewServeMux()
	m.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)

	onWeCom := &contacts.Contact{Owner: "rep.li", Identities: map[string][]string{contacts.KindExternalUserID: {"wmX"}}}
	if err := m.Mirror(t.Context(), onWeCom, []string{"vip", "unmapped"}, []string{"webinar-nov"}); err != nil {
		t.Fatal(err)
	}
	// Not on WeCom, or nothing mapped: nothing is queued.
	_ = m.Mirror(t.Context(), &contacts.Contact{Identities: map[string][]string{contacts.KindPhone: {"+8613800138000"}}}, []string{"vip"}, nil)
	_ = m.Mirror(t.Context(), onWeCom, []string{"unmapped"}, nil)

	deadline := time.Now().Add(10 * time.Second)
	for len(mk.got()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	want := []markCall{{"rep.li", "wmX", []string{"etVIP"}, []string{"etWEB"}}, {"rep.li", "wmX", []string{"etVIP"}, []string{"etWEB"}}}
	if diff := cmp.Diff(want, mk.got()); diff != "" {
		t.Errorf("MarkTag calls: a busy answer is retried once, nothing else is sent (-want +got):\n%s", diff)
	}
}
