package dialogs

import (
	"context"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/internal/redistest"
)

// TestOnCluster runs a conversation with a timeout, a hand-off and a resume
// on Redis Cluster: every script stays in one slot.
func TestOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := redistest.Cluster(t)
	ctx := context.Background()
	act, clk := newFakeActions(), testclock.New(t0)
	const script = `id: w
version: 1
triggers: [{keyword: {any: [go], exact: true}}]
steps:
  - id: q
    ask: {text: "name?", capture: {var: name}, timeout: 1h, on_timeout: late}
  - id: hi
    send: "hi {{.name}}"
    next: end
  - id: late
    send: late
`
	eng, err := NewEngine(rdb, mustLoadFS(t, map[string]string{"w.yaml": script}), act, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	say := func(id, text string) []string {
		out, err := eng.Handle(ctx, Inbound{ContactID: id, Channel: "wecom", Text: text})
		if err != nil {
			t.Fatalf("%s %q: %v", id, text, err)
		}
		return texts(out)
	}
	var got []string
	for _, id := range []string{"a", "b", "c", "d"} {
		got = append(got, say(id, "go")...)
	}
	got = append(got, say("a", "Ann")...)
	got = append(got, say("b", "human")...)
	n, err := eng.Tick(ctx, clk.Advance(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("Tick = %d, %v; want 2", n, err)
	}
	got = append(got, act.take()...)
	if was, err := eng.Resume(ctx, "b"); err != nil || !was {
		t.Fatalf("Resume = %v, %v", was, err)
	}
	got = append(got, say("b", "go")...)
	want := []string{
		`"name?"`, `"name?"`, `"name?"`, `"name?"`,
		`"hi Ann"`,
		`"好的，已为您转接人工顾问，请稍候。"`,
		`handoff reason="keyword" text="human"`, `send wecom "late"`, `send wecom "late"`,
		`"name?"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if left, _ := rdb.ZCard(ctx, dueKey).Result(); left != 1 {
		t.Errorf("%d deadlines indexed; want 1 (b's new session)", left)
	}
}
