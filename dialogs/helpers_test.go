package dialogs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

// fakeActions records every action as a line and keeps a small contact model
// (tags, score, stage) that the tests feed back into each Inbound.
type fakeActions struct {
	mu      sync.Mutex
	log     []string
	keys    []string
	tags    map[string]map[string]bool
	score   map[string]int
	stage   map[string]string
	coupons int
	failOn  map[string]error // action name -> error for its next call
}

func newFakeActions() *fakeActions {
	return &fakeActions{tags: map[string]map[string]bool{}, score: map[string]int{}, stage: map[string]string{}, failOn: map[string]error{}}
}

func (f *fakeActions) record(t Target, name, format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err, ok := f.failOn[name]; ok {
		delete(f.failOn, name)
		f.log = append(f.log, fmt.Sprintf("%s %s FAILED", name, fmt.Sprintf(format, args...)))
		return err
	}
	f.log = append(f.log, name+" "+fmt.Sprintf(format, args...))
	f.keys = append(f.keys, t.Key)
	return nil
}

func (f *fakeActions) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.log
	f.log = nil
	return out
}

func (f *fakeActions) Tag(_ context.Context, t Target, tag string) error {
	if err := f.record(t, "tag", "%s", tag); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tags[t.ContactID] == nil {
		f.tags[t.ContactID] = map[string]bool{}
	}
	f.tags[t.ContactID][tag] = true
	return nil
}

func (f *fakeActions) Untag(_ context.Context, t Target, tag string) error {
	if err := f.record(t, "untag", "%s", tag); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tags[t.ContactID], tag)
	return nil
}

func (f *fakeActions) Score(_ context.Context, t Target, delta int) error {
	if err := f.record(t, "score", "%s", scoreText(delta)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.score[t.ContactID] += delta
	return nil
}

func (f *fakeActions) SetStage(_ context.Context, t Target, stage string) error {
	if err := f.record(t, "stage", "%s", stage); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stage[t.ContactID] = stage
	return nil
}

func (f *fakeActions) Send(_ context.Context, t Target, r Reply) error {
	return f.record(t, "send", "%s %s", t.Channel, replyText(r))
}

func (f *fakeActions) IssueCoupon(_ context.Context, t Target, batch string) (string, error) {
	f.mu.Lock()
	f.coupons++
	code := fmt.Sprintf("CPN%03d", f.coupons)
	f.mu.Unlock()
	if err := f.record(t, "coupon", "%s -> %s", batch, code); err != nil {
		return "", err
	}
	return code, nil
}

func (f *fakeActions) ScheduleReminder(_ context.Context, t Target, r Reminder) error {
	return f.record(t, "remind", "%s at %s%s", r.Template+r.Text, r.At.In(shanghai).Format("2006-01-02 15:04"), varsText(r.Vars))
}

func (f *fakeActions) Handoff(_ context.Context, t Target, h Handoff) error {
	return f.record(t, "handoff", "reason=%q text=%q", h.Reason, h.Text)
}

func (f *fakeActions) Unsubscribe(_ context.Context, t Target) error {
	return f.record(t, "unsubscribe", "%s", t.Channel)
}

func (f *fakeActions) Profile(_ context.Context, contactID string) (Profile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err, ok := f.failOn["profile"]; ok {
		delete(f.failOn, "profile")
		return Profile{}, err
	}
	return f.profileLocked(contactID), nil
}

func (f *fakeActions) profileLocked(id string) Profile {
	var tags []string
	for t := range f.tags[id] {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return Profile{Tags: tags, Score: f.score[id], Stage: f.stage[id]}
}

// inbound builds an Inbound carrying the model's view of the contact.
func (f *fakeActions) inbound(id string) Inbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.profileLocked(id)
	return Inbound{ContactID: id, Tags: p.Tags, Score: p.Score, Stage: p.Stage}
}

func (f *fakeActions) fail(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failOn[name] = errors.New("injected failure")
}

var shanghai = time.FixedZone("CST", 8*3600)

func replyText(r Reply) string {
	if r.Template != "" {
		return "template=" + r.Template + varsText(r.Vars)
	}
	return fmt.Sprintf("%q", r.Text)
}

func varsText(vars map[string]string) string {
	if len(vars) == 0 {
		return ""
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + vars[k]
	}
	return " {" + strings.Join(parts, ", ") + "}"
}

// t0 is the test clock's start: before the shipped webinar's reminders.
var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, shanghai)

func mustLoadFS(t testing.TB, files map[string]string) *Library {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	lib, err := LoadFS(fsys, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

type fixture struct {
	rdb *redis.Client
	eng *Engine
	act *fakeActions
	clk *testclock.Clock
}

func newFixture(t testing.TB, lib *Library, opt Options) *fixture {
	t.Helper()
	f := &fixture{rdb: redistest.Client(t), act: newFakeActions(), clk: testclock.New(t0)}
	if opt.Now == nil {
		opt.Now = f.clk.Now
	}
	eng, err := NewEngine(f.rdb, lib, f.act, opt)
	if err != nil {
		t.Fatal(err)
	}
	f.eng = eng
	return f
}

// say sends a text message from the contact.
func (f *fixture) say(t testing.TB, id, text string) Outcome {
	t.Helper()
	in := f.act.inbound(id)
	in.Channel, in.Text, in.EventType = "wecom", text, "message"
	out, err := f.eng.Handle(context.Background(), in)
	if err != nil {
		t.Fatalf("Handle(%q): %v", text, err)
	}
	return out
}

func texts(out Outcome) []string {
	var s []string
	for _, r := range out.Replies {
		s = append(s, replyText(r))
	}
	return s
}
