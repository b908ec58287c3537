package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/hibiken/asynq"
)

// ArchivedTask is a task asynq gave up on after its retries: what an
// operator looks at when something did not go out.
type ArchivedTask struct {
	ID        string    `json:"id"`
	Queue     string    `json:"queue"`
	Type      string    `json:"type"`
	MessageID string    `json:"message_id,omitempty"`
	LastError string    `json:"last_error"`
	FailedAt  time.Time `json:"failed_at"`
	Retried   int       `json:"retried"`
}

// Archived lists archived tasks of every queue, newest failure first, at
// most limit.
func (p *Pipeline) Archived(_ context.Context, limit int) ([]ArchivedTask, error) {
	out := []ArchivedTask{}
	for queue := range Queues {
		infos, err := p.inspect.ListArchivedTasks(queue, asynq.PageSize(limit))
		if err != nil && !isQueueNotFound(err) {
			return nil, err
		}
		for _, t := range infos {
			a := ArchivedTask{ID: t.ID, Queue: t.Queue, Type: t.Type, LastError: t.LastErr, FailedAt: t.LastFailedAt, Retried: t.Retried}
			var pl taskPayload
			if json.Unmarshal(t.Payload, &pl) == nil {
				a.MessageID = pl.ID
			}
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b ArchivedTask) int { return b.FailedAt.Compare(a.FailedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func isQueueNotFound(err error) bool { return errors.Is(err, asynq.ErrQueueNotFound) }
