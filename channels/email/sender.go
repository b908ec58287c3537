package email

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/outreach"
)

// SenderConfig configures the SMTP sender. Zero values take the defaults
// noted on each field.
type SenderConfig struct {
	Addr               string // host:port of the SMTP relay
	Username, Password string // empty Username: no AUTH
	// From is "Name <addr>"; a non-ASCII name such as 市场部 is fine. Its
	// domain also names our Message-IDs.
	From string
	// TLS: "" uses STARTTLS when the server offers it, and requires it when
	// Username is set and the host is not loopback; "starttls" always
	// requires it; "implicit" is TLS from the first byte (port 465); "none"
	// is clear text and allowed for loopback hosts only.
	TLS string
	// TLSConfig sets roots or client certificates; nil verifies the server
	// against the system roots. ServerName defaults to Addr's host.
	TLSConfig   *tls.Config
	PoolSize    int           // connections kept open; default 8
	DialTimeout time.Duration // default 5s
	// CommandTimeout bounds every exchange with the server (each read and
	// write has a deadline); default 30s.
	CommandTimeout time.Duration
	// MaxPerConn is how many messages one connection carries before it is
	// closed and redialed, which spreads load when the relay is a pool
	// behind one name; default 1000.
	MaxPerConn int
	// Hello is the name we give in EHLO; empty: our address literal, e.g.
	// [10.0.0.5], which is what RFC 5321 asks of a host without a name.
	Hello string
	// PublicBaseURL is where the gateway serves /t/o/, /t/c/ and /u/.
	PublicBaseURL string
	// Tokens signs tracking and unsubscribe links; nil disables tracking,
	// List-Unsubscribe and UnsubscribeURLPlaceholder.
	Tokens *Tokens
	// UnsubscribeMailto, e.g. unsubscribe@example.com, is offered next to
	// the https link in List-Unsubscribe; optional.
	UnsubscribeMailto string
	// Now stamps the Date header.
	Now func() time.Time
}

// Sender sends email over a pool of persistent SMTP connections. It is safe
// for concurrent use.
type Sender struct {
	pool              *pool
	fromHeader        string // encoded display form of From
	fromAddr          string // the envelope sender
	fromDomain        string
	track             *tracker
	unsubscribeMailto string
	now               func() time.Time
}

var _ outreach.Sender = (*Sender)(nil)

// NewSender checks cfg and prepares the pool; connections open on first use.
func NewSender(cfg SenderConfig) (*Sender, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("%w: Addr %q must be host:port, e.g. smtp.example.com:587", ErrConfig, cfg.Addr)
	}
	loopback := isLoopback(host)
	cc := &connConfig{
		addr:        cfg.Addr,
		host:        host,
		loopback:    loopback,
		username:    cfg.Username,
		password:    cfg.Password,
		hello:       cfg.Hello,
		dialTimeout: orDefault(cfg.DialTimeout, 5*time.Second),
		cmdTimeout:  orDefault(cfg.CommandTimeout, 30*time.Second),
	}
	switch strings.ToLower(cfg.TLS) {
	case "":
		cc.mode = tlsAuto
	case "starttls":
		cc.mode = tlsStartTLS
	case "implicit":
		cc.mode = tlsImplicit
	case "none":
		if !loopback {
			return nil, fmt.Errorf("%w: TLS \"none\" sends mail to %s in clear text; it is allowed for loopback relays only; use \"starttls\" or \"implicit\"", ErrConfig, host)
		}
		cc.mode = tlsNone
	default:
		return nil, fmt.Errorf("%w: TLS %q is not one of \"starttls\", \"implicit\", \"none\" or empty", ErrConfig, cfg.TLS)
	}
	if cfg.TLSConfig != nil {
		cc.tlsConfig = cfg.TLSConfig.Clone()
	} else {
		cc.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cc.tlsConfig.ServerName == "" {
		cc.tlsConfig.ServerName = host
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, fmt.Errorf("%w: Password is set without Username", ErrConfig)
	}
	if strings.ContainsAny(cfg.Hello, " \r\n") {
		return nil, fmt.Errorf("%w: Hello %q must be a host name without spaces", ErrConfig, cfg.Hello)
	}
	if cfg.PoolSize < 0 || cfg.MaxPerConn < 0 || cfg.DialTimeout < 0 || cfg.CommandTimeout < 0 {
		return nil, fmt.Errorf("%w: PoolSize, MaxPerConn and the timeouts may not be negative", ErrConfig)
	}
	if cfg.Now == nil {
		return nil, fmt.Errorf("%w: Now is nil; pass time.Now", ErrConfig)
	}

	from, err := mail.ParseAddress(cfg.From)
	if err != nil || checkRecipient(from.Address) != nil {
		return nil, fmt.Errorf("%w: From %q must be an address like \"市场部 <news@example.com>\" with an ASCII address part", ErrConfig, cfg.From)
	}
	s := &Sender{
		pool:       newPool(cc, orDefault(cfg.PoolSize, 8), orDefault(cfg.MaxPerConn, 1000)),
		fromHeader: from.String(),
		fromAddr:   from.Address,
		fromDomain: from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		now:        cfg.Now,
	}
	if cfg.Tokens != nil {
		base, err := checkBaseURL(cfg.PublicBaseURL)
		if err != nil {
			return nil, err
		}
		s.track = &tracker{tokens: cfg.Tokens, base: base, attrBase: escapeAttr(base)}
		if cfg.UnsubscribeMailto != "" {
			addr := strings.TrimPrefix(cfg.UnsubscribeMailto, "mailto:")
			if checkRecipient(addr) != nil {
				return nil, fmt.Errorf("%w: UnsubscribeMailto %q must be a plain address like unsubscribe@example.com", ErrConfig, cfg.UnsubscribeMailto)
			}
			s.unsubscribeMailto = "mailto:" + addr
		}
	}
	return s, nil
}

// checkBaseURL wants an absolute http(s) URL without query or fragment, as
// tracking paths are appended to it.
func checkBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
		strings.ContainsAny(raw, " \"'<>\r\n") {
		return "", fmt.Errorf("%w: PublicBaseURL %q must be an http(s) URL such as https://mail.example.com, needed for tracking links", ErrConfig, raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// escapeAttr escapes the characters that matter inside a double-quoted
// attribute; checkBaseURL already refused quotes and angle brackets.
func escapeAttr(s string) string {
	return strings.ReplaceAll(s, "&", "&amp;")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func orDefault[T int | time.Duration](v, d T) T {
	if v == 0 {
		return d
	}
	return v
}

// Channel reports channels.Email.
func (s *Sender) Channel() channels.Channel { return channels.Email }

// Send renders m (tracking links, open pixel and List-Unsubscribe for
// marketing mail) and hands it to the SMTP relay. The receipt's PlatformID
// is the relay's queue id. Every failure is a *channels.SendError: SMTP 4xx,
// timeouts and broken connections are transient, 5xx and messages that
// cannot be rendered are permanent, with the reply code as Code.
func (s *Sender) Send(ctx context.Context, m *channels.Outbound) (channels.Receipt, error) {
	if m == nil {
		return channels.Receipt{}, sendError(ctx, invalid("the message is nil"))
	}
	msg, err := s.render(m)
	if err != nil {
		return channels.Receipt{}, sendError(ctx, err)
	}
	id, err := s.pool.send(ctx, s.fromAddr, m.To, msg)
	if err != nil {
		return channels.Receipt{}, sendError(ctx, fmt.Errorf("sending message %s to %s: %w", m.ID, m.To, err))
	}
	return channels.Receipt{PlatformID: id, Kind: channels.KindEmail}, nil
}

// Close ends the pooled connections. Sends in flight finish; later ones
// fail with ErrClosed. It returns nil: a relay that does not answer QUIT is
// simply disconnected. The error result lets main close it like any other
// resource.
func (s *Sender) Close() error {
	s.pool.close()
	return nil
}
