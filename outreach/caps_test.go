package outreach

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

var capT0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// contractRules are the caps of the contract's sample config.
var contractRules = []CapRule{
	{Name: "marketing-weekly", Purpose: "marketing", Channel: "any", Max: 3, Window: 168 * time.Hour},
	{Name: "sms-daily", Purpose: "marketing", Channel: "sms", Max: 1, Window: 24 * time.Hour},
}

// capStep is one action at capT0+at. Empty request fields default to
// contact c1, channel sms, purpose marketing.
type capStep struct {
	at       time.Duration
	msg      string
	release  bool
	contact  string
	channel  string
	purpose  string
	kind     string
	campaign string
	tags     []string
}

func (s capStep) request() CapRequest {
	r := CapRequest{ContactID: s.contact, MessageID: s.msg, Channel: s.channel, Purpose: s.purpose,
		Kind: s.kind, Campaign: s.campaign, Tags: s.tags}
	if r.ContactID == "" {
		r.ContactID = "c1"
	}
	if r.Channel == "" {
		r.Channel = "sms"
	}
	if r.Purpose == "" {
		r.Purpose = "marketing"
	}
	return r
}

// outcome renders a Reserve result relative to capT0.
func capOutcome(err error) string {
	var ce *CappedError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ce) && errors.Is(err, ErrCapped):
		return fmt.Sprintf("capped by %s until +%s", ce.Rule, ce.RetryAt.Sub(capT0))
	}
	return "error: " + err.Error()
}

func newTestCaps(t testing.TB, rdb redis.UniversalClient, rules []CapRule, clock *testclock.Clock) *Caps {
	t.Helper()
	c, err := NewCaps(rdb, rules, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCapsReserve(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name  string
		rules []CapRule
		steps []capStep
		want  []string
	}{
		{
			name:  "an entry exactly one window old is out, one ms younger is in",
			rules: []CapRule{{Name: "daily", Purpose: "marketing", Channel: "any", Max: 1, Window: 24 * h}},
			steps: []capStep{{at: 0, msg: "a"}, {at: 24*h - time.Millisecond, msg: "b"}, {at: 24 * h, msg: "b"}},
			want:  []string{"ok", "capped by daily until +24h0m0s", "ok"},
		},
		{
			name:  "max reached, then room again as the window slides",
			rules: contractRules[:1],
			steps: []capStep{
				{at: 0, msg: "a"}, {at: 1 * h, msg: "b", channel: "email"}, {at: 2 * h, msg: "c", channel: "wecom"},
				{at: 3 * h, msg: "d", channel: "email"},
				{at: 168 * h, msg: "d", channel: "email"},
				{at: 168*h + 30*time.Minute, msg: "e", channel: "email"},
				{at: 169 * h, msg: "e", channel: "email"},
			},
			want: []string{"ok", "ok", "ok", "capped by marketing-weekly until +168h0m0s", "ok",
				"capped by marketing-weekly until +169h0m0s", "ok"},
		},
		{
			name:  "all rules must have room, and a refused message counts in none",
			rules: contractRules,
			steps: []capStep{
				{at: 0, msg: "a"},
				{at: 1 * h, msg: "b"}, // sms-daily is full; marketing-weekly must not count b
				{at: 2 * h, msg: "c", channel: "email"},
				{at: 3 * h, msg: "d", channel: "email"},
				{at: 25 * h, msg: "e"}, // sms-daily has room again, the week is full
			},
			want: []string{"ok", "capped by sms-daily until +24h0m0s", "ok", "ok", "capped by marketing-weekly until +168h0m0s"},
		},
		{
			name: "when several rules are full, the one that frees last is named",
			rules: []CapRule{
				{Name: "short", Purpose: "marketing", Channel: "any", Max: 1, Window: 2 * h},
				{Name: "long", Purpose: "marketing", Channel: "any", Max: 1, Window: 48 * h},
			},
			steps: []capStep{{at: 0, msg: "a"}, {at: 1 * h, msg: "b"}, {at: 3 * h, msg: "b"}},
			want:  []string{"ok", "capped by long until +48h0m0s", "capped by long until +48h0m0s"},
		},
		{
			name:  "per-campaign counts each campaign apart and skips messages outside campaigns",
			rules: []CapRule{{Name: "promo", Purpose: "marketing", Channel: "any", Max: 1, Window: 24 * h, Campaign: "*"}},
			steps: []capStep{
				{msg: "a", campaign: "spring"}, {msg: "b", campaign: "autumn"}, {msg: "c", campaign: "spring"},
				{msg: "d"}, {msg: "e"},
				{msg: "f", campaign: "spring", contact: "c2"},
			},
			want: []string{"ok", "ok", "capped by promo until +24h0m0s", "ok", "ok", "ok"},
		},
		{
			name:  "a named campaign counts only its own messages",
			rules: []CapRule{{Name: "spring-only", Purpose: "marketing", Channel: "any", Max: 1, Window: 24 * h, Campaign: "spring"}},
			steps: []capStep{{msg: "a", campaign: "spring"}, {msg: "b", campaign: "autumn"}, {msg: "c"}, {msg: "d", campaign: "spring"}},
			want:  []string{"ok", "ok", "ok", "capped by spring-only until +24h0m0s"},
		},
		{
			name:  "a tag rule counts only contacts carrying the tag",
			rules: []CapRule{{Name: "vip-calm", Purpose: "marketing", Channel: "any", Max: 1, Window: 24 * h, Tag: "vip"}},
			steps: []capStep{
				{msg: "a", tags: []string{"new", "vip"}}, {msg: "b", tags: []string{"vip"}},
				{msg: "c", contact: "c2", tags: []string{"new"}}, {msg: "d", contact: "c2"},
			},
			want: []string{"ok", "capped by vip-calm until +24h0m0s", "ok", "ok"},
		},
		{
			name:  "a kind rule counts only that kind",
			rules: []CapRule{{Name: "groups", Purpose: "any", Channel: "wecom", Kind: "group_task", Max: 1, Window: 24 * h}},
			steps: []capStep{
				{msg: "a", channel: "wecom", kind: "group_task"}, {msg: "b", channel: "wecom", kind: "text"},
				{msg: "c", channel: "wecom", kind: "group_task"},
			},
			want: []string{"ok", "ok", "capped by groups until +24h0m0s"},
		},
		{
			name:  "purpose any counts service and marketing together; transactional is exempt",
			rules: []CapRule{{Name: "calm", Purpose: "any", Channel: "any", Max: 1, Window: 24 * h}},
			steps: []capStep{
				{msg: "a", purpose: "marketing"}, {msg: "b", purpose: "service"},
				{msg: "c", purpose: "transactional"}, {msg: "d", purpose: "transactional"},
			},
			want: []string{"ok", "capped by calm until +24h0m0s", "ok", "ok"},
		},
		{
			name:  "a rule that names transactional caps it",
			rules: []CapRule{{Name: "otp", Purpose: "transactional", Channel: "sms", Max: 2, Window: h}},
			steps: []capStep{
				{msg: "a", purpose: "transactional"}, {msg: "b", purpose: "marketing"},
				{msg: "c", purpose: "transactional"}, {msg: "d", purpose: "transactional"},
			},
			want: []string{"ok", "ok", "ok", "capped by otp until +1h0m0s"},
		},
		{
			name:  "the platform group-send quota counts every purpose",
			rules: PlatformRules(),
			steps: []capStep{
				{msg: "a", channel: "wecom", kind: "group_task", purpose: "transactional"},
				{msg: "b", channel: "wecom", kind: "group_task", purpose: "marketing"},
				{msg: "c", channel: "wecom", kind: "welcome", purpose: "marketing"},
			},
			want: []string{"ok", "capped by wecom-groupsend-daily until +24h0m0s", "ok"},
		},
		{
			name:  "release frees the room",
			rules: contractRules[1:],
			steps: []capStep{{msg: "a"}, {msg: "b"}, {msg: "a", release: true}, {msg: "b"}, {msg: "c"}},
			want:  []string{"ok", "capped by sms-daily until +24h0m0s", "released", "ok", "capped by sms-daily until +24h0m0s"},
		},
		{
			name:  "reserving a message again is a no-op that succeeds, even when the rule is full",
			rules: contractRules[1:],
			steps: []capStep{{msg: "a"}, {at: h, msg: "a"}, {at: 2 * h, msg: "b"}, {at: 23 * h, msg: "a"}, {at: 24 * h, msg: "b"}},
			want:  []string{"ok", "ok", "capped by sms-daily until +24h0m0s", "ok", "ok"},
		},
		{
			name:  "contacts are counted apart",
			rules: contractRules[1:],
			steps: []capStep{{msg: "a"}, {msg: "b", contact: "c2"}, {msg: "c", contact: "c3"}, {msg: "d"}},
			want:  []string{"ok", "ok", "ok", "capped by sms-daily until +24h0m0s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := testclock.New(capT0)
			caps := newTestCaps(t, redistest.Client(t), tt.rules, clock)
			reserved := map[string]Reservation{}
			var got []string
			for _, s := range tt.steps {
				clock.Set(capT0.Add(s.at))
				if s.release {
					if err := caps.Release(ctx, reserved[s.msg]); err != nil {
						t.Fatal(err)
					}
					got = append(got, "released")
					continue
				}
				res, err := caps.Reserve(ctx, s.request())
				if err == nil {
					reserved[s.msg] = res
				}
				got = append(got, capOutcome(err))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

// A max lowered in the config must hold at once, even though the set holds
// more entries than the new max.
func TestCapsLoweredMax(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	clock := testclock.New(capT0)
	wide := newTestCaps(t, rdb, []CapRule{{Name: "r", Purpose: "marketing", Channel: "any", Max: 3, Window: 10 * time.Hour}}, clock)
	for i, msg := range []string{"a", "b", "c"} {
		clock.Set(capT0.Add(time.Duration(i) * time.Hour))
		if _, err := wide.Reserve(ctx, capStep{msg: msg}.request()); err != nil {
			t.Fatal(err)
		}
	}
	narrow := newTestCaps(t, rdb, []CapRule{{Name: "r", Purpose: "marketing", Channel: "any", Max: 2, Window: 10 * time.Hour}}, clock)
	var got []string
	for _, at := range []time.Duration{3 * time.Hour, 10 * time.Hour, 11 * time.Hour} {
		clock.Set(capT0.Add(at))
		_, err := narrow.Reserve(ctx, capStep{msg: "d"}.request())
		got = append(got, capOutcome(err))
	}
	want := []string{"capped by r until +11h0m0s", "capped by r until +11h0m0s", "ok"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestCapsKeysAndExpiry(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	clock := testclock.New(capT0)
	rules := append(contractRules, CapRule{Name: "promo", Purpose: "marketing", Channel: "any", Max: 5, Window: time.Hour, Campaign: "*"})
	caps := newTestCaps(t, rdb, rules, clock)
	res, err := caps.Reserve(ctx, CapRequest{ContactID: "abc", MessageID: "m1", Channel: "sms", Purpose: "marketing", Campaign: "spring"})
	if err != nil {
		t.Fatal(err)
	}
	want := Reservation{MessageID: "m1", Keys: []string{"{c:abc}:cap:marketing-weekly", "{c:abc}:cap:sms-daily", "{c:abc}:cap:promo:spring"}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("reservation (-want +got):\n%s", diff)
	}
	type entry struct {
		Members []redis.Z
		TTL     time.Duration
	}
	var got []entry
	for _, k := range res.Keys {
		z, err := rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{Members: z, TTL: ttl.Round(time.Minute)})
	}
	ms := float64(capT0.UnixMilli())
	wantEntries := []entry{
		{Members: []redis.Z{{Score: ms, Member: "m1"}}, TTL: 168 * time.Hour},
		{Members: []redis.Z{{Score: ms, Member: "m1"}}, TTL: 24 * time.Hour},
		{Members: []redis.Z{{Score: ms, Member: "m1"}}, TTL: time.Hour},
	}
	if diff := cmp.Diff(wantEntries, got); diff != "" {
		t.Errorf("stored sets (-want +got):\n%s", diff)
	}
	if err := caps.Release(ctx, res); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, res.Keys...).Result(); err != nil || n != 0 {
		t.Errorf("after release %d keys remain (err %v), want none", n, err)
	}
}

func TestNewCapsRejectsBadRules(t *testing.T) {
	ok := CapRule{Name: "r", Purpose: "marketing", Channel: "sms", Max: 1, Window: time.Hour}
	with := func(f func(*CapRule)) []CapRule { r := ok; f(&r); return []CapRule{r} }
	tests := []struct {
		name  string
		rules []CapRule
	}{
		{"empty name", with(func(r *CapRule) { r.Name = "" })},
		{"colon in name", with(func(r *CapRule) { r.Name = "a:b" })},
		{"unknown purpose", with(func(r *CapRule) { r.Purpose = "promo" })},
		{"empty purpose", with(func(r *CapRule) { r.Purpose = "" })},
		{"dangling plus", with(func(r *CapRule) { r.Purpose = "any+" })},
		{"unknown channel", with(func(r *CapRule) { r.Channel = "fax" })},
		{"empty channel", with(func(r *CapRule) { r.Channel = "" })},
		{"zero max", with(func(r *CapRule) { r.Max = 0 })},
		{"zero window", with(func(r *CapRule) { r.Window = 0 })},
		{"sub-millisecond window", with(func(r *CapRule) { r.Window = time.Microsecond })},
		{"long campaign", with(func(r *CapRule) { r.Campaign = string(make([]byte, 65)) })},
		{"duplicate names", []CapRule{ok, ok}},
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer rdb.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCaps(rdb, tt.rules, nil); !errors.Is(err, ErrInvalidRule) {
				t.Errorf("NewCaps error = %v, want ErrInvalidRule", err)
			}
		})
	}
	if _, err := NewCaps(rdb, append(PlatformRules(), contractRules...), nil); err != nil {
		t.Errorf("NewCaps(platform + contract rules) = %v", err)
	}
	if _, err := NewCaps(nil, nil, nil); err == nil {
		t.Error("NewCaps without Redis succeeded")
	}
}

func TestCapsRejectBadRequests(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // validation fails before any call
	defer rdb.Close()
	caps := newTestCaps(t, rdb, contractRules, testclock.New(capT0))
	good := CapRequest{ContactID: "c1", MessageID: "m1", Channel: "sms", Purpose: "marketing"}
	tests := []struct {
		name string
		edit func(*CapRequest)
	}{
		{"no contact", func(r *CapRequest) { r.ContactID = "" }},
		{"brace in contact", func(r *CapRequest) { r.ContactID = "a}b" }},
		{"no message", func(r *CapRequest) { r.MessageID = "" }},
		{"no purpose", func(r *CapRequest) { r.Purpose = "" }},
		{"unknown channel", func(r *CapRequest) { r.Channel = "any" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			if _, err := caps.Reserve(context.Background(), r); !errors.Is(err, ErrInvalid) {
				t.Errorf("Reserve error = %v, want ErrInvalid", err)
			}
			_, errs := caps.ReserveMany(context.Background(), []CapRequest{r})
			if !errors.Is(errs[0], ErrInvalid) {
				t.Errorf("ReserveMany error = %v, want ErrInvalid", errs[0])
			}
		})
	}
}

// Two processes (two clients, two Caps) with 32 goroutines each race for one
// contact under a max-3 rule: exactly three win.
func TestCapsConcurrentReserveHoldsMax(t *testing.T) {
	srv := redistest.Start(t)
	rule := []CapRule{{Name: "three", Purpose: "marketing", Channel: "any", Max: 3, Window: time.Hour}}
	clock := testclock.New(capT0)
	var processes []*Caps
	for range 2 {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 32})
		t.Cleanup(func() { _ = rdb.Close() })
		processes = append(processes, newTestCaps(t, rdb, rule, clock))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	start := make(chan struct{})
	for p, caps := range processes {
		for g := range 32 {
			wg.Go(func() {
				<-start
				_, err := caps.Reserve(context.Background(), CapRequest{ContactID: "hot", MessageID: fmt.Sprintf("p%d-g%d", p, g), Channel: "email", Purpose: "marketing"})
				out := "ok"
				if err != nil {
					out = "capped"
					if !errors.Is(err, ErrCapped) {
						out = err.Error()
					}
				}
				mu.Lock()
				outcomes[out]++
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	if diff := cmp.Diff(map[string]int{"ok": 3, "capped": 61}, outcomes); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	n, err := processes[0].rdb.ZCard(context.Background(), "{c:hot}:cap:three").Result()
	if err != nil || n != 3 {
		t.Errorf("cap set holds %d entries (err %v), want 3", n, err)
	}
}

// roundTrips counts what a client sends: single commands and pipelines,
// leaving out the handshake of each new connection (HELLO, CLIENT ...).
type roundTrips struct {
	mu               sync.Mutex
	singles, batches int
	cmds             []int // commands per pipeline
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !isHandshake(cmd) {
			h.mu.Lock()
			h.singles++
			h.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return !isHandshake(c) }) {
			return next(ctx, cmds)
		}
		h.mu.Lock()
		h.batches++
		h.cmds = append(h.cmds, len(cmds))
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func isHandshake(c redis.Cmder) bool { return c.Name() == "hello" || c.Name() == "client" }

// tripCount is what roundTrips saw since the last take.
type tripCount struct {
	singles, batches int
	cmds             []int
}

func (h *roundTrips) take() tripCount {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := tripCount{singles: h.singles, batches: h.batches, cmds: h.cmds}
	h.singles, h.batches, h.cmds = 0, 0, nil
	return out
}

func TestCapsReserveManyIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	hook := &roundTrips{}
	rdb.AddHook(hook)
	clock := testclock.New(capT0)
	caps := newTestCaps(t, rdb, contractRules, clock)

	// Loads the script and fills c1's daily SMS cap.
	if _, err := caps.Reserve(ctx, CapRequest{ContactID: "c1", MessageID: "old", Channel: "sms", Purpose: "marketing"}); err != nil {
		t.Fatal(err)
	}
	hook.take()

	batch := []CapRequest{
		{ContactID: "c1", MessageID: "m1", Channel: "sms", Purpose: "marketing"},            // sms-daily full
		{ContactID: "c1", MessageID: "m2", Channel: "email", Purpose: "marketing"},          // room in the week
		{ContactID: "c2", MessageID: "m3", Channel: "sms", Purpose: "marketing"},            // fresh contact
		{ContactID: "c3", MessageID: "m4", Channel: "sms", Purpose: "transactional"},        // no rule applies
		{ContactID: "", MessageID: "m5", Channel: "sms", Purpose: "marketing"},              // invalid
		{ContactID: "c1", MessageID: "old", Channel: "sms", Purpose: "marketing"},           // already reserved
		{ContactID: "c2", MessageID: "m6", Channel: "sms", Purpose: "marketing"},            // c2's sms taken by m3
		{ContactID: "c4", MessageID: "m7", Channel: "wecom", Purpose: "service", Kind: "x"}, // no rule applies
	}
	show := func(res []Reservation, errs []error) []string {
		var out []string
		for i := range res {
			s := capOutcome(errs[i])
			if errors.Is(errs[i], ErrInvalid) {
				s = "invalid"
			}
			out = append(out, fmt.Sprintf("%s %s keys=%d", res[i].MessageID, s, len(res[i].Keys)))
		}
		return out
	}
	want := []string{
		"m1 capped by sms-daily until +24h0m0s keys=0",
		"m2 ok keys=1",
		"m3 ok keys=2",
		"m4 ok keys=0",
		"m5 invalid keys=0",
		"old ok keys=2",
		"m6 capped by sms-daily until +24h0m0s keys=0",
		"m7 ok keys=0",
	}
	res, errs := caps.ReserveMany(ctx, batch)
	if diff := cmp.Diff(want, show(res, errs)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	// m3 and m6 are in one pipeline; Redis runs them in order, so m6 sees m3.
	if got := hook.take(); got.singles != 0 || got.batches != 1 || cmp.Diff([]int{5}, got.cmds) != "" {
		t.Errorf("round trips: %d single commands, %d pipelines of %v commands; want one pipeline of 5", got.singles, got.batches, got.cmds)
	}

	// A Redis that lost its scripts costs one more round trip, not an error.
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	hook.take()
	clock.Set(capT0.Add(24 * time.Hour))
	res, errs = caps.ReserveMany(ctx, batch[:2])
	if diff := cmp.Diff([]string{"m1 ok keys=2", "m2 ok keys=1"}, show(res, errs)); diff != "" {
		t.Errorf("after SCRIPT FLUSH (-want +got):\n%s", diff)
	}
	if got := hook.take(); got.singles != 0 || got.batches != 2 {
		t.Errorf("after SCRIPT FLUSH: %d single commands, %d pipelines; want 2 pipelines", got.singles, got.batches)
	}

	// Nothing to check: no call at all.
	if _, errs := caps.ReserveMany(ctx, batch[3:4]); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if _, err := caps.Reserve(ctx, batch[7]); err != nil {
		t.Fatal(err)
	}
	if err := caps.Release(ctx, Reservation{MessageID: "m4"}); err != nil {
		t.Fatal(err)
	}
	if got := hook.take(); got.singles != 0 || got.batches != 0 {
		t.Errorf("with no matching rule: %d single commands, %d pipelines; want none", got.singles, got.batches)
	}
}
