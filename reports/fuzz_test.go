package reports

import (
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// FuzzParseAmount: shop systems send amounts; any accepted one is a
// non-negative number of cents within bounds that reads back the same.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"199.90", "0", "1e3", "-1", "NaN", "Inf", "0x10", " 5 ", "99999999999", "1.005", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cents, err := ParseAmount(s)
		if err != nil {
			return
		}
		if cents < 0 || cents > int64(maxAmount*100) {
			t.Fatalf("ParseAmount(%q) = %d cents, out of bounds", s, cents)
		}
		again, err := ParseAmount(strconv.FormatFloat(float64(cents)/100, 'f', 2, 64))
		if err != nil || again != cents {
			t.Fatalf("ParseAmount(%q) = %d, but its own formatting reads back %d, %v", s, cents, again, err)
		}
	})
}

// FuzzPeriod: report periods come from query strings; any accepted one is
// ordered and within MaxDays.
func FuzzPeriod(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"2026-11-01", "2026-11-30"}, {"2026-11-30", "2026-11-01"}, {"2020-02-29", ""}, {"x", "2026-13-40"}} {
		f.Add(s[0], s[1])
	}
	r, err := New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), Options{Now: func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		p, err := r.Period(from, to)
		if err != nil {
			return
		}
		if p.From.After(p.To) || len(p.days()) > r.opt.MaxDays || len(p.days()) == 0 {
			t.Fatalf("Period(%q, %q) = %v .. %v (%d days)", from, to, p.From, p.To, len(p.days()))
		}
	})
}
