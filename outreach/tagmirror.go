package outreach

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/contacts"
)

// TagMarker sets a customer's tags in WeCom (the WeCom sender does).
type TagMarker interface {
	MarkTag(ctx context.Context, userID, externalUserID string, add, remove []string) error
}

// TagMirror copies our tag changes onto WeCom, so reps see them on the
// customer's profile in their app. WeCom knows tags by its own ids, created
// in the admin console; only tags mapped to an id are mirrored. Each change
// is an asynq task, so a WeCom outage delays the mirror instead of failing
// the change, and a restart loses nothing.
type TagMirror struct {
	tasks  weComTasks
	marker TagMarker
	ids    map[string]string // our tag → WeCom tag id
}

const taskMarkTag = "wecom:mark_tag"

// NewTagMirror mirrors the tags named in ids; an empty map mirrors none.
func NewTagMirror(rdb redis.UniversalClient, marker TagMarker, ids map[string]string, log *zap.Logger) *TagMirror {
	if log == nil {
		log = zap.NewNop()
	}
	return &TagMirror{tasks: weComTasks{queue: asynq.NewClientFromRedisClient(rdb), log: log}, marker: marker, ids: ids}
}

type markTagPayload struct {
	UserID         string   `json:"user_id"`
	ExternalUserID string   `json:"external_userid"`
	Add            []string `json:"add,omitempty"`
	Remove         []string `json:"remove,omitempty"`
}

// Mirror queues the change for a contact reachable on WeCom (an
// external_userid and the rep who added it); others are skipped.
func (m *TagMirror) Mirror(ctx context.Context, c *contacts.Contact, added, removed []string) error {
	ext := c.Identities[contacts.KindExternalUserID]
	if m == nil || len(ext) == 0 || c.Owner == "" {
		return nil
	}
	p := markTagPayload{UserID: c.Owner, ExternalUserID: ext[0], Add: m.weComIDs(added), Remove: m.weComIDs(removed)}
	if len(p.Add)+len(p.Remove) == 0 {
		return nil
	}
	return m.tasks.enqueue(ctx, taskMarkTag, QueueLow, p)
}

func (m *TagMirror) weComIDs(tags []string) []string {
	var out []string
	for _, t := range tags {
		if id, ok := m.ids[t]; ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Register adds the mirror's task handler to an asynq mux.
// A nil mirror registers nothing.
func (m *TagMirror) Register(mux *asynq.ServeMux) {
	if m == nil {
		return
	}
	mux.HandleFunc(taskMarkTag, m.handle)
}

func (m *TagMirror) handle(ctx context.Context, t *asynq.Task) error {
	var p markTagPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("outreach: bad mark_tag payload: %w", asynq.SkipRetry)
	}
	err := m.marker.MarkTag(ctx, p.UserID, p.ExternalUserID, p.Add, p.Remove)
	return m.tasks.settle(err, "tag mirror", zap.String("external_userid", p.ExternalUserID))
}

// Close releases the queue client.
func (m *TagMirror) Close() error {
	if m == nil {
		return nil
	}
	return m.tasks.close()
}
