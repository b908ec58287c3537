package dialogs

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTryRunsTheScriptOnAThrowawayContact(t *testing.T) {
	lib, err := Load(filepath.Join("..", "configs", "dialogs"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, lib, Options{})
	before := f.rdb.DBSize(t.Context()).Val()
	got, err := f.eng.Try(t.Context(), "welcome_survey", []string{"随便", "2", "星河科技"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []TryTurn{
		{In: "", Replies: []TryReply{{Template: "welcome", Vars: map[string]string{}}}, Actions: []string{}, Step: "need"},
		{In: "随便", Replies: []TryReply{{Text: "抱歉，没有看懂您的回复。请回复序号：\n1. 了解产品\n2. 预约演示\n3. 价格方案"}}, Actions: []string{}, Step: "need"},
		{In: "2", Replies: []TryReply{{Text: "好的！方便告诉我您所在的公司名称吗？我们会按贵司的情况准备演示安排。"}},
			Actions: []string{"tag interest:demo", "score +15", "stage mql"}, Step: "company"},
		{In: "星河科技", Replies: []TryReply{{Text: "谢谢！已记下「星河科技」，顾问会尽快把演示安排发给您。"}}, Actions: []string{}, Ended: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transcript (-want +got)\n%s", diff)
	}
	// Nothing happened to a real contact, and the throwaway session is gone
	// (only the script's stored source may remain, as after any start).
	if calls := f.act.take(); len(calls) != 0 {
		t.Errorf("the engine's own actions ran: %q", calls)
	}
	keys := f.rdb.Keys(t.Context(), "*").Val()
	for _, k := range keys {
		if k != sourceKey("welcome_survey", 1) {
			t.Errorf("key %s left behind (had %d keys before)", k, before)
		}
	}

	hand, err := f.eng.Try(t.Context(), "welcome_survey", []string{"人工"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if last := hand[len(hand)-1]; !last.HandedOff || len(last.Actions) != 1 || last.Actions[0] != "hand-off (keyword)" {
		t.Errorf("人工 turn = %+v, want a recorded hand-off", last)
	}

	if _, err := f.eng.Try(t.Context(), "nope", nil, ""); !errors.Is(err, ErrUnknownScript) {
		t.Errorf("unknown script: %v", err)
	}
	if _, err := f.eng.Try(t.Context(), "welcome_survey", make([]string, MaxTryMessages+1), ""); !errors.Is(err, ErrInvalidInbound) {
		t.Errorf("too many messages: %v", err)
	}
}

// FuzzTry feeds a test chat whatever a person might type: the engine must
// answer every message without failing and leave no session behind.
func FuzzTry(f *testing.F) {
	f.Add("2", "星河科技")
	f.Add("人工", "")
	f.Add("ＴＤ", "退订")
	f.Add("３。", "\x00\xff")
	lib, err := Load(filepath.Join("..", "configs", "dialogs"), LoadOptions{})
	if err != nil {
		f.Fatal(err)
	}
	fx := newFixture(f, lib, Options{})
	f.Fuzz(func(t *testing.T, a, b string) {
		turns, err := fx.eng.Try(t.Context(), "welcome_survey", []string{a, b}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(turns) != 3 {
			t.Fatalf("%d turns for 2 messages", len(turns))
		}
		for _, tt := range turns {
			if tt.Error != "" {
				t.Errorf("turn %q failed: %s", tt.In, tt.Error)
			}
		}
		for _, k := range fx.rdb.Keys(t.Context(), "*").Val() {
			if k != sourceKey("welcome_survey", 1) {
				t.Errorf("key %s left behind", k)
			}
		}
	})
}
