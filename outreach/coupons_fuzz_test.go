package outreach

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// couponCodeOracle restates the import rule independently of normalizeCode.
var couponCodeOracle = regexp.MustCompile(`^[A-Za-z0-9-]{4,32}$`)

// FuzzAddCodes feeds code lists, one code a line as they come from a shop's
// export, to the import validation: a list is refused exactly when a line
// breaks the rule, and an accepted list yields each distinct code once,
// upper cased, in first-seen order.
func FuzzAddCodes(f *testing.F) {
	f.Add("SAVE-0001\nsave-0001\nSAVE-0002")
	f.Add(" D11-ABCD \r\nd11-abcd")
	f.Add("ABC")
	f.Add("")
	f.Add("GOOD-0001\nBAD_0002")
	f.Add("券券券券")
	f.Add(strings.Repeat("A", 32) + "\n" + strings.Repeat("B", 33))
	f.Fuzz(func(t *testing.T, list string) {
		lines := strings.Split(list, "\n")
		if list == "" {
			lines = nil
		}
		got, err := normalizeCodes(lines)
		valid := len(lines) > 0
		var want []string
		seen := map[string]bool{}
		for _, l := range lines {
			code := strings.TrimSpace(l)
			if !couponCodeOracle.MatchString(code) {
				valid = false
				break
			}
			code = strings.ToUpper(code)
			if !seen[code] {
				seen[code] = true
				want = append(want, code)
			}
		}
		if !valid {
			if !errors.Is(err, ErrCouponInvalid) || got != nil {
				t.Fatalf("list %q: got %q, %v; want ErrCouponInvalid", list, got, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("list %q refused: %v", list, err)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
			t.Fatalf("list %q: got %q, want %q", list, got, want)
		}
	})
}
