package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// CampaignOptions tune campaigns; zero values take the defaults.
type CampaignOptions struct {
	// BatchSize is how many messages one dispatch step queues before it
	// looks at the campaign's status and guardrail again; default 500.
	BatchSize int
	// PhaseWait is how long the rest of the audience waits after the pilot
	// and after the A/B test share, so opens and unsubscribes come in;
	// default 1 h. A test waiting for WinnerOpens waits at most 3 times this,
	// then picks from what it has.
	PhaseWait time.Duration
	Now       func() time.Time
	Log       *zap.Logger
	// Notifier tells the owner when the guardrail pauses a campaign; nil
	// keeps the notice on the campaign and in the log only.
	Notifier OwnerNotifier
}

// Campaigns creates, steers and dispatches campaigns through a pipeline.
type Campaigns struct {
	rdb  redis.UniversalClient
	pipe *Pipeline
	src  AudienceSource
	opt  CampaignOptions
}

const taskDispatch = "campaign:dispatch"

// NewCampaigns does no I/O, so a handler may build one per request.
func NewCampaigns(rdb redis.UniversalClient, p *Pipeline, src AudienceSource, opt CampaignOptions) (*Campaigns, error) {
	if rdb == nil || p == nil || src == nil {
		return nil, errors.New("outreach: campaigns need Redis, a pipeline and an audience source")
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	if opt.PhaseWait <= 0 {
		opt.PhaseWait = time.Hour
	}
	if opt.Now == nil {
		opt.Now = p.opt.Now
	}
	if opt.Log == nil {
		opt.Log = p.opt.Log
	}
	return &Campaigns{rdb: rdb, pipe: p, src: src, opt: opt}, nil
}

// Register adds the dispatch handler to an asynq mux.
func (cs *Campaigns) Register(mux *asynq.ServeMux) { mux.HandleFunc(taskDispatch, cs.handleDispatch) }

// Create stores a campaign and schedules its dispatch at send_at.
func (cs *Campaigns) Create(ctx context.Context, c Campaign) (*Campaign, error) {
	now := cs.opt.Now()
	if err := c.validate(now); err != nil {
		return nil, err
	}
	if _, err := ParseAudience(c.Audience); err != nil {
		return nil, err
	}
	for _, v := range c.Variants {
		order, err := cs.pipe.render.Order(ctx, v.Template)
		if err != nil {
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		if c.Channel != "" && !slices.Contains(order, c.Channel) {
			return nil, campaignInvalid("variant %s: template %s has no %s body", v.Name, v.Template, c.Channel)
		}
	}
	c.Status, c.CreatedAt, c.UpdatedAt = CampaignScheduled, now, now
	c.AudienceSize, c.Dispatched, c.Winner, c.Notice = 0, 0, "", ""
	spec, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	n, err := cs.pipe.records.create.Run(ctx, cs.rdb, []string{campaignKey(c.ID)}, cs.pipe.opt.MessageTTL.Milliseconds(),
		"spec", spec, "status", string(c.Status), "created_at", msString(now), "updated_at", msString(now), "dispatched", "0").Int()
	if err != nil {
		return nil, fmt.Errorf("outreach: store campaign %s: %w", c.ID, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: %s", ErrCampaignExists, c.ID)
	}
	if err := cs.index(ctx, c.ID, now); err != nil {
		return nil, err
	}
	if err := cs.schedule(ctx, c.ID, "start", c.SendAt); err != nil {
		return nil, err
	}
	return &c, nil
}

// schedule enqueues a dispatch step; the step name makes the task id, so
// re-scheduling the same step is a no-op.
func (cs *Campaigns) schedule(ctx context.Context, id, step string, at time.Time) error {
	payload, _ := json.Marshal(taskPayload{ID: id})
	_, err := cs.pipe.queue.EnqueueContext(ctx, asynq.NewTask(taskDispatch, payload), asynq.TaskID("campaign:"+id+":"+step),
		asynq.ProcessAt(at), asynq.Queue(QueueLow), asynq.MaxRetry(cs.pipe.opt.MaxRetry), asynq.Retention(24*time.Hour), asynq.Timeout(time.Hour))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("outreach: schedule campaign %s: %w", id, err)
	}
	return nil
}

// Get returns a campaign with its progress.
func (cs *Campaigns) Get(ctx context.Context, id string) (*Campaign, error) {
	h, err := cs.rdb.HGetAll(ctx, campaignKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("outreach: read campaign %s: %w", id, err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrCampaignNotFound, id)
	}
	return campaignFromHash(id, h)
}

// campaignFromHash reads a campaign record as Get and List return it.
func campaignFromHash(id string, h map[string]string) (*Campaign, error) {
	var c Campaign
	if err := json.Unmarshal([]byte(h["spec"]), &c); err != nil {
		return nil, fmt.Errorf("outreach: campaign %s has an unreadable spec: %w", id, err)
	}
	c.Status, c.Winner, c.Notice = CampaignStatus(h["status"]), h["winner"], h["notice"]
	if h["guardrail_off"] == "1" {
		c.Guardrail = nil
	}
	c.AudienceSize, _ = strconv.Atoi(h["audience_size"])
	c.Dispatched, _ = strconv.Atoi(h["dispatched"])
	c.UpdatedAt = msTime(h["updated_at"])
	return &c, nil
}

// move changes a campaign's status when it is in one of from.
func (cs *Campaigns) move(ctx context.Context, id string, from []CampaignStatus, to CampaignStatus, fields ...string) (bool, CampaignStatus, error) {
	allowed := ","
	for _, s := range from {
		allowed += string(s) + ","
	}
	args := []any{allowed, string(to), msString(cs.opt.Now()), "0"}
	for _, f := range fields {
		args = append(args, f)
	}
	v, err := cs.pipe.records.transition.Run(ctx, cs.rdb, []string{campaignKey(id)}, args...).Slice()
	if err != nil {
		return false, "", fmt.Errorf("outreach: move campaign %s to %s: %w", id, to, err)
	}
	if len(v) != 2 {
		return false, "", errors.New("outreach: transition.lua answered an unexpected shape")
	}
	moved, _ := v[0].(int64)
	cur, _ := v[1].(string)
	if cur == "" {
		return false, "", fmt.Errorf("%w: %s", ErrCampaignNotFound, id)
	}
	return moved == 1, CampaignStatus(cur), nil
}

// steer is Pause, Resume and Cancel: a move that is idempotent when the
// campaign is already where the caller wants it.
func (cs *Campaigns) steer(ctx context.Context, id string, from []CampaignStatus, to CampaignStatus, fields ...string) (*Campaign, bool, error) {
	moved, cur, err := cs.move(ctx, id, from, to, fields...)
	if err != nil {
		return nil, false, err
	}
	if !moved && cur != to {
		return nil, false, fmt.Errorf("%w: campaign %s is %s and cannot become %s", ErrCampaignState, id, cur, to)
	}
	c, err := cs.Get(ctx, id)
	return c, moved, err
}

// Pause stops dispatch between batches; queued messages still go out.
func (cs *Campaigns) Pause(ctx context.Context, id string) (*Campaign, error) {
	c, _, err := cs.steer(ctx, id, []CampaignStatus{CampaignScheduled, CampaignRunning}, CampaignPaused)
	return c, err
}

// Resume continues a paused campaign where it stopped (or at send_at if
// that is still ahead). Resuming is a person's decision over the numbers,
// so it also switches the guardrail off for the rest of the campaign;
// otherwise the same numbers would pause it again at once.
func (cs *Campaigns) Resume(ctx context.Context, id string) (*Campaign, error) {
	c, moved, err := cs.steer(ctx, id, []CampaignStatus{CampaignPaused}, CampaignRunning, "notice", "", "guardrail_off", "1")
	if err != nil || !moved {
		return c, err
	}
	at := cs.opt.Now()
	if c.SendAt.After(at) {
		at = c.SendAt
	}
	return c, cs.schedule(ctx, id, "resume@"+strconv.FormatInt(c.UpdatedAt.UnixMilli(), 10), at)
}

// Cancel stops the campaign for good; a dispatch step then withdraws the
// messages it queued that were not sent yet.
func (cs *Campaigns) Cancel(ctx context.Context, id string) (*Campaign, error) {
	c, _, err := cs.steer(ctx, id, []CampaignStatus{CampaignScheduled, CampaignRunning, CampaignPaused}, CampaignCancelled)
	if err != nil {
		return nil, err
	}
	return c, cs.schedule(ctx, id, "cancel", cs.opt.Now())
}
