package outreach

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestQuietHoursUntil(t *testing.T) {
	shanghai := mustZone(t, "Asia/Shanghai")
	newYork := mustZone(t, "America/New_York")
	night := QuietRule{Channels: []string{"sms", "wecom", "officialaccount"}, Start: "21:00", End: "09:00", Zone: shanghai}
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	utc := func(y int, m time.Month, d, h, min int) time.Time { return at(time.UTC, y, m, d, h, min) }
	nextMorning := at(shanghai, 2026, 11, 3, 9, 0)
	tests := []struct {
		name  string
		rules []QuietRule
		t     time.Time
		ch    string
		tz    string
		want  time.Time
	}{
		{"before the night", []QuietRule{night}, at(shanghai, 2026, 11, 2, 20, 59), "sms", "", time.Time{}},
		{"the night starts", []QuietRule{night}, at(shanghai, 2026, 11, 2, 21, 0), "sms", "", nextMorning},
		{"a minute to midnight", []QuietRule{night}, at(shanghai, 2026, 11, 2, 23, 59), "sms", "", nextMorning},
		{"midnight", []QuietRule{night}, at(shanghai, 2026, 11, 3, 0, 0), "sms", "", nextMorning},
		{"a minute to the end", []QuietRule{night}, at(shanghai, 2026, 11, 3, 8, 59), "sms", "", nextMorning},
		{"the last instant", []QuietRule{night}, nextMorning.Add(-time.Nanosecond), "sms", "", nextMorning},
		{"the night ends", []QuietRule{night}, nextMorning, "sms", "", time.Time{}},

		{"same-day span, before", []QuietRule{{Channels: []string{"email"}, Start: "12:00", End: "14:00", Zone: shanghai}},
			at(shanghai, 2026, 11, 2, 11, 59), "email", "", time.Time{}},
		{"same-day span, start", []QuietRule{{Channels: []string{"email"}, Start: "12:00", End: "14:00", Zone: shanghai}},
			at(shanghai, 2026, 11, 2, 12, 0), "email", "", at(shanghai, 2026, 11, 2, 14, 0)},
		{"same-day span, inside", []QuietRule{{Channels: []string{"email"}, Start: "12:00", End: "14:00", Zone: shanghai}},
			at(shanghai, 2026, 11, 2, 13, 59), "email", "", at(shanghai, 2026, 11, 2, 14, 0)},
		{"same-day span, end", []QuietRule{{Channels: []string{"email"}, Start: "12:00", End: "14:00", Zone: shanghai}},
			at(shanghai, 2026, 11, 2, 14, 0), "email", "", time.Time{}},

		// 22:30 in Shanghai is 09:30 in New York: a New York contact is awake.
		{"the contact's zone wins", []QuietRule{night}, at(shanghai, 2026, 11, 2, 22, 30), "sms", "America/New_York", time.Time{}},
		{"the contact's zone defers too", []QuietRule{night}, at(shanghai, 2026, 11, 2, 21, 30), "sms", "America/New_York",
			at(newYork, 2026, 11, 2, 9, 0)},
		{"a Shanghai contact under a UTC rule", []QuietRule{{Channels: []string{"sms"}, Start: "21:00", End: "09:00", Zone: time.UTC}},
			utc(2026, 11, 2, 13, 30), "sms", "Asia/Shanghai", utc(2026, 11, 3, 1, 0)},
		{"the same instant in the rule's UTC", []QuietRule{{Channels: []string{"sms"}, Start: "21:00", End: "09:00", Zone: time.UTC}},
			utc(2026, 11, 2, 13, 30), "sms", "", time.Time{}},
		{"an unknown zone falls back to the rule's", []QuietRule{night}, at(shanghai, 2026, 11, 2, 22, 0), "sms", "Mars/Olympus", nextMorning},
		// New York springs forward on 2026-03-08 at 02:00: the night is an hour shorter.
		{"New York, night before spring forward", []QuietRule{night}, at(newYork, 2026, 3, 7, 22, 0), "sms", "America/New_York",
			utc(2026, 3, 8, 13, 0)},
		{"New York, after spring forward", []QuietRule{night}, utc(2026, 3, 8, 7, 30), "sms", "America/New_York",
			utc(2026, 3, 8, 13, 0)},
		// ...and falls back on 2026-11-01 at 02:00: an hour longer.
		{"New York, night before fall back", []QuietRule{night}, at(newYork, 2026, 10, 31, 23, 0), "sms", "America/New_York",
			utc(2026, 11, 1, 14, 0)},
		// 02:30 never comes that night: at 02:00 EST the clock reads 03:00 EDT.
		{"an end inside the skipped hour", []QuietRule{{Channels: []string{"sms"}, Start: "21:00", End: "02:30", Zone: newYork}},
			at(newYork, 2026, 3, 7, 23, 0), "sms", "", utc(2026, 3, 8, 7, 0)},
		{"an end in the repeated hour, first pass", []QuietRule{{Channels: []string{"sms"}, Start: "00:00", End: "01:30", Zone: newYork}},
			utc(2026, 11, 1, 5, 10), "sms", "", utc(2026, 11, 1, 5, 30)},
		{"an end in the repeated hour, second pass", []QuietRule{{Channels: []string{"sms"}, Start: "00:00", End: "01:30", Zone: newYork}},
			utc(2026, 11, 1, 6, 10), "sms", "", utc(2026, 11, 1, 6, 30)},

		{"a channel not listed", []QuietRule{night}, at(shanghai, 2026, 11, 2, 23, 0), "email", "", time.Time{}},
		{"no rules", nil, at(shanghai, 2026, 11, 2, 23, 0), "sms", "", time.Time{}},
		{"spans that follow one another are crossed at once", []QuietRule{night,
			{Channels: []string{"sms"}, Start: "09:00", End: "10:30", Zone: shanghai}},
			at(shanghai, 2026, 11, 2, 22, 0), "sms", "", at(shanghai, 2026, 11, 3, 10, 30)},
		{"overlapping spans end with the later", []QuietRule{night,
			{Channels: []string{"sms"}, Start: "08:00", End: "11:00", Zone: shanghai}},
			at(shanghai, 2026, 11, 3, 8, 30), "sms", "", at(shanghai, 2026, 11, 3, 11, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := NewQuietHours(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			got := q.Until(tt.t, tt.ch, tt.tz)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Until(%s, %s, %q) (-want +got):\n%s", tt.t.UTC().Format(time.RFC3339), tt.ch, tt.tz, diff)
			}
		})
	}
}

func TestQuietHoursNilIsOff(t *testing.T) {
	var q *QuietHours
	if got := q.Until(time.Now(), "sms", ""); !got.IsZero() {
		t.Errorf("nil QuietHours deferred to %s", got)
	}
}

func TestNewQuietHoursRejectsBadRules(t *testing.T) {
	ok := QuietRule{Channels: []string{"sms"}, Start: "21:00", End: "09:00", Zone: time.UTC}
	with := func(f func(*QuietRule)) QuietRule { r := ok; f(&r); return r }
	tests := []struct {
		name string
		rule QuietRule
	}{
		{"single-digit hour", with(func(r *QuietRule) { r.Start = "9:00" })},
		{"hour 24", with(func(r *QuietRule) { r.End = "24:00" })},
		{"minute 60", with(func(r *QuietRule) { r.Start = "21:60" })},
		{"seconds", with(func(r *QuietRule) { r.Start = "21:00:00" })},
		{"empty start", with(func(r *QuietRule) { r.Start = "" })},
		{"signs", with(func(r *QuietRule) { r.End = "+9:00" })},
		{"start equals end", with(func(r *QuietRule) { r.End = "21:00" })},
		{"no channels", with(func(r *QuietRule) { r.Channels = nil })},
		{"unknown channel", with(func(r *QuietRule) { r.Channels = []string{"sms", "fax"} })},
		{"no zone", with(func(r *QuietRule) { r.Zone = nil })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewQuietHours([]QuietRule{ok, tt.rule}); !errors.Is(err, ErrInvalidRule) {
				t.Errorf("NewQuietHours error = %v, want ErrInvalidRule", err)
			}
		})
	}
}
