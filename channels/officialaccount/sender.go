package officialaccount

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/officialaccount"
	offConfig "github.com/silenceper/wechat/v2/officialaccount/config"
	oacontext "github.com/silenceper/wechat/v2/officialaccount/context"
	oamsg "github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/accesstoken"
	"github.com/journeygate/gateway/outreach"
)

var _ outreach.Sender = (*Sender)(nil)

// CustomerServiceWindow is how long after a follower's last interaction the
// account may send customer-service messages (客服消息).
const CustomerServiceWindow = 48 * time.Hour

// DefaultSendTimeout bounds one Send (token, call and the one retry after a
// rejected token) when the caller's context has no earlier deadline. The SDK
// calls take no context, so this and the HTTP client's timeout are what keep
// a hung WeChat from holding a worker.
const DefaultSendTimeout = 30 * time.Second

// SenderConfig holds what the sender needs from the account and the gateway.
type SenderConfig struct {
	AppID, AppSecret string
	// Redis keeps the access token shared by every gateway process.
	Redis redis.UniversalClient
	// Now is the clock the 48-hour window is judged by; nil means time.Now.
	Now func() time.Time
}

// Sender sends customer-service and template messages through the WeChat
// SDK. It is safe for concurrent use.
type Sender struct {
	oa      *officialaccount.OfficialAccount
	tokens  *accesstoken.Source
	now     func() time.Time
	timeout time.Duration
	// inflight counts SDK calls, including those still running after their
	// Send gave up on its context; waiting on it lets a shutdown (or a test)
	// see them end.
	inflight sync.WaitGroup
}

// NewSender builds the account's SDK handle with the cluster-wide token
// source named "officialaccount:<AppID>", so every process shares one token.
func NewSender(cfg SenderConfig) (*Sender, error) {
	switch {
	case cfg.AppID == "":
		return nil, refusedConfig("AppID is empty: set WECHAT_APP_ID to the account's AppID (wx...)")
	case cfg.AppSecret == "":
		return nil, refusedConfig("AppSecret is empty: set WECHAT_APP_SECRET to the account's AppSecret")
	case cfg.Redis == nil:
		return nil, refusedConfig("no Redis client: the access token is shared through Redis")
	}
	name := "officialaccount:" + cfg.AppID
	tokens, err := accesstoken.New(cfg.Redis, name, accesstoken.OfficialAccountFetcher(cfg.AppID, cfg.AppSecret), accesstoken.Options{})
	if err != nil {
		return nil, refusedConfig(err.Error())
	}
	oa := officialaccount.NewOfficialAccount(&offConfig.Config{
		AppID:     cfg.AppID,
		AppSecret: cfg.AppSecret,
		Cache:     accesstoken.NewCache(cfg.Redis, name+":"),
	})
	oa.SetAccessTokenHandle(tokens)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Sender{oa: oa, tokens: tokens, now: now, timeout: DefaultSendTimeout}, nil
}

func refusedConfig(detail string) error {
	return fmt.Errorf("%w: %s", ErrSenderConfig, detail)
}

// Channel is channels.OfficialAccount.
func (s *Sender) Channel() channels.Channel { return channels.OfficialAccount }

// Send delivers m. Text, news and image go as customer-service messages
// while the 48-hour window after m.LastInbound is open; outside it, or when
// WeChat says it is closed (45015, 45047; its clock is the one that counts),
// a message with a TemplateID goes as a template message and one without
// fails with OutsideWindow. A rejected access token is dropped cluster-wide
// and the call tried once more with a fresh one.
func (s *Sender) Send(ctx context.Context, m *channels.Outbound) (channels.Receipt, error) {
	if m == nil {
		return channels.Receipt{}, refused(channels.Permanent, ErrIncomplete, "no message")
	}
	if m.Channel != "" && m.Channel != channels.OfficialAccount {
		return channels.Receipt{}, refused(channels.Permanent, ErrUnsupportedKind, "message is for channel %q", m.Channel)
	}
	if m.To == "" {
		return channels.Receipt{}, refused(channels.Permanent, ErrIncomplete, "To is empty: it must be the follower's openid")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	switch m.Kind {
	case channels.KindOATemplate:
		return s.sendTemplate(ctx, m)
	case channels.KindOAText, channels.KindOANews, channels.KindOAImage:
	default:
		return channels.Receipt{}, refused(channels.Permanent, ErrUnsupportedKind, "kind %q", m.Kind)
	}
	if !s.windowOpen(m.LastInbound) {
		if m.TemplateID != "" {
			return s.sendTemplate(ctx, m)
		}
		return channels.Receipt{}, refused(channels.OutsideWindow, ErrOutsideWindow, "last interaction %s", describeLast(m.LastInbound))
	}
	msg, err := customMessage(m)
	if err != nil {
		return channels.Receipt{}, err
	}
	_, err = s.call(ctx, func(c *oacontext.Context) (int64, error) {
		return 0, oamsg.NewMessageManager(c).Send(msg)
	})
	var se *channels.SendError
	if errors.As(err, &se) && se.Kind == channels.OutsideWindow && m.TemplateID != "" {
		return s.sendTemplate(ctx, m)
	}
	if err != nil {
		return channels.Receipt{}, err
	}
	return channels.Receipt{Kind: m.Kind}, nil
}

func (s *Sender) windowOpen(last time.Time) bool {
	return !last.IsZero() && s.now().Before(last.Add(CustomerServiceWindow))
}

func describeLast(last time.Time) string {
	if last.IsZero() {
		return "unknown"
	}
	return "at " + last.UTC().Format(time.RFC3339)
}

// customMessage builds the SDK's customer-service message for m's kind.
func customMessage(m *channels.Outbound) (*oamsg.CustomerMessage, error) {
	switch m.Kind {
	case channels.KindOAText:
		if m.Text == "" {
			return nil, refused(channels.Permanent, ErrIncomplete, "a text message needs Text")
		}
		return oamsg.NewCustomerTextMessage(m.To, m.Text), nil
	case channels.KindOAImage:
		if m.MediaID == "" {
			return nil, refused(channels.Permanent, ErrIncomplete, "an image message needs MediaID (upload the image as media first)")
		}
		return oamsg.NewCustomerImgMessage(m.To, m.MediaID), nil
	default: // news: WeChat takes one article per customer-service message.
		if m.Title == "" || m.URL == "" {
			return nil, refused(channels.Permanent, ErrIncomplete, "a news message needs Title and URL")
		}
		return &oamsg.CustomerMessage{
			ToUser:  m.To,
			Msgtype: oamsg.MsgTypeNews,
			News: &oamsg.MediaNews{Articles: []oamsg.MediaArticles{{
				Title: m.Title, Description: m.Description, URL: m.URL, Picurl: m.PicURL,
			}}},
		}, nil
	}
}

func (s *Sender) sendTemplate(ctx context.Context, m *channels.Outbound) (channels.Receipt, error) {
	if m.TemplateID == "" {
		return channels.Receipt{}, refused(channels.Permanent, ErrIncomplete, "a template message needs TemplateID")
	}
	data := make(map[string]*oamsg.TemplateDataItem, len(m.Fields))
	for k, v := range m.Fields {
		data[k] = &oamsg.TemplateDataItem{Value: v}
	}
	msg := &oamsg.TemplateMessage{
		ToUser:      m.To,
		TemplateID:  m.TemplateID,
		URL:         m.URL,
		Data:        data,
		ClientMsgID: clientMsgID(m.ID),
	}
	id, err := s.call(ctx, func(c *oacontext.Context) (int64, error) {
		return oamsg.NewTemplate(c).Send(msg)
	})
	if err != nil {
		return channels.Receipt{}, err
	}
	return channels.Receipt{PlatformID: strconv.FormatInt(id, 10), Kind: channels.KindOATemplate}, nil
}

// clientMsgID makes WeChat drop a repeat of the same template message to the
// same follower within 10 minutes, so a retry after a timeout whose request
// did arrive is not delivered twice. Our id is used as it is when it is
// short enough for WeChat's 64-character limit on such ids, else its hash.
func clientMsgID(id string) string {
	if len(id) <= 64 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// call runs one SDK send with a token taken from the shared source. If
// WeChat rejects that token, it is dropped (only if still current) and the
// send is tried once more with a fresh one.
func (s *Sender) call(ctx context.Context, send func(*oacontext.Context) (int64, error)) (int64, error) {
	for attempt := 1; ; attempt++ {
		tok, err := s.tokens.GetAccessTokenContext(ctx)
		if err != nil {
			return 0, tokenFailure(err)
		}
		id, err := s.run(ctx, tok, send)
		if err == nil {
			return id, nil
		}
		f := classify(err, tok)
		if !f.refresh || attempt > 1 {
			return 0, f.err
		}
		if err := s.tokens.Invalidate(ctx, tok); err != nil {
			return 0, &channels.SendError{Kind: channels.Transient, Code: f.err.Code,
				Err: fmt.Errorf("%w; dropping the rejected token failed: %w", f.err.Err, err)}
		}
	}
}

// run gives the SDK a context whose token is tok, so the token WeChat
// rejects is known for certain, and returns when ctx ends even though the
// SDK call cannot be cancelled; that call then ends by the HTTP client's
// timeout.
func (s *Sender) run(ctx context.Context, tok string, send func(*oacontext.Context) (int64, error)) (int64, error) {
	sdk := *s.oa.GetContext()
	sdk.AccessTokenHandle = fixedToken(tok)
	type result struct {
		id  int64
		err error
	}
	done := make(chan result, 1)
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		id, err := send(&sdk)
		done <- result{id, err}
	}()
	select {
	case r := <-done:
		return r.id, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// fixedToken hands the SDK one known token.
type fixedToken string

func (t fixedToken) GetAccessToken() (string, error) { return string(t), nil }
