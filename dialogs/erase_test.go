package dialogs

import (
	"context"
	"testing"
)

const waitingScript = `id: waiting
version: 1
triggers:
  - keyword: start
steps:
  - id: q
    ask:
      text: question
      choices: [a, b]
      timeout: 1h
  - id: done
    send: thanks
`

func TestEraseContactSession(t *testing.T) {
	f := newFixture(t, mustLoadFS(t, map[string]string{"s.yaml": waitingScript}), Options{})
	ctx := context.Background()
	f.say(t, "c1", "start")
	f.say(t, "c2", "start")
	f.say(t, "c3", "start")
	f.say(t, "c3", "人工") // hand-off: the bot pauses for c3
	if st, err := f.eng.State(ctx, "c1"); err != nil || st.Script != "waiting" {
		t.Fatalf("before erasure c1 has %+v, %v", st, err)
	}
	if raw, err := StoredSession(ctx, f.rdb, "c3"); err != nil || raw["h"] == "" {
		t.Fatalf("stored hand-off of c3: %v, %v", raw, err)
	}
	n, err := f.eng.Erase(ctx, "c1")
	if err != nil || n != 2 {
		t.Fatalf("Erase: %d, %v; want the session and its deadline", n, err)
	}
	if n, err := f.eng.Erase(ctx, "c3"); err != nil || n < 1 {
		t.Fatalf("Erase of a hand-off: %d, %v", n, err)
	}
	if st, _ := f.eng.State(ctx, "c3"); st.HandedOff {
		t.Error("c3 is still handed off after erasure")
	}
	for _, k := range []string{sessionKey("c1"), lockKey("c1")} {
		if f.rdb.Exists(ctx, k).Val() != 0 {
			t.Errorf("%s is still there", k)
		}
	}
	if _, err := f.rdb.ZScore(ctx, dueKey, "c1").Result(); err == nil {
		t.Error("c1 still has a deadline")
	}
	if st, _ := f.eng.State(ctx, "c1"); st.Script != "" || st.HandedOff {
		t.Errorf("c1 after erasure: %+v", st)
	}
	if raw, err := StoredSession(ctx, f.rdb, "c1"); raw != nil || err != nil {
		t.Errorf("stored session after erasure: %v, %v", raw, err)
	}
	if st, _ := f.eng.State(ctx, "c2"); st.Script != "waiting" {
		t.Errorf("c2 lost its session: %+v", st)
	}
	if _, err := f.rdb.ZScore(ctx, dueKey, "c2").Result(); err != nil {
		t.Errorf("c2 lost its deadline: %v", err)
	}
	if n, err := f.eng.Erase(ctx, "c1"); n != 0 || err != nil {
		t.Errorf("erasing again: %d, %v", n, err)
	}
	if _, err := f.eng.Erase(ctx, ""); err == nil {
		t.Error("an empty contact id was accepted")
	}
}
