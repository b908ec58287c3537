package outreach

import (
	"fmt"
	"testing"
	"time"
)

// FuzzQuietHours feeds config times and contacts' time zones to quiet hours:
// nothing panics, accepted times read back as written, and Until answers
// either zero or a later instant at which sending is allowed while the
// instant just before is still quiet.
func FuzzQuietHours(f *testing.F) {
	f.Add("21:00", "09:00", int64(1793624400), "America/New_York")
	f.Add("12:00", "14:00", int64(1793613600), "")
	f.Add("21:00", "02:30", int64(1772942400), "America/New_York")
	f.Add("00:00", "01:30", int64(1793596200), "America/New_York")
	f.Add("03:00", "02:30", int64(1772935200), "US/Eastern")
	f.Add("9:00", "24:00", int64(-1), "../etc/passwd")
	f.Add("23:59", "00:00", int64(1325152800), "Pacific/Apia")
	f.Fuzz(func(t *testing.T, start, end string, sec int64, tz string) {
		q, err := NewQuietHours([]QuietRule{{Channels: []string{"sms"}, Start: start, End: end, Zone: time.UTC}})
		if err != nil {
			return
		}
		r := q.rules[0]
		if got := fmt.Sprintf("%02d:%02d", r.start/60, r.start%60); got != start {
			t.Fatalf("start %q read as %s", start, got)
		}
		if got := fmt.Sprintf("%02d:%02d", r.end/60, r.end%60); got != end {
			t.Fatalf("end %q read as %s", end, got)
		}
		const span = 150 * 365 * 24 * 3600 // 1820 to 2120
		at := time.Unix(sec%span, 0)
		u := q.Until(at, "sms", tz)
		if u.IsZero() {
			return
		}
		if !u.After(at) {
			t.Fatalf("Until(%s) = %s, not later", at.UTC(), u.UTC())
		}
		if again := q.Until(u, "sms", tz); !again.IsZero() {
			t.Fatalf("Until(%s) = %s, yet at that instant it is still quiet until %s", at.UTC(), u, again)
		}
		if before := q.Until(u.Add(-time.Nanosecond), "sms", tz); before.IsZero() {
			t.Fatalf("Until(%s) = %s, yet the instant before is not quiet", at.UTC(), u)
		}
	})
}
