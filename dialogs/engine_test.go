package dialogs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

const surveyV1 = `id: survey
version: 1
triggers:
  - keyword: survey
steps:
  - id: q
    ask:
      text: v1 question
      choices: [a, b]
  - id: done
    send: v1 thanks
`

func TestSessionKeepsVersionAcrossReload(t *testing.T) {
	f := newFixture(t, mustLoadFS(t, map[string]string{"s.yaml": surveyV1}), Options{})
	if got := texts(f.say(t, "c1", "survey")); !cmp.Equal(got, []string{`"v1 question\n1. a\n2. b"`}) {
		t.Fatalf("start: %v", got)
	}
	v2 := strings.NewReplacer("version: 1", "version: 2", "v1", "v2").Replace(surveyV1)
	if err := f.eng.SetLibrary(mustLoadFS(t, map[string]string{"s.yaml": v2})); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		contact, text string
		want          []string
	}{
		{"c1", "a", []string{`"v1 thanks"`}},
		{"c2", "survey", []string{`"v2 question\n1. a\n2. b"`}},
		{"c2", "b", []string{`"v2 thanks"`}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, texts(f.say(t, tt.contact, tt.text))); diff != "" {
			t.Errorf("%s %q (-want +got)\n%s", tt.contact, tt.text, diff)
		}
	}
}

func TestSessionFinishesOnStoredVersionAfterRestart(t *testing.T) {
	f := newFixture(t, mustLoadFS(t, map[string]string{"s.yaml": surveyV1}), Options{})
	f.say(t, "c1", "survey")
	// A new process that only knows version 2.
	v2 := strings.NewReplacer("version: 1", "version: 2", "v1", "v2").Replace(surveyV1)
	eng2, err := NewEngine(f.rdb, mustLoadFS(t, map[string]string{"s.yaml": v2}), f.act, Options{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	in := f.act.inbound("c1")
	in.Text = "b"
	out, err := eng2.Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`"v1 thanks"`}, texts(out)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	// Without the stored source the session ends with ErrRuntime.
	f.say(t, "c2", "survey")
	if err := f.rdb.Del(context.Background(), sourceKey("survey", 1)).Err(); err != nil {
		t.Fatal(err)
	}
	eng3, err := NewEngine(f.rdb, mustLoadFS(t, map[string]string{"s.yaml": v2}), f.act, Options{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	in = f.act.inbound("c2")
	in.Text = "a"
	out, err = eng3.Handle(context.Background(), in)
	if !errors.Is(err, ErrRuntime) || !out.Ended {
		t.Errorf("missing version: got %+v, %v; want Ended and ErrRuntime", out, err)
	}
	if st, _ := eng3.State(context.Background(), "c2"); st.Script != "" {
		t.Errorf("session left behind: %+v", st)
	}
}

func TestSetLibraryRefusesChangedScriptWithSameVersion(t *testing.T) {
	f := newFixture(t, mustLoadFS(t, map[string]string{"s.yaml": surveyV1}), Options{})
	changed := strings.Replace(surveyV1, "v1 thanks", "thanks!", 1)
	err := f.eng.SetLibrary(mustLoadFS(t, map[string]string{"s.yaml": changed}))
	if !errors.Is(err, ErrVersionReused) {
		t.Fatalf("SetLibrary: %v; want ErrVersionReused", err)
	}
	f.say(t, "c1", "survey")
	if diff := cmp.Diff([]string{`"v1 thanks"`}, texts(f.say(t, "c1", "1"))); diff != "" {
		t.Errorf("old library not kept (-want +got)\n%s", diff)
	}
}

const counterScript = `id: counter
version: 1
triggers:
  - keyword: {any: [go], exact: true}
steps:
  - id: q
    ask:
      text: count
      capture: {var: last}
  - id: inc
    do: [{score: +1}]
    next: q
`

// TestConcurrentRepliesRunOneAtATime sends many replies for one contact at
// once: every one is handled exactly once, none is lost to a race.
func TestConcurrentRepliesRunOneAtATime(t *testing.T) {
	f := newFixture(t, mustLoadFS(t, map[string]string{"c.yaml": counterScript}), Options{BusyWait: 20 * time.Second})
	f.say(t, "c1", "go")
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := f.act.inbound("c1")
			in.Text = fmt.Sprintf("m%d", i)
			if _, err := f.eng.Handle(context.Background(), in); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := f.act.score["c1"]; got != n {
		t.Errorf("score = %d after %d replies; want %d", got, n, n)
	}
	keys := map[string]bool{}
	for _, k := range f.act.keys {
		if keys[k] {
			t.Errorf("idempotency key %s used twice", k)
		}
		keys[k] = true
	}
}

func TestBusyAndLostLock(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, mustLoadFS(t, map[string]string{"c.yaml": counterScript}), Options{BusyWait: 30 * time.Millisecond, LockTTL: 100 * time.Millisecond})
	f.say(t, "c1", "go")
	if err := f.rdb.Set(ctx, lockKey("c1"), "someone", time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	in := f.act.inbound("c1")
	in.Text = "x"
	if _, err := f.eng.Handle(ctx, in); !errors.Is(err, ErrBusy) {
		t.Errorf("held lock: %v; want ErrBusy", err)
	}
	f.rdb.Del(ctx, lockKey("c1"))

	// An action slower than the lock TTL: another worker may have taken
	// over, so the step is not saved.
	slow := &slowActions{fakeActions: f.act, delay: 250 * time.Millisecond}
	eng, err := NewEngine(f.rdb, f.eng.Library(), slow, Options{Now: f.clk.Now, LockTTL: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Handle(ctx, in); !errors.Is(err, ErrConflict) {
		t.Errorf("slow action: %v; want ErrConflict", err)
	}
	if st, _ := eng.State(ctx, "c1"); st.Step != "q" || st.Vars["last"] != "" {
		t.Errorf("state after a lost lock: %+v; want unchanged at q", st)
	}
}

type slowActions struct {
	*fakeActions
	delay time.Duration
}

func (s *slowActions) Score(ctx context.Context, t Target, d int) error {
	time.Sleep(s.delay)
	return s.fakeActions.Score(ctx, t, d)
}

func TestActionKeysAreStable(t *testing.T) {
	lib := mustLoadFS(t, map[string]string{"c.yaml": counterScript})
	run := func() []string {
		f := newFixture(t, lib, Options{})
		in := f.act.inbound("c1")
		in.ID, in.Text = "wecom:1", "go"
		if _, err := f.eng.Handle(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		in.ID, in.Text = "wecom:2", "hello"
		if _, err := f.eng.Handle(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		return f.act.keys
	}
	first, second := run(), run()
	if diff := cmp.Diff([]string{"c1/ewecom:2/1"}, first); diff != "" {
		t.Errorf("keys (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("keys differ between runs (-first +second)\n%s", diff)
	}
}

func TestHandleRefusesBadInbound(t *testing.T) {
	f := newFixture(t, mustLoadFS(t, map[string]string{"c.yaml": counterScript}), Options{})
	for _, id := range []string{"", "a}b", "{x", strings.Repeat("x", 201)} {
		_, err := f.eng.Handle(context.Background(), Inbound{ContactID: id, Text: "go"})
		if !errors.Is(err, ErrInvalidInbound) {
			t.Errorf("contact %q: %v; want ErrInvalidInbound", id, err)
		}
	}
	if _, err := f.eng.Resume(context.Background(), ""); !errors.Is(err, ErrInvalidInbound) {
		t.Errorf("Resume(\"\"): %v", err)
	}
}

// TestRoundTrips pins the Redis cost of the common cases.
func TestRoundTrips(t *testing.T) {
	f := newFixture(t, mustLoadFS(t, map[string]string{"c.yaml": counterScript}), Options{})
	h := redistest.CountRoundTrips(f.rdb)
	ctx := context.Background()
	f.say(t, "warm", "go") // loads the Lua scripts into Redis
	f.say(t, "warm", "x")
	tests := []struct {
		name string
		in   Inbound
		want int64
	}{
		{"event nothing listens to", Inbound{ContactID: "c1", EventType: "email_open"}, 0},
		{"reply without a session", Inbound{ContactID: "c1", Text: "hello"}, 1},
		{"trigger starts a script", Inbound{ContactID: "c1", Text: "go"}, 2},
		{"reply advances a step", Inbound{ContactID: "c1", Text: "one"}, 2},
		{"another step", Inbound{ContactID: "c1", Text: "two"}, 2},
	}
	for _, tt := range tests {
		before := h.N()
		if _, err := f.eng.Handle(ctx, tt.in); err != nil {
			t.Fatal(err)
		}
		if got := h.N() - before; got != tt.want {
			t.Errorf("%s: %d round trips; want %d", tt.name, got, tt.want)
		}
	}
}

func TestTickFromManyWorkersMovesEachSessionOnce(t *testing.T) {
	const script = `id: w
version: 1
triggers: [{keyword: {any: [go], exact: true}}]
steps:
  - id: wait
    wait: {timeout: 1h}
  - id: ping
    send: ping
`
	f := newFixture(t, mustLoadFS(t, map[string]string{"w.yaml": script}), Options{TickBatch: 7})
	const n = 60
	for i := range n {
		f.say(t, fmt.Sprintf("c%d", i), "go")
	}
	now := f.clk.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	var moved atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := f.eng.Tick(context.Background(), now)
				if err != nil {
					t.Error(err)
				}
				moved.Add(int64(m))
				if left, _ := f.rdb.ZCard(context.Background(), dueKey).Result(); left == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if moved.Load() != n {
		t.Errorf("moved %d sessions; want %d", moved.Load(), n)
	}
	if sends := len(f.act.take()); sends != n {
		t.Errorf("%d pings sent; want %d", sends, n)
	}
}

func TestTickRepairsIndex(t *testing.T) {
	ctx := context.Background()
	const script = `id: w
version: 1
triggers: [{keyword: {any: [go], exact: true}}]
steps:
  - id: wait
    wait: {timeout: 1h}
  - id: ping
    send: ping
`
	f := newFixture(t, mustLoadFS(t, map[string]string{"w.yaml": script}), Options{})
	f.say(t, "c1", "go")
	deadline := ms(f.clk.Now().Add(time.Hour))
	early := ms(f.clk.Now().Add(time.Minute))
	f.rdb.ZAdd(ctx, dueKey, redis.Z{Score: float64(early), Member: "c1"})
	f.rdb.ZAdd(ctx, dueKey, redis.Z{Score: float64(early), Member: "ghost"})
	n, err := f.eng.Tick(ctx, f.clk.Advance(2*time.Minute))
	if err != nil || n != 0 {
		t.Fatalf("Tick: %d, %v", n, err)
	}
	got, err := f.rdb.ZRangeWithScores(ctx, dueKey, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := []redis.Z{{Score: float64(deadline), Member: "c1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("index (-want +got)\n%s", diff)
	}
}

func TestCorruptSessionEnds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, mustLoadFS(t, map[string]string{"c.yaml": counterScript}), Options{})
	f.rdb.HSet(ctx, sessionKey("c1"), "s", "{not json")
	in := f.act.inbound("c1")
	in.Text = "hello"
	out, err := f.eng.Handle(ctx, in)
	if !errors.Is(err, ErrRuntime) || !out.Ended {
		t.Errorf("got %+v, %v; want Ended and ErrRuntime", out, err)
	}
	if n, _ := f.rdb.Exists(ctx, sessionKey("c1")).Result(); n != 0 {
		t.Error("corrupt session kept")
	}
}

// TestBranchAfterTimeoutReadsProfile: without an inbound, conditions read
// the contact through Actions.Profile.
func TestBranchAfterTimeoutReadsProfile(t *testing.T) {
	const script = `id: b
version: 1
triggers: [{keyword: {any: [go], exact: true}}]
steps:
  - id: wait
    wait: {timeout: 1h}
  - id: route
    branch:
      - {tag: vip, score: ">= 50", next: vip}
      - {next: plain}
  - id: vip
    send: vip
    next: end
  - id: plain
    send: plain
`
	f := newFixture(t, mustLoadFS(t, map[string]string{"b.yaml": script}), Options{})
	ctx := context.Background()
	f.say(t, "c1", "go")
	f.say(t, "c2", "go")
	f.clk.Advance(30 * time.Minute)
	f.say(t, "c3", "go")
	f.act.Tag(ctx, Target{ContactID: "c1"}, "vip")
	f.act.Score(ctx, Target{ContactID: "c1"}, 60)
	f.act.Tag(ctx, Target{ContactID: "c2"}, "vip")
	f.act.take()
	if n, err := f.eng.Tick(ctx, f.clk.Advance(45*time.Minute)); err != nil || n != 2 {
		t.Fatalf("Tick = %d, %v; want 2 moved", n, err)
	}
	got := f.act.take()
	slicesSort(got)
	want := []string{`send wecom "plain"`, `send wecom "vip"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	f.act.fail("profile")
	if _, err := f.eng.Tick(ctx, f.clk.Advance(time.Hour)); !errors.Is(err, ErrAction) {
		t.Errorf("Tick with a failing profile read: %v; want ErrAction", err)
	}
	if st, _ := f.eng.State(ctx, "c3"); st.Script != "" {
		t.Errorf("session kept after a failed branch: %+v", st)
	}
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestNewEngineChecksArguments(t *testing.T) {
	rdb := redistest.Client(t)
	lib := mustLoadFS(t, map[string]string{"c.yaml": counterScript})
	act := newFakeActions()
	tests := []struct {
		name string
		rdb  redis.UniversalClient
		lib  *Library
		act  Actions
		opt  Options
	}{
		{"no redis", nil, lib, act, Options{}},
		{"no library", rdb, nil, act, Options{}},
		{"no actions", rdb, lib, nil, Options{}},
		{"negative idle", rdb, lib, act, Options{IdleTimeout: -time.Second}},
		{"tiny lock", rdb, lib, act, Options{LockTTL: time.Millisecond}},
		{"bands", rdb, lib, act, Options{HotScore: 40, WarmScore: 60}},
		{"batch", rdb, lib, act, Options{TickBatch: -1}},
	}
	for _, tt := range tests {
		if _, err := NewEngine(tt.rdb, tt.lib, tt.act, tt.opt); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestResumeWithoutHandoff(t *testing.T) {
	f := newFixture(t, mustLoadFS(t, map[string]string{"c.yaml": counterScript}), Options{})
	was, err := f.eng.Resume(context.Background(), "c1")
	if err != nil || was {
		t.Errorf("Resume = %v, %v; want false, nil", was, err)
	}
}

// TestHoldPausesTheBotUntilResumed: a person taking the conversation over
// outside a script silences the bot, keeps the session, and Resume lets
// the script go on where it was.
func TestHoldPausesTheBotUntilResumed(t *testing.T) {
	f := newFixture(t, mustLoadFS(t, map[string]string{"c.yaml": counterScript}), Options{})
	ctx := context.Background()
	if got := texts(f.say(t, "c1", "go")); len(got) != 1 || got[0] != `"count"` {
		t.Fatalf("start: %q", got)
	}
	for i, want := range []bool{true, false} { // the second hold finds one
		was, err := f.eng.Hold(ctx, "c1", "servicer")
		if err != nil || was != want {
			t.Fatalf("Hold #%d = %v, %v; want %v", i+1, was, err, want)
		}
	}
	st, err := f.eng.State(ctx, "c1")
	if err != nil || !st.HandedOff || st.Script != "counter" || st.Step != "q" || !st.HandoffSince.Equal(t0) {
		t.Fatalf("state while held: %+v, %v", st, err)
	}
	if got := texts(f.say(t, "c1", "1")); len(got) != 0 {
		t.Errorf("the bot answered while held: %q", got)
	}
	if was, err := f.eng.Resume(ctx, "c1"); err != nil || !was {
		t.Fatalf("Resume = %v, %v", was, err)
	}
	if got := texts(f.say(t, "c1", "2")); len(got) != 1 || got[0] != `"count"` {
		t.Errorf("after Resume: %q, want the script to go on", got)
	}
	if _, err := f.eng.Hold(ctx, "", "x"); !errors.Is(err, ErrInvalidInbound) {
		t.Errorf("Hold(\"\"): %v", err)
	}
}
