package contacts

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Identity kinds. The values match the contact JSON keys of the admin API.
const (
	KindPhone          = "phone"
	KindEmail          = "email"
	KindOpenID         = "openid"
	KindUnionID        = "unionid"
	KindExternalUserID = "external_userid"
)

// maxIdentityLen bounds an identity value; real ones (phone numbers, email
// addresses, WeChat ids) are far shorter.
const maxIdentityLen = 256

// Identity is one platform id of a customer.
type Identity struct{ Kind, Value string }

// String is the form kept in a contact's identity set.
func (i Identity) String() string { return i.Kind + ":" + i.Value }

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// IDFor derives the id a contact gets when i is the first identity seen for
// it: lowercase base32 (no padding) of the first 10 bytes of
// sha256(kind + ":" + value), after normalizing i (surrounding spaces
// trimmed, email lowercased). Because it is deterministic, an event's
// identity leads straight to its contact's slot with no lookup.
func IDFor(i Identity) string {
	n := normalizeIdentity(i)
	sum := sha256.Sum256([]byte(n.Kind + ":" + n.Value))
	return idEncoding.EncodeToString(sum[:10])
}

// idLen is the length of every id IDFor returns.
const idLen = 16

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// normalizeIdentity makes spellings of the same identity equal, so they map
// to one contact: phone numbers and ids as given, email addresses lowercased.
func normalizeIdentity(i Identity) Identity {
	i.Kind = strings.ToLower(strings.TrimSpace(i.Kind))
	i.Value = strings.TrimSpace(i.Value)
	if i.Kind == KindEmail {
		i.Value = strings.ToLower(i.Value)
	}
	return i
}

// NormalizeIdentity checks i and returns the form the store keeps, so callers
// can compare identities the way the store does.
func NormalizeIdentity(i Identity) (Identity, error) {
	n := normalizeIdentity(i)
	switch n.Kind {
	case KindPhone, KindEmail, KindOpenID, KindUnionID, KindExternalUserID:
	default:
		return Identity{}, invalid("identity kind %q is unknown; use phone, email, openid, unionid or external_userid", i.Kind)
	}
	if n.Value == "" {
		return Identity{}, invalid("identity %s has an empty value; pass the platform id", n.Kind)
	}
	if len(n.Value) > maxIdentityLen {
		return Identity{}, invalid("identity %s value is %d bytes; at most %d are allowed", n.Kind, len(n.Value), maxIdentityLen)
	}
	if err := checkText(n.Value); err != nil {
		return Identity{}, invalid("identity %s value %q %v", n.Kind, n.Value, err)
	}
	return n, nil
}

// parseIdentity reads the "kind:value" form of a contact's identity set.
func parseIdentity(s string) (Identity, bool) {
	kind, value, ok := strings.Cut(s, ":")
	return Identity{Kind: kind, Value: value}, ok
}

// checkText refuses what would not survive JSON or would confuse an operator
// reading keys: invalid UTF-8 and control characters.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8; send UTF-8 text")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("contains the control character %U; remove it", r)
		}
	}
	return nil
}
