package email

import (
	"fmt"
	"net/mail"
	"strings"
)

// maxAddressLen is the longest address SMTP can carry (RFC 5321 path limit).
const maxAddressLen = 254

// normalizeAddress gives an address the one spelling contacts key on: a bare
// addr-spec, lowercased. Mailbox providers treat local parts case-insensitively,
// and a bounce must find the contact the mail was sent to whatever case the
// provider reports. Display names and angle brackets are refused, because a
// field meant to hold an address should hold only that.
func normalizeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("the address is empty")
	}
	if len(s) > maxAddressLen {
		return "", fmt.Errorf("the address is %d bytes long; at most %d are allowed", len(s), maxAddressLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%q is not a plain email address like li.wei@example.com", s)
	}
	return strings.ToLower(s), nil
}
