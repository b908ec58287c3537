package sms

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	dysms "github.com/alibabacloud-go/dysmsapi-20170525/v3/client"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/outreach"
)

const (
	defaultEndpoint    = "dysmsapi.aliyuncs.com"
	defaultSendTimeout = 5 * time.Second
)

// SenderConfig holds what the Aliyun SMS API needs from operators.
type SenderConfig struct {
	AccessKeyID, AccessKeySecret, SignName string
	// Endpoint is empty for the real service (dysmsapi.aliyuncs.com over
	// HTTPS); a "host:port" is reached over plain HTTP, for the sandbox and tests.
	Endpoint string
	// Timeout bounds one call to Aliyun (connect and read); 0 means 5 s.
	Timeout time.Duration
}

// Sender sends template SMS through Aliyun SendSms.
type Sender struct {
	signName string
	runtime  *util.RuntimeOptions
	// The SDK client writes to itself on every call (it clears its one-shot
	// RPC headers), so one client must not serve two sends at once; a pool
	// keeps sends parallel. Connections are shared anyway: the SDK keeps its
	// HTTP clients in a process-wide pool keyed by endpoint and timeouts.
	clients   sync.Pool
	newClient func() (*dysms.Client, error)
}

var _ outreach.Sender = (*Sender)(nil)

// NewSender checks the configuration up front, so a missing key fails at
// start-up rather than on the first message.
func NewSender(cfg SenderConfig) (*Sender, error) {
	var missing []string
	for _, f := range []struct{ value, name string }{
		{cfg.AccessKeyID, "AccessKeyID (ALIYUN_ACCESS_KEY_ID)"},
		{cfg.AccessKeySecret, "AccessKeySecret (ALIYUN_ACCESS_KEY_SECRET)"},
		{cfg.SignName, "SignName (ALIYUN_SMS_SIGN_NAME)"},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s not set; take the AccessKey from the RAM console and the approved signature name from the SMS console",
			ErrSenderConfig, strings.Join(missing, ", "))
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: timeout %v is negative; use 0 for the default of %v", ErrSenderConfig, cfg.Timeout, defaultSendTimeout)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = defaultSendTimeout
	}
	// The SDK counts timeouts in whole milliseconds.
	ms := max(int(timeout/time.Millisecond), 1)

	endpoint, protocol := defaultEndpoint, "https"
	if cfg.Endpoint != "" {
		if err := checkEndpoint(cfg.Endpoint); err != nil {
			return nil, err
		}
		endpoint, protocol = cfg.Endpoint, "http"
	}
	base := openapi.Config{
		AccessKeyId:     tea.String(cfg.AccessKeyID),
		AccessKeySecret: tea.String(cfg.AccessKeySecret),
		Endpoint:        tea.String(endpoint),
		Protocol:        tea.String(protocol),
		ReadTimeout:     tea.Int(ms),
		ConnectTimeout:  tea.Int(ms),
	}
	newClient := func() (*dysms.Client, error) {
		c := base // Init writes to its config
		return dysms.NewClient(&c)
	}
	first, err := newClient()
	if err != nil {
		return nil, fmt.Errorf("%w: the Aliyun SDK refused the configuration: %v", ErrSenderConfig, err)
	}
	s := &Sender{
		signName: cfg.SignName,
		// SendSms is not idempotent, so the SDK must never retry on its own.
		// Its HTTP client's overall timeout is ReadTimeout, which also bounds
		// the connect: tea v1.1.19 reads ConnectTimeout as seconds, not ms.
		runtime: &util.RuntimeOptions{
			Autoretry:      tea.Bool(false),
			MaxAttempts:    tea.Int(1),
			ReadTimeout:    tea.Int(ms),
			ConnectTimeout: tea.Int(ms),
		},
		newClient: newClient,
	}
	s.clients.Put(first)
	return s, nil
}

// checkEndpoint insists on a bare host:port, because the SDK glues the
// protocol in front of it and a scheme or path would yield a broken URL.
func checkEndpoint(ep string) error {
	host, port, err := net.SplitHostPort(ep)
	if err != nil || host == "" || port == "" || strings.ContainsAny(ep, "/?#@") {
		return fmt.Errorf("%w: endpoint %q must be host:port such as 127.0.0.1:9001, without http:// or a path; leave it empty for the real Aliyun endpoint",
			ErrSenderConfig, ep)
	}
	return nil
}

// Channel reports that this sender carries SMS.
func (s *Sender) Channel() channels.Channel { return channels.SMS }

// Send submits one template SMS and returns Aliyun's BizId as the receipt's
// PlatformID. Every failure is a *channels.SendError whose kind comes from
// the code table in sender_errors.go.
//
// SendSms is not idempotent and Send never retries. When no answer arrives
// after the request may have reached Aliyun (a timeout, a dropped
// connection, ctx ending mid-call, an HTTP 5xx) the error is Transient and
// wraps ErrOutcomeUnknown: the message may or may not have gone out, and the
// pipeline decides whether a retry is worth a possible duplicate (the OutId
// in a later delivery report tells which). ErrUnreachable means the request
// never left, so a retry is safe.
func (s *Sender) Send(ctx context.Context, m *channels.Outbound) (channels.Receipt, error) {
	req, err := s.request(m)
	if err != nil {
		return channels.Receipt{}, &channels.SendError{Kind: channels.Permanent, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return channels.Receipt{}, &channels.SendError{Kind: channels.Transient,
			Err: fmt.Errorf("SMS %q not sent, the send was cancelled before the call: %w", m.ID, err)}
	}
	// The SDK takes no context, so the call runs aside and a cancelled ctx
	// frees the worker at once; the call itself ends within the timeout.
	done := make(chan sendResult, 1)
	go s.call(req, done)
	select {
	case r := <-done:
		return outcome(m.ID, r.resp, r.err)
	case <-ctx.Done():
		select {
		case r := <-done:
			return outcome(m.ID, r.resp, r.err)
		default:
		}
		return channels.Receipt{}, &channels.SendError{Kind: channels.Transient,
			Err: fmt.Errorf("%w: SMS %q was in flight when the send was cancelled: %w", ErrOutcomeUnknown, m.ID, ctx.Err())}
	}
}

type sendResult struct {
	resp *dysms.SendSmsResponse
	err  error
}

func (s *Sender) call(req *dysms.SendSmsRequest, done chan<- sendResult) {
	client, ok := s.clients.Get().(*dysms.Client)
	if !ok {
		var err error
		if client, err = s.newClient(); err != nil {
			done <- sendResult{err: err}
			return
		}
	}
	resp, err := client.SendSmsWithOptions(req, s.runtime)
	s.clients.Put(client)
	done <- sendResult{resp: resp, err: err}
}
