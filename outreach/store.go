package outreach

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
)

var (
	//go:embed scripts/create.lua
	createLua string
	//go:embed scripts/transition.lua
	transitionLua string
	//go:embed scripts/claim.lua
	claimLua string
)

// records keeps message records in Redis.
type records struct {
	rdb        redis.UniversalClient
	ttl        time.Duration
	create     *redis.Script
	transition *redis.Script
	claimer    *redis.Script
}

func newRecords(rdb redis.UniversalClient, ttl time.Duration) *records {
	return &records{rdb: rdb, ttl: ttl, create: redis.NewScript(createLua), transition: redis.NewScript(transitionLua), claimer: redis.NewScript(claimLua)}
}

// add stores m unless its id is taken; it reports whether it was stored.
func (r *records) add(ctx context.Context, m *Message) (bool, error) {
	args, err := r.createArgs(m)
	if err != nil {
		return false, err
	}
	n, err := r.create.Run(ctx, r.rdb, []string{messageKey(m.ID)}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("outreach: store message %s: %w", m.ID, err)
	}
	return n == 1, nil
}

// createArgs is create.lua's ARGV for m.
func (r *records) createArgs(m *Message) ([]any, error) {
	vars, err := json.Marshal(m.Vars)
	if err != nil {
		return nil, err
	}
	// A message scheduled far ahead (a coupon's expiry reminder) keeps its
	// record for the usual time after it is due, not after it was made.
	ttl := r.ttl
	if ahead := m.SendAt.Sub(m.CreatedAt); ahead > 0 {
		ttl += ahead
	}
	args := []any{ttl.Milliseconds(),
		"id", m.ID, "status", string(m.Status), "contact_id", m.ContactID, "template", m.Template,
		"purpose", string(m.Purpose), "forced_channel", string(m.ForcedChannel), "campaign", m.Campaign,
		"vars", vars, "send_at", msString(m.SendAt), "created_at", msString(m.CreatedAt),
		"updated_at", msString(m.UpdatedAt), "attempts", "0", "welcome_code", m.WelcomeCode, "variant", m.Variant, "text", m.Text, "open_kfid", m.OpenKFID, "reminds", m.Reminds.String()}
	// A campaign batch's dispatch can create a record already capped, or
	// holding its cap reservation; other records do not carry the fields.
	for _, f := range [][2]string{{"error", m.Error}, {"reason", m.Reason}, {"cap_keys", capKeysField(m.ContactID, m.CapKeys)}} {
		if f[1] != "" {
			args = append(args, f[0], f[1])
		}
	}
	return args, nil
}

func (r *records) get(ctx context.Context, id string) (*Message, error) {
	h, err := r.rdb.HGetAll(ctx, messageKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("outreach: read message %s: %w", id, err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("%w: message %s", ErrNotFound, id)
	}
	return parseRecord(id, h)
}

// parseRecord reads a message record's hash.
func parseRecord(id string, h map[string]string) (*Message, error) {
	m := &Message{
		ID: h["id"], Status: Status(h["status"]), Channel: channels.Channel(h["channel"]), Kind: h["kind"],
		ContactID: h["contact_id"], Template: h["template"], Purpose: channels.Purpose(h["purpose"]),
		ForcedChannel: channels.Channel(h["forced_channel"]), Campaign: h["campaign"],
		SendAt: msTime(h["send_at"]), CreatedAt: msTime(h["created_at"]), UpdatedAt: msTime(h["updated_at"]),
		PlatformID: h["platform_id"], Error: h["error"], WelcomeCode: h["welcome_code"], Variant: h["variant"], Text: h["text"],
		OpenKFID: h["open_kfid"], Reason: h["reason"], Reminds: parseCouponRef(h["reminds"]),
	}
	m.CapKeys = parseCapKeys(m.ContactID, h["cap_keys"])
	m.Attempts, _ = strconv.Atoi(h["attempts"])
	m.TemplateVersion, _ = strconv.Atoi(h["template_version"])
	if v := h["vars"]; v != "" && v != "null" {
		if err := json.Unmarshal([]byte(v), &m.Vars); err != nil {
			return nil, fmt.Errorf("outreach: message %s has unreadable vars: %w", id, err)
		}
	}
	return m, nil
}

// claim moves the message to sending when it is in one of from, counting
// an attempt, and returns the record in the same round trip: whether it
// moved, and the record after the move (or as it is when it did not; nil
// when there is none).
func (r *records) claim(ctx context.Context, id string, from []Status, now time.Time) (bool, *Message, error) {
	v, err := r.claimer.Run(ctx, r.rdb, []string{messageKey(id)}, statusList(from), string(StatusSending), msString(now)).Slice()
	if err != nil {
		return false, nil, fmt.Errorf("outreach: claim message %s: %w", id, err)
	}
	if len(v) == 0 || len(v)%2 == 0 {
		return false, nil, errors.New("outreach: claim.lua answered an unexpected shape")
	}
	moved, _ := v[0].(int64)
	if len(v) == 1 {
		return false, nil, nil
	}
	h := make(map[string]string, len(v)/2)
	for i := 1; i+1 < len(v); i += 2 {
		k, _ := v[i].(string)
		h[k], _ = v[i+1].(string)
	}
	m, err := parseRecord(id, h)
	return moved == 1, m, err
}

// statusList is the ",a,b," form the scripts take.
func statusList(from []Status) string {
	allowed := ","
	for _, s := range from {
		allowed += string(s) + ","
	}
	return allowed
}

// move changes the status when the message is in one of from; it returns
// whether it moved and the status the message is in afterwards.
func (r *records) move(ctx context.Context, id string, from []Status, to Status, now time.Time, attempt bool, fields ...string) (bool, Status, error) {
	args := make([]any, 0, 4+len(fields))
	args = append(args, statusList(from), string(to), msString(now), boolArg(attempt))
	for _, f := range fields {
		args = append(args, f)
	}
	return moveResult(r.transition.Run(ctx, r.rdb, []string{messageKey(id)}, args...), id, to)
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// capKeysField is how a record stores the keys of a reservation made at
// dispatch: space-separated (cap keys hold no spaces: contact ids, rule
// names and campaign ids do not), each without the contact's key prefix
// when it has the record's contact's, so the value stays short enough for
// Redis to keep the record in its compact encoding; "" for none.
func capKeysField(contactID string, keys []string) string {
	prefix := capKeyPrefix(contactID)
	short := make([]string, len(keys))
	for i, k := range keys {
		short[i] = strings.TrimPrefix(k, prefix) // a rule name never starts with "{"
	}
	return strings.Join(short, " ")
}

func parseCapKeys(contactID, s string) []string {
	if s == "" {
		return nil
	}
	keys := strings.Fields(s)
	for i, k := range keys {
		if !strings.HasPrefix(k, "{") {
			keys[i] = capKeyPrefix(contactID) + k
		}
	}
	return keys
}

func joinReasons(reasons []string) string { return strings.Join(reasons, "; ") }
