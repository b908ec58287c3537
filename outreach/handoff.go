package outreach

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
)

// RepNotifier tells a sales rep in WeCom that a lead needs them: a textcard
// from the company's app with the lead's name, tags, score and last words.
// Each notice is an asynq task, so a WeCom outage delays it instead of
// losing it.
type RepNotifier struct {
	rdb     redis.UniversalClient
	tasks   weComTasks
	sender  Sender // the WeCom sender
	duty    []DutyRep
	now     func() time.Time
	baseURL string
	policy  *HandoffPolicy
	// observer hears about hand-offs (reports); nil tells no one.
	observer HandoffObserver
}

const (
	taskNotifyRep = "wecom:notify_rep"
	roundRobinKey = "{handoff}:next"
)

// NewRepNotifier sends through the WeCom sender; onDuty are the reps (WeCom
// userids) who take leads that have no owner, in turn.
func NewRepNotifier(rdb redis.UniversalClient, sender Sender, onDuty []string, baseURL string, log *zap.Logger) *RepNotifier {
	if log == nil {
		log = zap.NewNop()
	}
	duty := make([]DutyRep, len(onDuty))
	for i, u := range onDuty {
		duty[i] = DutyRep{UserID: u} // all day, every day, no limit; see SetDuty
	}
	return &RepNotifier{rdb: rdb, tasks: weComTasks{queue: asynq.NewClientFromRedisClient(rdb), log: log}, sender: sender,
		duty: duty, now: time.Now, baseURL: strings.TrimRight(baseURL, "/")}
}

// PickRep is the contact's owner, else the next rep in turn who is on duty
// and below their daily limit. When reps are configured but none is
// available, the hand-off waits in a queue (DrainWaiting gives it to the
// first rep on duty) and PickRep returns "". Without reps it is "" too.
func (n *RepNotifier) PickRep(ctx context.Context, c *contacts.Contact) (string, error) {
	if n == nil {
		return "", nil
	}
	if c.Owner != "" || len(n.duty) == 0 {
		return c.Owner, nil
	}
	rep, err := n.pickOnDuty(ctx)
	if err != nil || rep != "" {
		return rep, err
	}
	return "", n.wait(ctx, c)
}

type repNotice struct {
	Rep         string `json:"rep"`
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
}

// Notify queues the card for rep about contact c.
func (n *RepNotifier) Notify(ctx context.Context, rep string, c *contacts.Contact, reason, lastText string) error {
	if n == nil || rep == "" {
		return nil
	}
	who := c.Name
	if who == "" {
		who = c.ID
	}
	var desc strings.Builder
	fmt.Fprintf(&desc, "原因：%s\n分数：%d　阶段：%s", reason, c.Score, c.Stage)
	if len(c.Tags) > 0 {
		fmt.Fprintf(&desc, "\n标签：%s", strings.Join(c.Tags, "、"))
	}
	if lastText != "" {
		fmt.Fprintf(&desc, "\n最近消息：%s", clipRunes(lastText, 120))
	}
	return n.tasks.enqueue(ctx, taskNotifyRep, QueueCritical, repNotice{Rep: rep, Title: "线索待跟进：" + who,
		Description: desc.String(), URL: n.baseURL + "/console/#/contacts/" + c.ID})
}

// Register adds the notifier's task handler to an asynq mux; a nil notifier
// registers nothing.
func (n *RepNotifier) Register(mux *asynq.ServeMux) {
	if n == nil {
		return
	}
	mux.HandleFunc(taskNotifyRep, n.handle)
	mux.HandleFunc(taskHandoffSLA, n.handleSLA)
}

func (n *RepNotifier) handle(ctx context.Context, t *asynq.Task) error {
	var p repNotice
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("outreach: bad rep notice: %w", asynq.SkipRetry)
	}
	_, err := n.sender.Send(ctx, &channels.Outbound{ID: t.ResultWriter().TaskID(), Channel: channels.WeCom, Purpose: channels.Service,
		Kind: channels.KindWeComTextCard, To: p.Rep, Title: p.Title, Description: p.Description, Text: p.Description, URL: p.URL})
	return n.tasks.settle(err, "rep notice", zap.String("rep", p.Rep))
}

// Close releases the queue client.
func (n *RepNotifier) Close() error {
	if n == nil {
		return nil
	}
	return n.tasks.close()
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
