package email

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/journeygate/gateway/channels"
)

// Claim kinds, one per tracking route, so a token minted for a pixel cannot
// be replayed as an unsubscribe.
const (
	KindOpen        byte = 'o'
	KindClick       byte = 'c'
	KindUnsubscribe byte = 'u'
)

// Limits keep tokens short enough for URLs and bound what a token can carry.
const (
	maxIDLen  = 128
	maxURLLen = 2048
)

// Claim is what a tracking link vouches for: which message, to whom, and for
// a click where it leads. Expires zero means the link never expires, which
// suits unsubscribe links: the law expects them to keep working.
type Claim struct {
	Kind      byte // KindOpen, KindClick or KindUnsubscribe
	MessageID string
	ContactID string
	Address   string
	URL       string
	Campaign  string
	Expires   time.Time
}

func kindName(k byte) string {
	switch k {
	case KindOpen:
		return "open"
	case KindClick:
		return "click"
	case KindUnsubscribe:
		return "unsubscribe"
	}
	return fmt.Sprintf("unknown kind %q", k)
}

// check validates a claim before signing and returns it with its address
// normalized, so every token names the contact's identity exactly.
func (c Claim) check() (Claim, error) {
	if c.Kind != KindOpen && c.Kind != KindClick && c.Kind != KindUnsubscribe {
		return c, fmt.Errorf("%w: kind %q; use KindOpen, KindClick or KindUnsubscribe", ErrBadClaim, c.Kind)
	}
	if c.MessageID == "" {
		return c, fmt.Errorf("%w: MessageID is empty; every tracked mail needs its message id", ErrBadClaim)
	}
	for _, f := range [...]struct{ name, v string }{{"MessageID", c.MessageID}, {"ContactID", c.ContactID}, {"Campaign", c.Campaign}} {
		if len(f.v) > maxIDLen || !utf8.ValidString(f.v) {
			return c, fmt.Errorf("%w: %s must be valid UTF-8 of at most %d bytes", ErrBadClaim, f.name, maxIDLen)
		}
	}
	addr, err := normalizeAddress(c.Address)
	if err != nil {
		return c, fmt.Errorf("%w: Address: %w", ErrBadClaim, err)
	}
	c.Address = addr
	if c.Kind != KindClick {
		if c.URL != "" {
			return c, fmt.Errorf("%w: URL is set on a %s claim; only click claims carry a link", ErrBadClaim, kindName(c.Kind))
		}
		return c, nil
	}
	if err := checkLink(c.URL); err != nil {
		return c, fmt.Errorf("%w: %w", ErrBadClaim, err)
	}
	return c, nil
}

// checkLink allows only absolute http(s) links, so a click token can never
// become an open redirect to javascript: or data: URLs.
func checkLink(s string) error {
	if s == "" {
		return fmt.Errorf("URL is empty; a click claim needs the link's target")
	}
	if len(s) > maxURLLen {
		return fmt.Errorf("URL is %d bytes long; at most %d are allowed", len(s), maxURLLen)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("URL %q does not parse: %w", s, err)
	}
	if scheme := strings.ToLower(u.Scheme); (scheme != "http" && scheme != "https") || u.Host == "" {
		return fmt.Errorf("URL %q must be an absolute http:// or https:// link", s)
	}
	return nil
}

// Event turns a verified claim into the inbound event it stands for. Opens
// and unsubscribes are de-duplicated per message, clicks per message and
// link, so reloading a pixel or clicking twice counts once. A claim of an
// unknown kind gives the zero Event.
func (c Claim) Event(at time.Time) channels.Event {
	ev := channels.Event{
		Source:  channels.Email,
		At:      at,
		Contact: []channels.Identity{{Kind: channels.EmailAddress, Value: c.Address}},
		Props:   map[string]string{"message_id": c.MessageID},
	}
	if c.Address == "" {
		ev.Contact = nil
	}
	if c.Campaign != "" {
		ev.Props["campaign"] = c.Campaign
	}
	if c.ContactID != "" {
		ev.Props["contact_id"] = c.ContactID
	}
	switch c.Kind {
	case KindOpen:
		ev.Type, ev.ID = channels.TypeEmailOpen, "email:open:"+c.MessageID
	case KindClick:
		ev.Type, ev.ID = channels.TypeEmailClick, "email:click:"+c.MessageID+":"+linkHash(c.URL)
		ev.Props["url"] = c.URL
	case KindUnsubscribe:
		ev.Type, ev.ID = channels.TypeEmailUnsubscribe, "email:unsub:"+c.MessageID
	default:
		return channels.Event{}
	}
	return ev
}

// linkHash tells a message's links apart in event ids: 48 bits is ample for
// the handful of links in one mail and keeps the key short.
func linkHash(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:6])
}
