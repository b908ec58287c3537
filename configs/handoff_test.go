package configs

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHandoffRepsTakeBothShapes(t *testing.T) {
	p := writeFile(t, `wecom:
  handoff_reps:
    - rep.wang
    - {userid: rep.li, hours: "09:00-18:00", days: [mon-fri], timezone: Asia/Shanghai, daily_limit: 20}
    - userid: rep.night
      hours: "22:00-06:00"
      days: [fri-mon, wed]
`)
	cfg, err := Load([]string{p}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []HandoffRep{
		{UserID: "rep.wang"},
		{UserID: "rep.li", Hours: "09:00-18:00", Days: []string{"mon-fri"}, Timezone: "Asia/Shanghai", DailyLimit: 20},
		{UserID: "rep.night", Hours: "22:00-06:00", Days: []string{"fri-mon", "wed"}},
	}
	if diff := cmp.Diff(want, cfg.WeCom.HandoffReps); diff != "" {
		t.Fatalf("reps (-want +got):\n%s", diff)
	}
	var shifts []string
	for _, r := range cfg.WeCom.HandoffReps {
		s, err := r.Shift()
		if err != nil {
			t.Fatal(err)
		}
		var days []string
		for _, d := range s.Days {
			days = append(days, d.String()[:3])
		}
		shifts = append(shifts, s.Loc.String()+" "+time.Duration(s.Start*int(time.Minute)).String()+"-"+
			time.Duration(s.End*int(time.Minute)).String()+" "+strings.Join(days, ","))
	}
	wantShifts := []string{"Asia/Shanghai 0s-0s ", "Asia/Shanghai 9h0m0s-18h0m0s Mon,Tue,Wed,Thu,Fri", "Asia/Shanghai 22h0m0s-6h0m0s Fri,Sat,Sun,Mon,Wed"}
	if diff := cmp.Diff(wantShifts, shifts); diff != "" {
		t.Errorf("shifts (-want +got):\n%s", diff)
	}
}

func TestHandoffRepProblems(t *testing.T) {
	if _, err := Load([]string{writeFile(t, "wecom:\n  handoff_reps:\n    - {userid: a, shift: early}\n")}, noEnv); err == nil ||
		!strings.Contains(err.Error(), "line 3: field shift not found") {
		t.Errorf("unknown key: %v, want it named with its line", err)
	}
	cfg := Default()
	cfg.WeCom.HandoffReps = []HandoffRep{
		{UserID: "a", Hours: "9-18"},
		{UserID: "b", Days: []string{"weekdays"}},
		{UserID: "c", Timezone: "Mars/Olympus"},
		{UserID: "a", DailyLimit: -1},
		{Hours: "09:00-09:00"},
	}
	err := cfg.Validate()
	for _, want := range []string{
		`wecom.handoff_reps[0] hours "9-18" must be HH:MM-HH:MM`,
		`wecom.handoff_reps[1] day "weekdays" must be mon`,
		`wecom.handoff_reps[2] timezone "Mars/Olympus"`,
		"wecom.handoff_reps[3]: a is listed twice",
		"wecom.handoff_reps[3] daily_limit must be 0",
		"wecom.handoff_reps[4] needs a userid",
		`wecom.handoff_reps[4] hours "09:00-09:00"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v\nwant it to say %s", err, want)
		}
	}
}
