package transfer

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// normalizeEmail accepts a plain address (no display name) and lower-cases
// it, as the contact store keeps addresses.
func normalizeEmail(v string) (string, error) {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v || len(v) > 254 {
		return "", fmt.Errorf("%q is not a plain email address like name@example.com", v)
	}
	return strings.ToLower(a.Address), nil
}

// dateLayouts are the spellings of a consent date seen in Chinese and
// English spreadsheets.
var dateLayouts = []string{"2006-01-02", "2006/01/02", "2006.01.02", "2006-1-2", "2006/1/2", "2006.1.2",
	"2006-01-02 15:04:05", "2006/01/02 15:04:05", "2006-01-02 15:04", "2006/1/2 15:04", time.RFC3339, "2006年1月2日"}

// excelEpoch is day 0 of Excel's date serial numbers (1900 system, with
// its leap-year quirk folded in).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// parseDate returns the date as YYYY-MM-DD. A bare number is an Excel date
// serial, which an .xlsx date cell holds.
func parseDate(v string) (string, bool) {
	v = strings.TrimSpace(v)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil && t.Year() >= 1970 && t.Year() <= 9999 {
			return t.Format("2006-01-02"), true
		}
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 25569 && f < 2958466 { // 1970-01-01 .. 9999-12-31
		return excelEpoch.AddDate(0, 0, int(f)).Format("2006-01-02"), true
	}
	return "", false
}
