package outreach

import (
	"errors"
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

// couponExpiry is when the reminder tests' batches expire.
var couponExpiry = couponStart.Add(30 * 24 * time.Hour)

func TestCouponRemindAt(t *testing.T) {
	remindAt := couponExpiry.Add(-72 * time.Hour)
	on := CouponBatch{ExpiresAt: couponExpiry, RemindBefore: 72 * time.Hour, RemindTemplate: "coupon_expiring"}
	tests := []struct {
		name   string
		batch  CouponBatch
		issued time.Time
		want   string
	}{
		{"issued long before", on, couponStart, remindAt.Format(time.RFC3339)},
		{"issued a millisecond before the reminder time", on, remindAt.Add(-time.Millisecond), remindAt.Format(time.RFC3339)},
		{"issued at the reminder time", on, remindAt, "none"},
		{"issued inside the reminder period", on, remindAt.Add(time.Hour), "none"},
		{"switched off", CouponBatch{ExpiresAt: couponExpiry, RemindTemplate: "coupon_expiring"}, couponStart, "none"},
		{"no template", CouponBatch{ExpiresAt: couponExpiry, RemindBefore: time.Hour}, couponStart, "none"},
	}
	for _, tt := range tests {
		got := "none"
		if at, ok := tt.batch.RemindAt(tt.issued); ok {
			got = at.Format(time.RFC3339)
		}
		if got != tt.want {
			t.Errorf("%s: remind at %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestCreateBatchReminderSettings(t *testing.T) {
	f := newCouponFixture(t)
	tests := []struct {
		name    string
		before  time.Duration
		tpl     string
		wantErr string
	}{
		{"negative", -time.Hour, "coupon_expiring", "remind_before -1h0m0s must be from 0"},
		{"too long", 91 * 24 * time.Hour, "coupon_expiring", "must be from 0"},
		{"no template", 72 * time.Hour, "", "remind_template is required"},
		{"template with spaces", 72 * time.Hour, "a b", "must be a template id"},
		{"reaches back before now", 30 * 24 * time.Hour, "coupon_expiring", "reaches back before now"},
		{"on", 72 * time.Hour, "coupon_expiring", ""},
		{"off", 0, "", ""},
	}
	for i, tt := range tests {
		id := fmt.Sprintf("r%d", i)
		_, err := f.c.CreateBatch(f.ctx, CouponBatch{ID: id, Name: "Double 11", ExpiresAt: couponExpiry, RemindBefore: tt.before, RemindTemplate: tt.tpl})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (!errors.Is(err, ErrCouponInvalid) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err %v, want ErrCouponInvalid mentioning %q", tt.name, err, tt.wantErr)
		case tt.wantErr == "":
			b, err := f.c.Batch(f.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if b.RemindBefore != tt.before || b.RemindTemplate != tt.tpl {
				t.Errorf("%s: stored remind_before %s template %q, want %s %q", tt.name, b.RemindBefore, b.RemindTemplate, tt.before, tt.tpl)
			}
		}
	}
}

type reminderFixture struct {
	clock   *testclock.Clock
	store   *contacts.Store
	coupons *Coupons
	pipe    *Pipeline
	mail    *recorder
	batch   CouponBatch
}

// newReminderFixture has an email-only pipeline, and a batch expiring at
// couponExpiry whose codes are reminded of 72 hours before.
func newReminderFixture(t *testing.T, codes ...string) *reminderFixture {
	t.Helper()
	rdb := redistest.Client(t)
	clk := testclock.New(couponStart)
	store, err := contacts.NewStore(rdb, contacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mail := newRecorder(channels.Email)
	p, err := New(rdb, store, renderer{orders: map[string][]channels.Channel{"coupon_expiring": {channels.Email}}}, []Sender{mail},
		Options{Now: clk.Now, MaxRetry: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	cs := NewCoupons(rdb, clk.Now)
	b, err := cs.CreateBatch(t.Context(), CouponBatch{ID: "d11", Name: "Double 11", ExpiresAt: couponExpiry, RemindBefore: 72 * time.Hour, RemindTemplate: "coupon_expiring"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AddCodes(t.Context(), "d11", codes); err != nil {
		t.Fatal(err)
	}
	return &reminderFixture{clock: clk, store: store, coupons: cs, pipe: p, mail: mail, batch: b}
}

// issue makes a contact with an email address, gives it a code and
// schedules the code's reminder, as the issue route does.
func (f *reminderFixture) issue(t *testing.T, who string) (contactID, code string, m *Message) {
	t.Helper()
	res, err := f.store.Apply(t.Context(), contacts.Change{EventID: "seed-" + who, Name: who,
		Identities: []contacts.Identity{{Kind: contacts.KindEmail, Value: who + "@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	code, _, err = f.coupons.Issue(t.Context(), "d11", res.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err = f.pipe.ScheduleCouponReminder(t.Context(), f.batch, res.ContactID, code)
	if err != nil {
		t.Fatal(err)
	}
	return res.ContactID, code, m
}

func TestCouponReminderIsScheduledOnce(t *testing.T) {
	f := newReminderFixture(t, "CODE-A001")
	contactID, code, m := f.issue(t, "wang")
	want := &Message{ID: CouponReminderID("d11", code), Status: StatusScheduled, ContactID: contactID, Template: "coupon_expiring",
		Purpose: channels.Marketing, SendAt: couponExpiry.Add(-72 * time.Hour), CreatedAt: couponStart, UpdatedAt: couponStart,
		Vars:    map[string]any{"coupon": "CODE-A001", "coupon_batch": "d11", "coupon_expires_at": couponExpiry.Format(time.RFC3339)},
		Reminds: &CouponRef{Batch: "d11", Code: "CODE-A001", Auto: true}}
	got, err := f.pipe.Get(t.Context(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored reminder (-want +got):\n%s", diff)
	}
	// Issuing again (same code) and a retried schedule queue nothing new.
	f.clock.Advance(time.Hour)
	again, created, err := f.pipe.ScheduleCouponReminder(t.Context(), f.batch, contactID, code)
	if err != nil || created || again.ID != m.ID || !again.SendAt.Equal(want.SendAt) {
		t.Errorf("second schedule: %+v created %v err %v, want the first one back", again, created, err)
	}
	info, err := f.pipe.inspect.GetTaskInfo(QueueDefault, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(want.SendAt) {
		t.Errorf("task %s: state %v at %s, want scheduled at %s", m.ID, info.State, info.NextProcessAt, want.SendAt)
	}
	// The record outlives its 90-day default by as long as it waits.
	ttl, err := f.pipe.rdb.PTTL(t.Context(), messageKey(m.ID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if min := want.SendAt.Sub(couponStart); ttl < min {
		t.Errorf("record TTL %s is shorter than the wait %s", ttl, min)
	}
}

// TestCouponReminderAtSendTime: redemption, expiry and the other kind of
// reminder are checked right before the platform call.
func TestCouponReminderAtSendTime(t *testing.T) {
	remindAt := couponExpiry.Add(-72 * time.Hour)
	permanent := &channels.SendError{Kind: channels.Permanent, Code: "550", Err: errors.New("mailbox unavailable")}
	tests := []struct {
		name  string
		steps []string // redeem, auto, manual:<id>, fail-next, at:<offset from remindAt>
		want  []string
	}{
		{"unredeemed code is reminded", []string{"auto"}, []string{"auto: sent"}},
		{"redeemed before the reminder", []string{"redeem", "auto"}, []string{"auto: suppressed coupon-redeemed"}},
		{"redeemed a millisecond before", []string{"at:-1ms", "redeem", "at:0s", "auto"}, []string{"auto: suppressed coupon-redeemed"}},
		{"redeemed after the reminder", []string{"auto", "redeem"}, []string{"auto: sent"}},
		{"held until a millisecond before expiry", []string{"at:71h59m59.999s", "auto"}, []string{"auto: sent"}},
		{"held until expiry", []string{"at:72h", "auto"}, []string{"auto: suppressed coupon-expired"}},
		{"manual reminder first", []string{"manual:m1", "auto"}, []string{"m1: sent", "auto: suppressed coupon-reminded"}},
		{"automatic reminder first", []string{"auto", "manual:m1"}, []string{"auto: sent", "m1: suppressed coupon-reminded"}},
		{"manual reminders on two dates", []string{"manual:m1", "manual:m2", "auto"}, []string{"m1: sent", "m2: sent", "auto: suppressed coupon-reminded"}},
		{"a failed automatic reminder frees the code", []string{"fail-next", "auto", "manual:m1"}, []string{"auto: failed", "m1: sent"}},
		{"a failed manual reminder frees the code", []string{"fail-next", "manual:m1", "auto"}, []string{"m1: failed", "auto: sent"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := fmt.Sprintf("CODE-%04d", i)
			f := newReminderFixture(t, code)
			_, _, auto := f.issue(t, "li")
			email := contacts.Identity{Kind: contacts.KindEmail, Value: "li@example.com"}
			f.clock.Set(remindAt)
			var got []string
			for _, step := range tt.steps {
				verb, arg, _ := strings.Cut(step, ":")
				var id string
				switch verb {
				case "at":
					d, err := time.ParseDuration(arg)
					if err != nil {
						t.Fatal(err)
					}
					f.clock.Set(remindAt.Add(d))
					continue
				case "redeem":
					if _, err := f.coupons.Redeem(t.Context(), code, "order-1"); err != nil {
						t.Fatal(err)
					}
					continue
				case "fail-next":
					f.mail.mu.Lock()
					f.mail.script = []error{permanent}
					f.mail.mu.Unlock()
					continue
				case "auto":
					id = auto.ID
				case "manual":
					id = arg
					_, _, err := f.pipe.Submit(t.Context(), Intent{ID: arg, Contact: []contacts.Identity{email}, Template: "coupon_expiring",
						Purpose: channels.Marketing, Vars: CouponVars(f.batch, code), Reminds: &CouponRef{Batch: "d11", Code: code}})
					if err != nil {
						t.Fatal(err)
					}
				}
				runSend(t, f.pipe, id)
				m, err := f.pipe.Get(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				label := step
				if verb == "manual" {
					label = arg
				}
				got = append(got, strings.TrimSpace(label+": "+string(m.Status)+" "+m.Reason))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			sent := 0
			for _, g := range got {
				if strings.HasSuffix(g, ": sent") {
					sent++
				}
			}
			f.mail.mu.Lock()
			delivered := 0
			for _, n := range f.mail.sent {
				delivered += n
			}
			f.mail.mu.Unlock()
			if delivered != sent {
				t.Errorf("the mail server got %d reminders, the records say %d were sent", delivered, sent)
			}
		})
	}
}
