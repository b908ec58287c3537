package sms

import (
	"fmt"
	"strings"
)

// E.164 allows at most 15 digits; the shortest real international numbers
// (country code plus subscriber number) have 8.
const (
	minIntlDigits = 8
	maxIntlDigits = 15
	maxPhoneInput = 64
)

const phoneForms = `use an 11-digit mainland mobile ("13800138000"), optionally with 86, +86 or 0086 in front, ` +
	`or another country's number with + or 00 and its country code ("+852 9123 4567"); ` +
	`spaces, dashes, dots and brackets are ignored`

// NormalizePhone gives every phone number one canonical spelling, "+" and
// digits (E.164), so a number typed into a web form, stored on a contact and
// reported back by Aliyun is the same identity. Mainland mobiles become "+86"
// and 11 digits. A bare number without + or 00 is accepted only as a mainland
// mobile, because anything else is ambiguous.
func NormalizePhone(s string) (string, error) {
	if len(s) > maxPhoneInput {
		return "", fmt.Errorf("%w: %d characters is too long for a phone number; %s", ErrBadPhone, len(s), phoneForms)
	}
	plus, digits, ok := splitPhone(s)
	if !ok {
		return "", fmt.Errorf("%w: %q; %s", ErrBadPhone, s, phoneForms)
	}
	international := plus
	if !plus && strings.HasPrefix(digits, "00") {
		international, digits = true, digits[2:]
	}
	switch {
	case !international && isMainlandMobile(digits):
		return "+86" + digits, nil
	case !international && len(digits) == 13 && strings.HasPrefix(digits, "86") && isMainlandMobile(digits[2:]):
		return "+" + digits, nil
	case !international:
		return "", fmt.Errorf("%w: %q is not a mainland mobile and has no + or 00 before a country code; %s", ErrBadPhone, s, phoneForms)
	case strings.HasPrefix(digits, "86"):
		// SMS goes to mobiles only, so a +86 number must be one.
		if !isMainlandMobile(digits[2:]) {
			return "", fmt.Errorf("%w: %q has country code 86 but is not an 11-digit mainland mobile starting with 13-19; %s", ErrBadPhone, s, phoneForms)
		}
		return "+" + digits, nil
	case len(digits) < minIntlDigits || len(digits) > maxIntlDigits || digits[0] == '0':
		return "", fmt.Errorf("%w: %q needs a country code and %d to %d digits in all; %s", ErrBadPhone, s, minIntlDigits, maxIntlDigits, phoneForms)
	}
	return "+" + digits, nil
}

// splitPhone drops separators and reports whether the number began with "+".
// Full-width digits and plus signs, common in Chinese input methods, count
// as their ASCII forms.
func splitPhone(s string) (plus bool, digits string, ok bool) {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = foldWidth(r)
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+':
			// Only before the first digit, as in "(+86)".
			if b.Len() > 0 || plus {
				return false, "", false
			}
			plus = true
		case r == ' ' || r == '\t' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return false, "", false
		}
	}
	if b.Len() == 0 {
		return false, "", false
	}
	return plus, b.String(), true
}

// bareDigits returns the digits of a number written without "+".
func bareDigits(s string) (string, bool) {
	plus, digits, ok := splitPhone(s)
	return digits, ok && !plus
}

// isMainlandMobile reports whether d is 11 digits in the 13x-19x ranges the
// mainland assigns to mobiles.
func isMainlandMobile(d string) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}
