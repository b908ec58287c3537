package gateway

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
)

// recordInbox appends an event once.
//
// KEYS[1] de-dup key ({inbox}:seen:<event id>)
// KEYS[2] the inbox stream ({inbox}:events)
// ARGV[1] de-dup TTL in seconds
// ARGV[2] stream length to keep (approximate)
// ARGV[3..] field, value pairs of the stream entry
// Returns 1 when recorded, 0 when the event was seen before.
var recordInbox = redis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
return 1
`)

const inboxMaxLen = 100000

type inbox struct {
	rdb redis.UniversalClient
	ttl time.Duration
}

func newInbox(rdb redis.UniversalClient, ttl time.Duration) *inbox {
	if ttl <= 0 {
		ttl = 72 * time.Hour
	}
	return &inbox{rdb: rdb, ttl: ttl}
}

// record stores the event unless it was seen before; it reports duplicates.
func (b *inbox) record(ctx context.Context, ev channels.Event) (duplicate bool, err error) {
	props, err := json.Marshal(ev.Props)
	if err != nil {
		return false, err
	}
	args := []any{int(b.ttl.Seconds()), inboxMaxLen,
		"id", ev.ID, "source", string(ev.Source), "type", ev.Type, "at", ev.At.Unix(),
		"member", ev.Member, "text", ev.Text, "props", props}
	n, err := recordInbox.Run(ctx, b.rdb, []string{inboxSeenKey(ev.ID), inboxStreamKey}, args...).Int()
	if err != nil {
		return false, err
	}
	return n == 0, nil
}

// InboxEvent is one entry read back from the inbox stream.
type InboxEvent struct {
	StreamID string
	Event    channels.Event
}

// latest returns the newest entries, for tests and the console.
func (b *inbox) latest(ctx context.Context, n int64) ([]InboxEvent, error) {
	msgs, err := b.rdb.XRevRangeN(ctx, inboxStreamKey, "+", "-", n).Result()
	if err != nil {
		return nil, err
	}
	out := make([]InboxEvent, 0, len(msgs))
	for _, m := range msgs {
		ev := channels.Event{ID: str(m.Values["id"]), Source: channels.Channel(str(m.Values["source"])), Type: str(m.Values["type"]),
			Member: str(m.Values["member"]), Text: str(m.Values["text"])}
		if at, err := strconv.ParseInt(str(m.Values["at"]), 10, 64); err == nil {
			ev.At = time.Unix(at, 0)
		}
		_ = json.Unmarshal([]byte(str(m.Values["props"])), &ev.Props)
		out = append(out, InboxEvent{StreamID: m.ID, Event: ev})
	}
	return out, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
