package outreach

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/internal/testclock"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

var weekdaysMonFri = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// cst is a time in Asia/Shanghai; 2026-11-27 is a Friday.
func cst(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, shanghai)
}

func TestDutyShiftsAcrossTheDayBoundary(t *testing.T) {
	office := DutyRep{UserID: "a", Days: weekdaysMonFri, Start: 9 * 60, End: 18 * 60, Loc: shanghai}
	night := DutyRep{UserID: "n", Days: weekdaysMonFri, Start: 22 * 60, End: 6 * 60, Loc: shanghai}
	always := DutyRep{UserID: "x"}
	tests := []struct {
		name string
		rep  DutyRep
		at   time.Time
		want string // the shift's day, "" = off duty
	}{
		{"office opens", office, cst(27, 9, 0), "2026-11-27"},
		{"last office minute", office, cst(27, 17, 59), "2026-11-27"},
		{"office closed", office, cst(27, 18, 0), ""},
		{"office on Saturday", office, cst(28, 10, 0), ""},
		{"office hours in UTC", office, time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC), "2026-11-27"},
		{"night shift starts", night, cst(27, 22, 0), "2026-11-27"},
		{"after midnight counts for Friday", night, cst(28, 5, 59), "2026-11-27"},
		{"night shift over", night, cst(28, 6, 0), ""},
		{"no Saturday night shift", night, cst(28, 23, 0), ""},
		{"Sunday's night shift does not run", night, cst(30, 1, 0), ""},
		{"Monday morning is Sunday's shift", night, cst(30, 5, 0), ""},
		{"Monday night", night, cst(30, 23, 30), "2026-11-30"},
		{"Tuesday early is Monday's shift", night, time.Date(2026, 12, 1, 2, 0, 0, 0, shanghai), "2026-11-30"},
		{"always on duty", always, cst(29, 3, 0), "2026-11-28"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			day, on := tt.rep.shift(tt.at)
			if on != (tt.want != "") || day != tt.want || tt.rep.OnDuty(tt.at) != on {
				t.Errorf("shift(%s) = %q, %v; want %q", tt.at, day, on, tt.want)
			}
		})
	}
}

func TestPickSkipsRepsOffDutyOrAtTheirLimit(t *testing.T) {
	rdb := redistest.Client(t)
	clk := testclock.New(cst(27, 10, 0))
	n := NewRepNotifier(rdb, &captureSender{}, nil, "https://gw.example.com", nil)
	t.Cleanup(func() { _ = n.Close() })
	n.SetDuty([]DutyRep{
		{UserID: "day.a", Days: weekdaysMonFri, Start: 9 * 60, End: 18 * 60, Loc: shanghai, DailyLimit: 2},
		{UserID: "night.b", Days: weekdaysMonFri, Start: 22 * 60, End: 6 * 60, Loc: shanghai},
		{UserID: "day.c", Days: weekdaysMonFri, Start: 9 * 60, End: 18 * 60, Loc: shanghai, DailyLimit: 1},
	}, clk.Now)
	pick := func() string {
		t.Helper()
		rep, err := n.pickOnDuty(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	var got []string
	for range 4 { // Friday 10:00: a, c, a, then both are full and b is off
		got = append(got, pick())
	}
	clk.Set(cst(27, 23, 0))
	got = append(got, pick(), pick()) // Friday night: only b
	clk.Set(cst(28, 7, 0))
	got = append(got, pick()) // Saturday morning: nobody
	clk.Set(cst(30, 9, 0))
	got = append(got, pick(), pick(), pick(), pick()) // Monday: fresh limits
	// Monday the turn goes on where it was: c, then a up to her new limit.
	want := []string{"day.a", "day.c", "day.a", "", "night.b", "night.b", "", "day.c", "day.a", "day.a", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("picks (-want +got):\n%s", diff)
	}
}

func TestQueuedHandoffGoesToTheFirstRepOnDuty(t *testing.T) {
	rdb := redistest.Client(t)
	clk := testclock.New(cst(28, 10, 0)) // Saturday
	store, err := contacts.NewStore(rdb, contacts.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	n := NewRepNotifier(rdb, &captureSender{}, nil, "https://gw.example.com", nil)
	t.Cleanup(func() { _ = n.Close() })
	n.SetPolicy(HandoffPolicy{SLA: time.Hour, Lead: "lead.wang"})
	n.SetDuty([]DutyRep{{UserID: "day.a", Days: weekdaysMonFri, Start: 9 * 60, End: 18 * 60, Loc: shanghai}}, clk.Now)
	res, err := store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{{Kind: "phone", Value: "13800138000"}}, Name: "王伟"})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := store.Get(t.Context(), res.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := n.PickRep(t.Context(), ct); rep != "" || err != nil {
		t.Fatalf("PickRep on Saturday = %q, %v; want it queued", rep, err)
	}
	cards := func() []string {
		t.Helper()
		tasks, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(QueueCritical)
		if err != nil {
			return nil
		}
		var out []string
		for _, task := range tasks {
			var p repNotice
			_ = json.Unmarshal(task.Payload, &p)
			out = append(out, p.Rep+": "+p.Title)
		}
		return out
	}
	steps := []struct {
		name    string
		at      time.Time
		cards   []string
		waiting []string
	}{
		{"within the SLA nobody is told", cst(28, 10, 30), nil, []string{ct.ID}},
		{"past the SLA the lead is told", cst(28, 11, 30), []string{"lead.wang: 线索无人值班接手：" + ct.ID}, []string{ct.ID}},
		{"the lead is told once", cst(29, 11, 30), []string{"lead.wang: 线索无人值班接手：" + ct.ID}, []string{ct.ID}},
		{"Monday the first rep on duty gets it", cst(30, 9, 5), []string{"lead.wang: 线索无人值班接手：" + ct.ID, "day.a: 线索待跟进：王伟"}, []string{}},
	}
	for _, st := range steps {
		clk.Set(st.at)
		if err := n.DrainWaiting(t.Context(), store); err != nil {
			t.Fatal(err)
		}
		waiting, err := n.Waiting(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(st.cards, cards()); diff != "" {
			t.Errorf("%s: cards (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(st.waiting, waiting); diff != "" {
			t.Errorf("%s: waiting (-want +got):\n%s", st.name, diff)
		}
	}
	tl, err := store.Timeline(t.Context(), ct.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 1 || tl[0].Type != "handoff" || tl[0].Props["rep"] != "day.a" {
		t.Errorf("timeline = %+v, want the hand-off to day.a", tl)
	}
	if status, _ := rdb.HGet(t.Context(), handoffKey(ct.ID), "status").Result(); status != "open" {
		t.Errorf("hand-off status %q, want open (the SLA clock runs)", status)
	}
}
