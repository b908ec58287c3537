package outreach

import (
	"context"
	"errors"
	"fmt"
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

// renderer serves fixed templates: each has a channel order, and its text
// needs the "name" variable, as a real template with {{.name}} would.
type renderer struct{ orders map[string][]channels.Channel }

var errNoTemplate = errors.New("template not found")

func (r renderer) Order(_ context.Context, id string) ([]channels.Channel, error) {
	o, ok := r.orders[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", errNoTemplate, id)
	}
	return o, nil
}

func (r renderer) Render(_ context.Context, id string, ch channels.Channel, data map[string]any) (Content, error) {
	name, ok := data["name"].(string)
	if !ok || name == "" {
		return Content{}, errors.New(`missing variable "name"`)
	}
	return Content{Version: 3, Text: "hi " + name, TemplateCode: "SMS_1", Params: map[string]string{"name": name}, Subject: "hi", HTML: "<p>hi</p>"}, nil
}

// recorder is a Sender that records what it was asked to send and answers
// with the scripted errors first.
type recorder struct {
	channel channels.Channel
	mu      sync.Mutex
	sent    map[string]int
	script  []error
}

func newRecorder(ch channels.Channel, script ...error) *recorder {
	return &recorder{channel: ch, sent: map[string]int{}, script: script}
}

func (r *recorder) Channel() channels.Channel { return r.channel }

func (r *recorder) Send(_ context.Context, m *channels.Outbound) (channels.Receipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.script) > 0 {
		err := r.script[0]
		r.script = r.script[1:]
		if err != nil {
			return channels.Receipt{}, err
		}
	}
	r.sent[m.ID]++
	return channels.Receipt{PlatformID: "p-" + m.ID}, nil
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent[id]
}

type fixture struct {
	rdb      *redis.Client
	contacts *contacts.Store
	pipe     *Pipeline
}

func newFixture(t *testing.T, senders ...Sender) *fixture {
	return newFixtureWith(t, func(*Options, *redis.Client) {}, senders...)
}

func newFixtureWith(t *testing.T, edit func(*Options, *redis.Client), senders ...Sender) *fixture {
	t.Helper()
	rdb := redistest.Client(t)
	store, err := contacts.NewStore(rdb, contacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := renderer{orders: map[string][]channels.Channel{
		"receipt": {channels.SMS},
		"welcome": {channels.WeCom, channels.SMS, channels.Email},
	}}
	opt := Options{MaxRetry: 3}
	edit(&opt, rdb)
	p, err := New(rdb, store, r, senders, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &fixture{rdb: rdb, contacts: store, pipe: p}
}

// startWorkers runs n asynq servers (n gateway processes) on the fixture's Redis.
func (f *fixture) startWorkers(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		srv := asynq.NewServerFromRedisClient(f.rdb, asynq.Config{
			Concurrency:              4,
			Queues:                   Queues,
			RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return 50 * time.Millisecond },
			DelayedTaskCheckInterval: 100 * time.Millisecond,
			LogLevel:                 asynq.ErrorLevel,
		})
		mux := asynq.NewServeMux()
		f.pipe.Register(mux)
		if err := srv.Start(mux); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Shutdown)
	}
}

func (f *fixture) waitFor(t *testing.T, id string, want Status) *Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := f.pipe.Get(t.Context(), id)
		if err == nil && m.Status == want {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s: status %v (err %v), want %s", id, m, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) contactWith(t *testing.T, ch contacts.Change) {
	t.Helper()
	if _, err := f.contacts.Apply(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
}

var phoneA = contacts.Identity{Kind: contacts.KindPhone, Value: "+8613800138000"}

func TestTransactionalSMSIsSentOnceAndRecorded(t *testing.T) {
	sms := newRecorder(channels.SMS)
	f := newFixture(t, sms)
	f.startWorkers(t, 1)
	in := Intent{ID: "order-1001", Contact: []contacts.Identity{phoneA}, Template: "receipt", Vars: map[string]any{"name": "王伟"}, Purpose: channels.Transactional}
	m, created, err := f.pipe.Submit(t.Context(), in)
	if err != nil || !created || m.Status != StatusScheduled {
		t.Fatalf("Submit = %+v, %v, %v", m, created, err)
	}
	got := f.waitFor(t, "order-1001", StatusSent)
	if _, created, err := f.pipe.Submit(t.Context(), in); err != nil || created {
		t.Fatalf("resubmit: created %v, err %v; want the existing message", created, err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := sms.count("order-1001"); n != 1 {
		t.Fatalf("sent %d times, want 1", n)
	}
	want := Message{ID: "order-1001", Status: StatusSent, Channel: channels.SMS, Kind: channels.KindSMS, ContactID: contacts.IDFor(phoneA),
		Template: "receipt", TemplateVersion: 3, Purpose: channels.Transactional, Attempts: 1, PlatformID: "p-order-1001", Vars: map[string]any{"name": "王伟"}}
	if diff := cmp.Diff(want, *got, cmp.FilterPath(func(p cmp.Path) bool {
		n := p.Last().String()
		return n == ".SendAt" || n == ".CreatedAt" || n == ".UpdatedAt"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	tl, _ := f.contacts.Timeline(t.Context(), got.ContactID, 0)
	var types []string
	for _, e := range tl {
		types = append(types, e.Type)
	}
	if diff := cmp.Diff([]string{"message_sent", "message_queued"}, types); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func TestRoutingFallsThroughPermanentFailures(t *testing.T) {
	wecom := newRecorder(channels.WeCom, &channels.SendError{Kind: channels.Permanent, Code: "84061", Err: errors.New("no relationship")})
	sms := newRecorder(channels.SMS)
	f := newFixture(t, wecom, sms)
	f.startWorkers(t, 1)
	ext := contacts.Identity{Kind: contacts.KindExternalUserID, Value: "wmX"}
	f.contactWith(t, contacts.Change{Identities: []contacts.Identity{ext, phoneA}, Owner: "rep.li"})
	if _, _, err := f.pipe.Submit(t.Context(), Intent{ID: "w1", Contact: []contacts.Identity{ext}, Template: "welcome", Vars: map[string]any{"name": "李"}, Purpose: channels.Service}); err != nil {
		t.Fatal(err)
	}
	m := f.waitFor(t, "w1", StatusSent)
	if m.Channel != channels.SMS || sms.count("w1") != 1 || wecom.count("w1") != 0 {
		t.Errorf("sent on %s (sms %d, wecom %d), want a fallback to sms", m.Channel, sms.count("w1"), wecom.count("w1"))
	}
}

func TestTransientFailuresRetry(t *testing.T) {
	sms := newRecorder(channels.SMS, &channels.SendError{Kind: channels.Transient, Code: "isv.BUSINESS_LIMIT_CONTROL", Err: errors.New("flow control")})
	f := newFixture(t, sms)
	f.startWorkers(t, 1)
	if _, _, err := f.pipe.Submit(t.Context(), Intent{ID: "r1", Contact: []contacts.Identity{phoneA}, Template: "receipt", Vars: map[string]any{"name": "a"}, Purpose: channels.Transactional}); err != nil {
		t.Fatal(err)
	}
	if m := f.waitFor(t, "r1", StatusSent); m.Attempts != 2 || sms.count("r1") != 1 {
		t.Errorf("attempts %d, sends %d; want 2 attempts and 1 send", m.Attempts, sms.count("r1"))
	}
}

func TestTransientFailuresGiveUpAfterMaxRetry(t *testing.T) {
	busy := &channels.SendError{Kind: channels.Transient, Err: errors.New("busy")}
	sms := newRecorder(channels.SMS, busy, busy, busy, busy, busy)
	f := newFixture(t, sms)
	f.startWorkers(t, 1)
	if _, _, err := f.pipe.Submit(t.Context(), Intent{ID: "r2", Contact: []contacts.Identity{phoneA}, Template: "receipt", Vars: map[string]any{"name": "a"}, Purpose: channels.Transactional}); err != nil {
		t.Fatal(err)
	}
	if m := f.waitFor(t, "r2", StatusFailed); m.Attempts != 4 {
		t.Errorf("attempts %d, want 4 (1 + 3 retries)", m.Attempts)
	}
}

func TestMarketingNeedsConsent(t *testing.T) {
	sms := newRecorder(channels.SMS)
	f := newFixture(t, sms)
	f.startWorkers(t, 1)
	in := Intent{ID: "mk1", Contact: []contacts.Identity{phoneA}, Template: "receipt", Vars: map[string]any{"name": "a"}, Purpose: channels.Marketing}
	if _, _, err := f.pipe.Submit(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if m := f.waitFor(t, "mk1", StatusSuppressed); sms.count("mk1") != 0 || m.Error == "" {
		t.Errorf("suppressed message was sent or has no reason: %+v", m)
	}
	f.contactWith(t, contacts.Change{Identities: []contacts.Identity{phoneA}, Consent: []contacts.ConsentChange{{Channel: "sms", Status: "opted_in", Source: "web form"}}})
	in.ID = "mk2"
	if _, _, err := f.pipe.Submit(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	f.waitFor(t, "mk2", StatusSent)
}

func TestSubmitRejectsWhatCannotBeSent(t *testing.T) {
	f := newFixture(t, newRecorder(channels.SMS))
	email := contacts.Identity{Kind: contacts.KindEmail, Value: "a@example.com"}
	tests := []struct {
		name string
		in   Intent
		want error
	}{
		{"no template", Intent{Contact: []contacts.Identity{phoneA}, Purpose: channels.Service}, ErrInvalid},
		{"bad purpose", Intent{Contact: []contacts.Identity{phoneA}, Template: "receipt", Purpose: "spam"}, ErrInvalid},
		{"unknown template", Intent{Contact: []contacts.Identity{phoneA}, Template: "nope", Purpose: channels.Service}, errNoTemplate},
		{"forced channel without body", Intent{Contact: []contacts.Identity{phoneA}, Template: "receipt", Channel: channels.Email, Purpose: channels.Service}, ErrInvalid},
		{"forced channel unreachable", Intent{Contact: []contacts.Identity{email}, Template: "receipt", Channel: channels.SMS, Vars: map[string]any{"name": "a"}, Purpose: channels.Service}, ErrUnreachable},
		{"text on sms", Intent{Contact: []contacts.Identity{phoneA}, Text: "hi", Channel: channels.SMS, Purpose: channels.Service}, ErrInvalid},
		{"text without channel", Intent{Contact: []contacts.Identity{phoneA}, Text: "hi", Purpose: channels.Service}, ErrInvalid},
		{"text and template", Intent{Contact: []contacts.Identity{phoneA}, Text: "hi", Template: "receipt", Channel: channels.WeCom, Purpose: channels.Service}, ErrInvalid},
		{"text unreachable", Intent{Contact: []contacts.Identity{phoneA}, Text: "hi", Channel: channels.OfficialAccount, Purpose: channels.Service}, ErrUnreachable},
		{"far future", Intent{Contact: []contacts.Identity{phoneA}, Template: "receipt", Purpose: channels.Service, SendAt: time.Now().Add(3 * 365 * 24 * time.Hour)}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := f.pipe.Submit(t.Context(), tt.in); !errors.Is(err, tt.want) {
				t.Errorf("Submit = %v, want %v", err, tt.want)
			}
		})
	}
	if _, _, err := f.pipe.Submit(t.Context(), Intent{Contact: []contacts.Identity{phoneA}, Template: "receipt", Purpose: channels.Service}); err == nil || err.Error() != `missing variable "name"` {
		t.Errorf("missing variable: %v", err)
	}
	if n := f.rdb.Keys(t.Context(), "*").Val(); len(n) != 0 {
		t.Errorf("rejected intents wrote %v", n)
	}
}

func TestScheduledMessageWaitsForSendAt(t *testing.T) {
	sms := newRecorder(channels.SMS)
	f := newFixture(t, sms)
	f.startWorkers(t, 1)
	at := time.Now().Add(1500 * time.Millisecond)
	if _, _, err := f.pipe.Submit(t.Context(), Intent{ID: "later", Contact: []contacts.Identity{phoneA}, Template: "receipt", Vars: map[string]any{"name": "a"}, Purpose: channels.Service, SendAt: at}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if m, _ := f.pipe.Get(t.Context(), "later"); m.Status != StatusScheduled {
		t.Fatalf("status %s before send_at, want scheduled", m.Status)
	}
	f.waitFor(t, "later", StatusSent)
	if time.Now().Before(at.Truncate(time.Second)) { // asynq schedules at one-second resolution
		t.Error("sent before send_at")
	}
}

func TestInterruptedSendIsNotRepeated(t *testing.T) {
	sms := newRecorder(channels.SMS)
	f := newFixture(t, sms)
	// Submit without workers, then leave the record as a worker that died mid-send would.
	if _, _, err := f.pipe.Submit(t.Context(), Intent{ID: "crash", Contact: []contacts.Identity{phoneA}, Template: "receipt", Vars: map[string]any{"name": "a"}, Purpose: channels.Service}); err != nil {
		t.Fatal(err)
	}
	if moved, _, err := f.pipe.records.move(t.Context(), "crash", []Status{StatusScheduled}, StatusSending, time.Now(), true); !moved || err != nil {
		t.Fatalf("claim: %v %v", moved, err)
	}
	f.startWorkers(t, 1)
	m := f.waitFor(t, "crash", StatusFailed)
	if sms.count("crash") != 0 || m.Error == "" {
		t.Errorf("an interrupted send was repeated (%d) or has no reason: %+v", sms.count("crash"), m)
	}
}

func TestManyWorkersSendEachMessageOnce(t *testing.T) {
	sms := newRecorder(channels.SMS)
	f := newFixture(t, sms)
	const n = 200
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("bulk-%d", i)
		phone := contacts.Identity{Kind: contacts.KindPhone, Value: fmt.Sprintf("+861380000%04d", i)}
		if _, _, err := f.pipe.Submit(t.Context(), Intent{ID: id, Contact: []contacts.Identity{phone}, Template: "receipt", Vars: map[string]any{"name": "a"}, Purpose: channels.Transactional}); err != nil {
			t.Fatal(err)
		}
	}
	f.startWorkers(t, 3)
	for i := 0; i < n; i++ {
		f.waitFor(t, fmt.Sprintf("bulk-%d", i), StatusSent)
	}
	for i := 0; i < n; i++ {
		if c := sms.count(fmt.Sprintf("bulk-%d", i)); c != 1 {
			t.Fatalf("bulk-%d sent %d times", i, c)
		}
	}
}

func TestCancelledReminderIsNeverSent(t *testing.T) {
	sms := newRecorder(channels.SMS)
	f := newFixture(t, sms)
	f.startWorkers(t, 1)
	in := Intent{ID: "remind-1", Contact: []contacts.Identity{phoneA}, Template: "receipt", Vars: map[string]any{"name": "a"}, Purpose: channels.Service, SendAt: time.Now().Add(time.Second)}
	if _, _, err := f.pipe.Submit(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	m, err := f.pipe.Cancel(t.Context(), "remind-1")
	if err != nil || m.Status != StatusCancelled {
		t.Fatalf("Cancel = %+v, %v", m, err)
	}
	in.ID, in.SendAt = "remind-2", time.Time{}
	if _, _, err := f.pipe.Submit(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	f.waitFor(t, "remind-2", StatusSent)
	time.Sleep(1500 * time.Millisecond) // past remind-1's send time
	if sms.count("remind-1") != 0 {
		t.Error("a cancelled reminder was sent")
	}
	if _, err := f.pipe.Cancel(t.Context(), "remind-2"); !errors.Is(err, ErrTooLate) {
		t.Errorf("cancelling a sent message: %v, want ErrTooLate", err)
	}
	if _, err := f.pipe.Cancel(t.Context(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancelling an unknown message: %v, want ErrNotFound", err)
	}
}

func TestCapsHoldAcrossWorkers(t *testing.T) {
	sms := newRecorder(channels.SMS)
	f := newFixtureWith(t, func(o *Options, rdb *redis.Client) {
		caps, err := NewCaps(rdb, []CapRule{{Name: "marketing-weekly", Purpose: "marketing", Channel: "any", Max: 3, Window: 168 * time.Hour}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Caps = caps
	}, sms)
	f.contactWith(t, contacts.Change{Identities: []contacts.Identity{phoneA}, Consent: []contacts.ConsentChange{{Channel: "sms", Status: "opted_in", Source: "form"}}})
	const n = 12
	for i := 0; i < n; i++ {
		if _, _, err := f.pipe.Submit(t.Context(), Intent{ID: fmt.Sprintf("promo-%d", i), Contact: []contacts.Identity{phoneA}, Template: "receipt", Vars: map[string]any{"name": "a"}, Purpose: channels.Marketing}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.pipe.Submit(t.Context(), Intent{ID: "txn", Contact: []contacts.Identity{phoneA}, Template: "receipt", Vars: map[string]any{"name": "a"}, Purpose: channels.Transactional}); err != nil {
		t.Fatal(err)
	}
	f.startWorkers(t, 3)
	counts := map[Status]int{}
	for i := 0; i < n; i++ {
		deadline := time.Now().Add(10 * time.Second)
		for {
			m, _ := f.pipe.Get(t.Context(), fmt.Sprintf("promo-%d", i))
			if m.Status.Terminal() {
				counts[m.Status]++
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("promo-%d stuck in %s", i, m.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if diff := cmp.Diff(map[Status]int{StatusSent: 3, StatusCapped: n - 3}, counts); diff != "" {
		t.Errorf("marketing outcomes under a max-3 cap (-want +got):\n%s", diff)
	}
	f.waitFor(t, "txn", StatusSent) // transactional messages are exempt
}

func TestQuietHoursDeferMarketingOnly(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// asynq schedules on the real clock, so the quiet window is built around now.
	now := time.Now().In(shanghai)
	windowEnd := now.Add(2 * time.Hour).Truncate(time.Minute)
	sms := newRecorder(channels.SMS)
	f := newFixtureWith(t, func(o *Options, _ *redis.Client) {
		q, err := NewQuietHours([]QuietRule{{Channels: []string{"sms"}, Start: now.Add(-time.Hour).Format("15:04"), End: windowEnd.Format("15:04"), Zone: shanghai}})
		if err != nil {
			t.Fatal(err)
		}
		o.Quiet = q
	}, sms)
	f.contactWith(t, contacts.Change{Identities: []contacts.Identity{phoneA}, Consent: []contacts.ConsentChange{{Channel: "sms", Status: "opted_in", Source: "form"}}})
	f.startWorkers(t, 1)
	for _, in := range []Intent{
		{ID: "night-promo", Purpose: channels.Marketing},
		{ID: "night-receipt", Purpose: channels.Transactional},
	} {
		in.Contact, in.Template, in.Vars = []contacts.Identity{phoneA}, "receipt", map[string]any{"name": "a"}
		if _, _, err := f.pipe.Submit(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	f.waitFor(t, "night-receipt", StatusSent)
	m := f.waitFor(t, "night-promo", StatusDeferred)
	if want := windowEnd; !m.SendAt.Equal(want) {
		t.Errorf("deferred to %v, want the window's end %v", m.SendAt, want)
	}
	if sms.count("night-promo") != 0 {
		t.Error("a marketing message went out in quiet hours")
	}
	info, err := asynq.NewInspectorFromRedisClient(f.rdb).GetTaskInfo(QueueDefault, fmt.Sprintf("night-promo@%d", m.SendAt.Unix()))
	if err != nil || info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(m.SendAt) {
		t.Errorf("no task scheduled for the window's end: %+v, %v", info, err)
	}
}

func TestOutcomeUnknownIsNotResentButReceiptSettlesIt(t *testing.T) {
	unknown := &channels.SendError{Kind: channels.Transient, Err: fmt.Errorf("read timeout after the request was written: %w", channels.ErrOutcomeUnknown)}
	sms := newRecorder(channels.SMS, unknown)
	f := newFixture(t, sms)
	f.startWorkers(t, 1)
	if _, _, err := f.pipe.Submit(t.Context(), Intent{ID: "maybe", Contact: []contacts.Identity{phoneA}, Template: "receipt", Vars: map[string]any{"name": "a"}, Purpose: channels.Transactional}); err != nil {
		t.Fatal(err)
	}
	f.waitFor(t, "maybe", StatusFailed)
	time.Sleep(300 * time.Millisecond) // a retry would have come by now
	if m, _ := f.pipe.Get(t.Context(), "maybe"); m.Attempts != 1 || m.Status != StatusFailed {
		t.Fatalf("an unknown outcome was retried: %+v", m)
	}
	// The platform's receipt proves it went out.
	if err := f.pipe.MarkDelivered(t.Context(), "maybe"); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.pipe.Get(t.Context(), "maybe"); m.Status != StatusDelivered || m.Error != "" {
		t.Errorf("after the receipt: %s %q, want delivered", m.Status, m.Error)
	}
}
