package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"
)

// Guardrail notices: when the guardrail pauses a campaign, its owner (else
// the team lead) gets a WeCom textcard saying which KPI tripped and by how
// much, with a link to the campaign in the console. The trip is recorded
// on the campaign ("tripped_at", "breach") in the same step that pauses
// it, and the card is queued under an id made of the campaign and that
// time, so a dispatch step that crashes or runs twice queues it once.

// KPIs a guardrail watches, as GuardrailBreach.KPI names them.
const (
	KPIOpenRate        = "open_rate"
	KPIUnsubscribeRate = "unsubscribe_rate"
)

// GuardrailBreach is what tripped a guardrail, with the figures.
type GuardrailBreach struct {
	KPI   string  `json:"kpi"`
	Rate  float64 `json:"rate"`  // the measured rate, 0..1
	Limit float64 `json:"limit"` // the guardrail's bound, 0..1
	Sends int64   `json:"sends"` // messages sent when it tripped
	Count int64   `json:"count"` // opens or unsubscribes among them
}

// String is the English finding kept in the campaign's notice.
func (b GuardrailBreach) String() string {
	if b.KPI == KPIUnsubscribeRate {
		return fmt.Sprintf("unsubscribe rate %.1f%% after %d sends is above %.1f%%", 100*b.Rate, b.Sends, 100*b.Limit)
	}
	return fmt.Sprintf("open rate %.1f%% after %d sends is below %.1f%%", 100*b.Rate, b.Sends, 100*b.Limit)
}

// chinese is the finding as the owner reads it in WeCom.
func (b GuardrailBreach) chinese() string {
	if b.KPI == KPIUnsubscribeRate {
		return fmt.Sprintf("退订率 %.1f%%（%d 次发送，%d 人退订），高于阈值 %.1f%%", 100*b.Rate, b.Sends, b.Count, 100*b.Limit)
	}
	return fmt.Sprintf("打开率 %.1f%%（%d 次发送，%d 次打开），低于阈值 %.1f%%", 100*b.Rate, b.Sends, b.Count, 100*b.Limit)
}

// GuardrailNotice is one trip of a campaign's guardrail.
type GuardrailNotice struct {
	Campaign string
	Name     string
	// Owner is the campaign's WeCom userid; empty leaves the choice of
	// recipient to the notifier.
	Owner     string
	Breach    GuardrailBreach
	TrippedAt int64 // unix ms; with Campaign it identifies the trip
}

// OwnerNotifier tells people about campaigns that need a decision. The
// worker process gives Campaigns one; without it the notice is only kept
// on the campaign and logged.
type OwnerNotifier interface {
	// CampaignPaused queues the notice; queueing the same trip again must
	// be a no-op.
	CampaignPaused(ctx context.Context, n GuardrailNotice) error
}

var _ OwnerNotifier = (*RepNotifier)(nil)

// CampaignPaused queues a textcard to the campaign's owner, else to the
// team lead of the hand-off policy (wecom.handoff_lead). With neither it
// logs and returns nil: there is no one in WeCom to tell.
func (n *RepNotifier) CampaignPaused(ctx context.Context, g GuardrailNotice) error {
	if n == nil {
		return nil
	}
	to := g.Owner
	if to == "" && n.policy != nil {
		to = n.policy.Lead
	}
	if to == "" {
		n.tasks.log.Warn("campaign paused by its guardrail and no owner or team lead to tell", zap.String("campaign", g.Campaign))
		return nil
	}
	name := g.Name
	if name == "" {
		name = g.Campaign
	}
	body, err := json.Marshal(repNotice{Rep: to, Title: "活动已自动暂停：" + clipRunes(name, 60),
		Description: "触发指标：" + g.Breach.chinese() + "\n请检查内容和受众，然后在控制台恢复或取消活动。",
		URL:         n.baseURL + "/console/#/campaigns/" + g.Campaign})
	if err != nil {
		return err
	}
	_, err = n.tasks.queue.EnqueueContext(ctx, asynq.NewTask(taskNotifyRep, body), asynq.Queue(QueueCritical),
		asynq.TaskID("guardrail-"+g.Campaign+"-"+strconv.FormatInt(g.TrippedAt, 10)), asynq.MaxRetry(10), asynq.Retention(7*24*time.Hour))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("outreach: queue the guardrail notice of campaign %s: %w", g.Campaign, err)
	}
	return nil
}

// notifyOwner hands a trip to the notifier and records that it did, so
// ensureOwnerNotified does not hand it over again.
func (cs *Campaigns) notifyOwner(ctx context.Context, c *Campaign, b GuardrailBreach, trippedAt int64) error {
	cs.opt.Log.Warn("campaign paused by its guardrail", zap.String("campaign", c.ID), zap.String("owner", c.Owner), zap.Stringer("breach", b))
	if cs.opt.Notifier == nil {
		return nil
	}
	err := cs.opt.Notifier.CampaignPaused(ctx, GuardrailNotice{Campaign: c.ID, Name: c.Name, Owner: c.Owner, Breach: b, TrippedAt: trippedAt})
	if err != nil {
		return err
	}
	if err := cs.rdb.HSet(ctx, campaignKey(c.ID), "owner_notified", trippedAt).Err(); err != nil {
		return fmt.Errorf("outreach: record the guardrail notice of campaign %s: %w", c.ID, err)
	}
	return nil
}

// ensureOwnerNotified repairs a trip whose notice was not queued: the step
// that paused the campaign stopped before it could. A dispatch step finding
// the campaign paused calls it.
func (cs *Campaigns) ensureOwnerNotified(ctx context.Context, c *Campaign) error {
	h, err := cs.rdb.HMGet(ctx, campaignKey(c.ID), "tripped_at", "owner_notified", "breach").Result()
	if err != nil {
		return fmt.Errorf("outreach: read campaign %s: %w", c.ID, err)
	}
	tripped, _ := h[0].(string)
	notified, _ := h[1].(string)
	raw, _ := h[2].(string)
	if tripped == "" || tripped == notified || c.Notice == "" {
		return nil
	}
	at, err := strconv.ParseInt(tripped, 10, 64)
	if err != nil {
		return nil //nolint:nilerr // a damaged mark cannot name the trip; the notice stays on the campaign
	}
	var b GuardrailBreach
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		return nil //nolint:nilerr // as above
	}
	return cs.notifyOwner(ctx, c, b, at)
}
