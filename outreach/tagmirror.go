package outreach

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
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
	queue  *asynq.Client
	marker TagMarker
	ids    map[string]string // our tag → WeCom tag id
	log    *zap.Logger
}

const taskMarkTag = "wecom:mark_tag"

// NewTagMirror mirrors the tags named in ids; an empty map mirrors none.
func NewTagMirror(rdb redis.UniversalClient, marker TagMarker, ids map[string]string, log *zap.Logger) *TagMirror {
	if log == nil {
		log = zap.NewNop()
	}
	return &TagMirror{queue: asynq.NewClientFromRedisClient(rdb), marker: marker, ids: ids, log: log}
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
	body, _ := json.Marshal(p)
	var id [8]byte
	_, _ = rand.Read(id[:])
	_, err := m.queue.EnqueueContext(ctx, asynq.NewTask(taskMarkTag, body), asynq.Queue(QueueLow),
		asynq.TaskID("marktag-"+hex.EncodeToString(id[:])), asynq.MaxRetry(10))
	if err != nil {
		return fmt.Errorf("outreach: queue WeCom tag mirror: %w", err)
	}
	return nil
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
	if err == nil || channels.KindOfError(err) == channels.Transient {
		return err
	}
	// WeCom refused for good (the customer left, an unknown tag id): retrying cannot help.
	m.log.Warn("WeCom tag mirror refused", zap.String("external_userid", p.ExternalUserID), zap.Error(err))
	return errors.Join(err, asynq.SkipRetry)
}

// Close releases the queue client.
func (m *TagMirror) Close() error {
	if m == nil {
		return nil
	}
	return m.queue.Close()
}
