package outreach

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
)

// Contacts is what the pipeline needs of the contact store.
type Contacts interface {
	Apply(ctx context.Context, ch contacts.Change) (contacts.Result, error)
	Get(ctx context.Context, id string) (*contacts.Contact, error)
	Lookup(ctx context.Context, i contacts.Identity) (string, error)
}

// Content is one channel's rendering of a template.
type Content struct {
	Version                                        int
	Text, Title, Description, URL, PicURL, MediaID string
	TemplateID                                     string
	Fields                                         map[string]string
	TemplateCode                                   string
	Params                                         map[string]string
	Subject, HTML                                  string
}

// Renderer turns a stored template into a channel's content. Errors wrap the
// template package's not-found and render sentinels, which the API maps.
type Renderer interface {
	// Order lists the channels the template has bodies for, in routing order.
	Order(ctx context.Context, template string) ([]channels.Channel, error)
	Render(ctx context.Context, template string, ch channels.Channel, data map[string]any) (Content, error)
}

// Options tune the pipeline; zero values take the defaults.
type Options struct {
	MaxRetry   int           // transient failures retried with back-off; default 8
	MessageTTL time.Duration // how long records are kept; default 90 days
	Now        func() time.Time
	Log        *zap.Logger
	Registry   prometheus.Registerer
	// Caps are the frequency caps; nil sends without any.
	Caps *Caps
	// Quiet holds marketing back at night; nil never does.
	Quiet *QuietHours
	// Observer hears every message outcome (reports); nil tells no one.
	Observer MessageObserver
}

// Pipeline accepts intents and sends them from asynq workers.
type Pipeline struct {
	rdb      redis.UniversalClient
	records  *records
	contacts Contacts
	render   Renderer
	senders  map[channels.Channel]Sender
	queue    *asynq.Client
	inspect  *asynq.Inspector
	opt      Options
	sends    *prometheus.CounterVec
	// scripts the pipeline runs besides the records' and the caps'
	react, remindClaim, remindRelease *redis.Script
}

const taskSend = "message:send"

// Queues by priority: replies and welcome messages jump ahead of reminders
// and campaigns. Give Queues to the asynq server.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// Queues are the asynq queue weights for a worker server.
var Queues = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}

// New wires the pipeline. senders may lack channels that are not configured;
// routing skips them.
func New(rdb redis.UniversalClient, c Contacts, r Renderer, senders []Sender, opt Options) (*Pipeline, error) {
	if rdb == nil || c == nil || r == nil {
		return nil, errors.New("outreach: Redis, contacts and a renderer are required")
	}
	if opt.MaxRetry <= 0 {
		opt.MaxRetry = 8
	}
	if opt.MessageTTL <= 0 {
		opt.MessageTTL = 90 * 24 * time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	p := &Pipeline{
		rdb: rdb, records: newRecords(rdb, opt.MessageTTL), contacts: c, render: r,
		senders: map[channels.Channel]Sender{}, queue: asynq.NewClientFromRedisClient(rdb), inspect: asynq.NewInspectorFromRedisClient(rdb), opt: opt,
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outreach_messages_total", Help: "Messages by channel and final status (sent, failed, suppressed, ...).",
		}, []string{"channel", "status"}),
		react:       redis.NewScript(campaignReactLua),
		remindClaim: redis.NewScript(couponRemindClaimLua), remindRelease: redis.NewScript(couponRemindReleaseLua),
	}
	for _, s := range senders {
		p.senders[s.Channel()] = s
	}
	if opt.Registry != nil {
		if err := opt.Registry.Register(p.sends); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Submit records an intent and schedules it. Submitting an id again returns
// the existing message unchanged (created is false), so callers can retry.
func (p *Pipeline) Submit(ctx context.Context, in Intent) (msg *Message, created bool, err error) {
	now := p.opt.Now()
	if err := in.validate(now); err != nil {
		return nil, false, err
	}
	if in.ID == "" {
		in.ID = newMessageID()
	} else if m, err := p.records.get(ctx, in.ID); err == nil {
		return m, false, p.enqueue(ctx, m) // a lost enqueue is repaired by the retry
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	order, err := p.orderFor(ctx, in)
	if err != nil {
		return nil, false, err
	}
	if in.Channel != "" && in.Text == "" {
		if !slices.Contains(order, in.Channel) {
			return nil, false, fmt.Errorf("%w: template %s has no %s body", ErrInvalid, in.Template, in.Channel)
		}
		order = []channels.Channel{in.Channel}
	}
	// Check first, write second: a rejected intent leaves nothing behind.
	known, err := p.knownContact(ctx, in.Contact)
	if err != nil {
		return nil, false, err
	}
	if err := p.precheck(ctx, in, known, order); err != nil {
		return nil, false, err
	}
	res, err := p.contacts.Apply(ctx, contacts.Change{
		EventID: "msg:" + in.ID, Identities: in.Contact, At: now,
		Timeline: &contacts.Entry{Type: "message_queued", Source: "outreach", Props: queuedProps(in)},
	})
	if err != nil {
		return nil, false, err
	}
	contact := &contacts.Contact{ID: res.ContactID}
	sendAt := in.SendAt
	if sendAt.IsZero() || sendAt.Before(now) {
		sendAt = now
	}
	m := &Message{ID: in.ID, Status: StatusScheduled, ContactID: contact.ID, Template: in.Template, Text: in.Text, Purpose: in.Purpose,
		ForcedChannel: in.Channel, Campaign: in.Campaign, Vars: in.Vars, SendAt: sendAt, CreatedAt: now, UpdatedAt: now,
		WelcomeCode: in.WelcomeCode, OpenKFID: in.OpenKFID, Reminds: in.Reminds}
	stored, err := p.records.add(ctx, m)
	if err != nil {
		return nil, false, err
	}
	if !stored { // a concurrent submit of the same id won
		m, err = p.records.get(ctx, in.ID)
		if err != nil {
			return nil, false, err
		}
	}
	return m, stored, p.enqueue(ctx, m)
}

// orderFor is the channels an intent may go out on: a text message only on
// its forced channel, a template on its bodies' channels.
func (p *Pipeline) orderFor(ctx context.Context, in Intent) ([]channels.Channel, error) {
	if in.Text != "" {
		return []channels.Channel{in.Channel}, nil
	}
	return p.render.Order(ctx, in.Template)
}

func queuedProps(in Intent) map[string]string {
	props := map[string]string{"message_id": in.ID, "purpose": string(in.Purpose)}
	if in.Text != "" {
		props["text"] = in.Text
	} else {
		props["template"] = in.Template
	}
	return props
}

// knownContact returns the contact the identities name, or, for someone new,
// a contact made of just those identities: enough to check the intent
// without creating anyone yet.
func (p *Pipeline) knownContact(ctx context.Context, ids []contacts.Identity) (*contacts.Contact, error) {
	for _, id := range ids {
		cid, err := p.contacts.Lookup(ctx, id)
		if errors.Is(err, contacts.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return p.contacts.Get(ctx, cid)
	}
	c := &contacts.Contact{Identities: map[string][]string{}, Consent: map[string]string{}}
	for _, id := range ids {
		c.Identities[id.Kind] = append(c.Identities[id.Kind], id.Value)
	}
	return c, nil
}

// precheck catches what would fail at send time anyway, so the API can say so
// now: a forced channel the contact cannot be reached on, or a template that
// does not render with these vars (a missing variable, an oversized body).
func (p *Pipeline) precheck(ctx context.Context, in Intent, c *contacts.Contact, order []channels.Channel) error {
	data := RenderData(c, in.Vars)
	route := wecomRouteFor(c, in.WelcomeCode, in.OpenKFID, p.opt.Now())
	for _, ch := range order {
		if _, why := recipientFor(c, ch, route); why != "" {
			if in.Channel != "" {
				return fmt.Errorf("%w: %s", ErrUnreachable, why)
			}
			continue
		}
		if in.Text != "" {
			return nil
		}
		_, err := p.render.Render(ctx, in.Template, ch, data)
		return err // the first reachable channel shows whether the vars fit
	}
	return nil
}

func (p *Pipeline) enqueue(ctx context.Context, m *Message) error {
	if m.Status.Terminal() {
		return nil
	}
	payload, _ := json.Marshal(taskPayload{ID: m.ID})
	opts := []asynq.Option{asynq.TaskID(m.ID), asynq.ProcessAt(m.SendAt), asynq.MaxRetry(p.opt.MaxRetry), asynq.Retention(24 * time.Hour)}
	if m.WelcomeCode != "" {
		// The code dies in ~20 s: first in line, two quick retries at most.
		opts = append(opts, asynq.Queue(QueueCritical), asynq.MaxRetry(2), asynq.Timeout(15*time.Second))
	}
	_, err := p.queue.EnqueueContext(ctx, asynq.NewTask(taskSend, payload), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("outreach: schedule message %s: %w", m.ID, err)
	}
	return nil
}

type taskPayload struct {
	ID string `json:"id"`
}

// Get returns a message record.
func (p *Pipeline) Get(ctx context.Context, id string) (*Message, error) {
	return p.records.get(ctx, id)
}

// MarkDelivered records a platform's delivery receipt. A receipt is proof
// the message went out, so it also settles a message whose send outcome was
// unknown (still sending, or failed as "outcome unknown").
func (p *Pipeline) MarkDelivered(ctx context.Context, id string) error {
	moved, _, err := p.records.move(ctx, id, []Status{StatusSent, StatusSending, StatusFailed}, StatusDelivered, p.opt.Now(), false, "error", "")
	if moved {
		p.countByID(ctx, id, string(StatusDelivered))
	}
	return err
}

// MarkUndelivered records a receipt saying the platform could not deliver.
func (p *Pipeline) MarkUndelivered(ctx context.Context, id, reason string) error {
	moved, _, err := p.records.move(ctx, id, []Status{StatusSent, StatusSending}, StatusFailed, p.opt.Now(), false, "error", "undelivered: "+reason)
	if moved {
		p.observeByID(ctx, id, string(StatusFailed))
	}
	return err
}

// Cancel withdraws a message that has not been sent. The status change is
// what stops it: a worker that picks the task up anyway finds it cancelled.
// Removing the task from asynq only tidies up.
func (p *Pipeline) Cancel(ctx context.Context, id string) (*Message, error) {
	moved, cur, err := p.records.move(ctx, id, []Status{StatusScheduled, StatusRetrying, StatusDeferred}, StatusCancelled, p.opt.Now(), false)
	if err != nil {
		return nil, err
	}
	switch {
	case cur == "":
		return nil, fmt.Errorf("%w: message %s", ErrNotFound, id)
	case !moved && cur != StatusCancelled:
		return nil, fmt.Errorf("%w: message %s is %s", ErrTooLate, id, cur)
	}
	for queue := range Queues {
		if err := p.inspect.DeleteTask(queue, id); err == nil {
			break
		}
	}
	m, err := p.records.get(ctx, id)
	if err == nil && moved && len(m.CapKeys) > 0 {
		// A place reserved at dispatch goes back with the message.
		p.release(ctx, m.heldReservation(), nil)
	}
	return m, err
}

// Register adds the pipeline's task handlers to an asynq mux.
func (p *Pipeline) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(taskSend, p.handleSend)
}

// Close releases the asynq client.
func (p *Pipeline) Close() error { return p.queue.Close() }

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newMessageID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "m_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// RenderData is what a template sees: the contact's fields under their own
// names, overridden by the message's vars. Previews use it too, so they show
// exactly what a send would.
func RenderData(c *contacts.Contact, vars map[string]any) map[string]any {
	data := map[string]any{"contact_id": c.ID, "name": c.Name, "stage": c.Stage, "score": c.Score, "owner": c.Owner, "tags": c.Tags}
	for k, v := range c.Fields {
		data[k] = v
	}
	for k, v := range vars {
		data[k] = v
	}
	return data
}
