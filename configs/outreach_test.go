package configs

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCouponRemindBefore(t *testing.T) {
	tests := []durationCase{
		{name: "default", want: 72 * time.Hour},
		{name: "file", file: "outreach: {coupon_remind_before: 24h}\n", want: 24 * time.Hour},
		{name: "file switches it off", file: "outreach: {coupon_remind_before: 0s}\n", want: 0},
		{name: "variable wins", file: "outreach: {coupon_remind_before: 24h}\n", env: map[string]string{"COUPON_REMIND_BEFORE": "48h"}, want: 48 * time.Hour},
		{name: "variable switches it off", env: map[string]string{"COUPON_REMIND_BEFORE": "0"}, want: 0},
		{name: "variable does not parse", env: map[string]string{"COUPON_REMIND_BEFORE": "three days"}, want: -1, problem: "COUPON_REMIND_BEFORE"},
		{name: "too long", file: "outreach: {coupon_remind_before: 2161h}\n", want: 2161 * time.Hour, problem: "outreach.coupon_remind_before"},
	}
	checkDurations(t, tests, func(c Config) time.Duration { return c.Outreach.CouponRemindBefore })
}

func TestPollInterval(t *testing.T) {
	tests := []durationCase{
		{name: "default", want: time.Second},
		{name: "file", file: "outreach: {poll_interval: 50ms}\n", want: 50 * time.Millisecond},
		{name: "too short", file: "outreach: {poll_interval: 1ms}\n", want: time.Millisecond, problem: "outreach.poll_interval"},
		{name: "too long", file: "outreach: {poll_interval: 2m}\n", want: 2 * time.Minute, problem: "outreach.poll_interval"},
	}
	checkDurations(t, tests, func(c Config) time.Duration { return c.Outreach.PollInterval })
}

// durationCase is one setting of an outreach duration: file and variables
// in, the value loaded and the problem validation names ("" for none).
type durationCase struct {
	name    string
	file    string
	env     map[string]string
	want    time.Duration
	problem string
}

func checkDurations(t *testing.T, tests []durationCase, get func(Config) time.Duration) {
	t.Helper()
	for _, tt := range tests {
		var files []string
		if tt.file != "" {
			files = append(files, writeFile(t, tt.file))
		}
		cfg, err := Load(files, envMap(tt.env))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, get(cfg)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		var problems problems
		cfg.validateOutreach(&problems)
		got := strings.Join(problems, "\n")
		if tt.problem == "" && got != "" || !strings.Contains(got, tt.problem) {
			t.Errorf("%s: problems %q, want one naming %q", tt.name, got, tt.problem)
		}
	}
}

func TestBuiltinRuleNamesAreReserved(t *testing.T) {
	cfg := Default()
	cfg.Outreach.Caps = []Cap{{Name: "oa-service-window", Purpose: "marketing", Channel: "officialaccount", Max: 1, Window: time.Hour}}
	var problems problems
	cfg.validateOutreach(&problems)
	if len(problems) != 1 || !strings.Contains(problems[0], `name "oa-service-window" is a built-in platform rule`) {
		t.Errorf("problems %q, want the reserved name refused", problems)
	}
}
