package outreach

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
)

// weComTasks queues calls to WeCom as asynq tasks, so an outage delays them
// instead of failing the change that caused them, and a restart loses none.
type weComTasks struct {
	queue *asynq.Client
	log   *zap.Logger
}

// enqueue queues one call; each gets its own id, since the same change may
// rightly happen twice (a tag added, removed and added again).
func (w weComTasks) enqueue(ctx context.Context, typ, queue string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	_, err = w.queue.EnqueueContext(ctx, asynq.NewTask(typ, body), asynq.Queue(queue),
		asynq.TaskID(typ+"-"+hex.EncodeToString(id[:])), asynq.MaxRetry(10))
	if err != nil {
		return fmt.Errorf("outreach: queue %s: %w", typ, err)
	}
	return nil
}

// settle turns a WeCom answer into the task's result: transient failures are
// retried with back-off; a refusal (the customer left, an unknown id) is
// logged and not retried, since retrying cannot help.
func (w weComTasks) settle(err error, what string, fields ...zap.Field) error {
	if err == nil || channels.KindOfError(err) == channels.Transient {
		return err
	}
	w.log.Warn(what+" refused by WeCom", append(fields, zap.Error(err))...)
	return errors.Join(err, asynq.SkipRetry)
}

func (w weComTasks) close() error { return w.queue.Close() }
