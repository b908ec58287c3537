package email

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Token layout, before base64url without padding:
//
//	version (1) | kind (1) | expires, Unix seconds, big-endian, 0 = never (4) |
//	MessageID, ContactID, Address, Campaign, URL, each a uvarint length and bytes |
//	HMAC-SHA256 of everything before it, truncated to macLen bytes
//
// A binary layout rather than JSON keeps an open token near 115 characters
// for typical ids, short enough for any mail client's links. The MAC is cut
// to 96 bits, as in HMAC-SHA1-96 for IPsec and SSH: a forger has no offline
// test, so each of the ~2^95 guesses needed would be a request we serve.
const (
	tokenVersion = 1
	macLen       = 12
	headerLen    = 2 + 4
	minSecretLen = 16
	// maxTokenLen bounds the work Verify does on hostile input; a click token
	// with the longest allowed URL stays below it.
	maxTokenLen = 4096
)

// keyLabel separates these tokens' MAC key from any other use of the same
// tracking secret.
const keyLabel = "journeygate email tracking token v1"

// Tokens signs and verifies tracking tokens. It is safe for concurrent use.
type Tokens struct {
	key []byte
	now func() time.Time
}

// NewTokens takes the operator's TRACKING_SECRET; the key it signs with is
// derived from it, so the secret can be shared with other token kinds. now
// decides expiry, so tests can move time.
func NewTokens(secret []byte, now func() time.Time) (*Tokens, error) {
	if len(secret) < minSecretLen {
		return nil, fmt.Errorf("tracking secret is %d bytes; use at least %d random bytes (e.g. openssl rand -hex 32)", len(secret), minSecretLen)
	}
	if now == nil {
		return nil, errors.New("tracking tokens need a clock; pass time.Now")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(keyLabel))
	return &Tokens{key: m.Sum(nil), now: now}, nil
}

func (t *Tokens) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write(payload)
	return m.Sum(nil)[:macLen]
}

// Sign mints a URL-safe token for c. The address is stored lowercased.
// Expires is kept to the second; zero means the token never expires.
func (t *Tokens) Sign(c Claim) (string, error) {
	c, err := c.check()
	if err != nil {
		return "", err
	}
	var exp uint32
	if !c.Expires.IsZero() {
		s := c.Expires.Unix()
		if s <= 0 || s > math.MaxUint32 {
			return "", fmt.Errorf("%w: Expires %v is outside 1970-2106", ErrBadClaim, c.Expires)
		}
		if !c.Expires.After(t.now()) {
			return "", fmt.Errorf("%w: Expires %v is already past; give the link time to be used", ErrBadClaim, c.Expires)
		}
		exp = uint32(s)
	}
	return t.encode(c, exp), nil
}

// encode lays out and signs a checked claim.
func (t *Tokens) encode(c Claim, exp uint32) string {
	fields := [...]string{c.MessageID, c.ContactID, c.Address, c.Campaign, c.URL}
	n := headerLen + macLen
	for _, f := range fields {
		n += binary.MaxVarintLen16 + len(f)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, tokenVersion, c.Kind)
	buf = binary.BigEndian.AppendUint32(buf, exp)
	for _, f := range fields {
		buf = binary.AppendUvarint(buf, uint64(len(f)))
		buf = append(buf, f...)
	}
	buf = append(buf, t.mac(buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Verify checks that token was signed by us for kind and returns its claim.
// An authentic token past its expiry returns the claim with ErrExpired, so
// the caller decides what an old link may still do. Every other failure is
// ErrBadToken and returns no claim.
func (t *Tokens) Verify(token string, kind byte) (Claim, error) {
	if len(token) > maxTokenLen {
		return Claim{}, fmt.Errorf("%w: %d characters is longer than any token we issue", ErrBadToken, len(token))
	}
	// The decoder skips line breaks; refusing every other character keeps
	// exactly one spelling per token.
	for i := 0; i < len(token); i++ {
		if !isBase64URL(token[i]) {
			return Claim{}, fmt.Errorf("%w: character %d is not base64url", ErrBadToken, i)
		}
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return Claim{}, fmt.Errorf("%w: not base64url: %v", ErrBadToken, err)
	}
	if len(raw) < headerLen+5+macLen {
		return Claim{}, fmt.Errorf("%w: too short", ErrBadToken)
	}
	payload, sum := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if !hmac.Equal(sum, t.mac(payload)) {
		return Claim{}, fmt.Errorf("%w: signature does not match; the link was altered or signed with another secret", ErrBadToken)
	}
	c, err := parsePayload(payload)
	if err != nil {
		return Claim{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if c.Kind != kind {
		return Claim{}, fmt.Errorf("%w: the token is for %s, not %s", ErrBadToken, kindName(c.Kind), kindName(kind))
	}
	if !c.Expires.IsZero() && t.now().After(c.Expires) {
		return c, fmt.Errorf("%w: it expired at %s", ErrExpired, c.Expires.Format(time.RFC3339))
	}
	return c, nil
}

func parsePayload(p []byte) (Claim, error) {
	if p[0] != tokenVersion {
		return Claim{}, fmt.Errorf("unknown token version %d", p[0])
	}
	c := Claim{Kind: p[1]}
	if exp := binary.BigEndian.Uint32(p[2:headerLen]); exp != 0 {
		c.Expires = time.Unix(int64(exp), 0).UTC()
	}
	rest := p[headerLen:]
	for _, f := range [...]*string{&c.MessageID, &c.ContactID, &c.Address, &c.Campaign, &c.URL} {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return Claim{}, errors.New("truncated field")
		}
		*f = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	if len(rest) != 0 {
		return Claim{}, errors.New("trailing bytes")
	}
	return c, nil
}

func isBase64URL(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}
